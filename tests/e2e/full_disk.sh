#!/usr/bin/env bash
# full_disk.sh [ACMEKIT_CLI] - a renewal that meets a full disk must fail
# with a clear error and leave the previous key and chain exactly as they
# were, still matching each other, with no temporary file behind. The
# disk is a small tmpfs this test mounts and unmounts itself.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin full_disk
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
mnt=$E2E_TMP/disk
mkdir "$mnt"

unmount_disk() {
  local rc=$?
  if mountpoint -q "$mnt"; then
    umount "$mnt" || true
  fi
  e2e_cleanup "$rc"
}
trap unmount_disk EXIT

mount -t tmpfs -o size=256k,mode=0700 acmekit-full-disk "$mnt" ||
  fail "cannot mount a tmpfs (the test needs root)"
out=$mnt/out
mkdir -m 700 "$out"
pebble_start "$E2E_TMP/pebble"

e2e_issue "$E2E_TMP/first" "$out" device.example.com ||
  { e2e_show_run "$E2E_TMP/first"; fail "first issuance failed"; }
before=$(sha256sum "$out/certificate.key" "$out/fullchain.pem")

# Fill every free block; dd stops by itself when the disk is full.
dd if=/dev/zero of="$mnt/filler" bs=4k status=none 2>/dev/null || true
rc=0
e2e_issue "$E2E_TMP/full" "$out" device.example.com || rc=$?
(( rc != 0 )) || fail "issuance on a full disk exited 0"
grep -q 'acmekit-cli: error: .*No space left on device' "$E2E_TMP/full.err" ||
  { e2e_show_run "$E2E_TMP/full"; fail "no clear full-disk error"; }
after=$(sha256sum "$out/certificate.key" "$out/fullchain.pem")
[[ $before == "$after" ]] || fail "the previous key or chain changed"
check_same_key "$out/fullchain.pem" "$out/certificate.key"
left=$(find "$out" -name '.acmekit-*' -printf '%P ')
[[ -z $left ]] || fail "temporary files left behind: $left"
e2e_log "full disk: clear error, previous files intact"

rm -f "$mnt/filler"
e2e_issue "$E2E_TMP/again" "$out" device.example.com ||
  { e2e_show_run "$E2E_TMP/again"; fail "issuance after freeing space"; }
[[ $(sha256sum "$out/fullchain.pem") != "${before#*$'\n'}" ]] ||
  fail "the chain was not replaced after space was freed"
check_same_key "$out/fullchain.pem" "$out/certificate.key"
pebble_stop
e2e_log "PASS"
