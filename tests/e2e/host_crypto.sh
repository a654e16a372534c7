#!/usr/bin/env bash
# host_crypto.sh PROGRAM - the C ABI over a host's crypto table
# (tests/capi/host_crypto.c, OpenSSL standing in for a secure element)
# against Pebble with EAB required: the program's own checks pass, the
# certificate it stored verifies, and the storage holds only references to
# the host's keys, never a private key, in files only the owner can read.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin host_crypto
program=${1:?usage: host_crypto.sh PROGRAM}
E2E_PEBBLE_EAB=1 pebble_start "$E2E_TMP/pebble"
mkdir -m 700 "$E2E_TMP/store"
timeout -k 5 90 "$program" "$PEBBLE_DIRECTORY" "$PEBBLE_CA_FILE" \
  "$PEBBLE_HTTP_PORT" hsm.example.com rsa.hsm.example.com "$E2E_TMP/store" \
  "$PEBBLE_EAB_KID" "$PEBBLE_EAB_HMAC_KEY" \
  >"$E2E_TMP/chain.pem" 2>"$E2E_TMP/err" ||
  { cat "$E2E_TMP/err" >&2; fail "checks failed"; }
grep -q 'all checks passed' "$E2E_TMP/err" || fail "no verdict printed"
e2e_log "ok   $(grep 'all checks passed' "$E2E_TMP/err")"
check_chain "$E2E_TMP/chain.pem" "$PEBBLE_ROOT"
check_sans "$E2E_TMP/chain.pem" hsm.example.com

if grep -r -l 'PRIVATE KEY' "$E2E_TMP/store" >"$E2E_TMP/leaked"; then
  cat "$E2E_TMP/leaked" >&2
  fail "a private key reached the storage"
fi
keys=0
while IFS= read -r -d '' file; do
  [[ $(head -c 8 "$file") == hostkey: ]] || fail "$file is not a reference"
  [[ $(stat -c %a "$file") == 600 ]] || fail "$file is not mode 0600"
  keys=$(( keys + 1 ))
done < <(find "$E2E_TMP/store" -name '*.key' -print0)
(( keys == 2 )) || fail "expected the account and certificate keys, found $keys"
e2e_log "ok   $keys stored keys, each a reference in a 0600 file"
pebble_stop
e2e_log "PASS"
