#!/usr/bin/env bash
# issue_two_names.sh [ACMEKIT_CLI] - one certificate for two names from a
# fresh Pebble: the chain verifies against Pebble's root, the SANs are
# exactly the requested names, both keys are private to the owner (0600)
# and the certificate key is not the account key.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin issue_two_names
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
names=(device.example.com www.device.example.com)
out=$E2E_TMP/out
mkdir -m 700 "$out"

pebble_start "$E2E_TMP/pebble"
t0=$(e2e_ms)
rc=0
e2e_issue "$E2E_TMP/run" "$out" "${names[@]}" || rc=$?
if (( rc != 0 )); then
  e2e_show_run "$E2E_TMP/run"
  fail "acmekit-cli exited with $rc"
fi
e2e_log "issued in $(( $(e2e_ms) - t0 )) ms"

check_chain "$out/fullchain.pem" "$PEBBLE_ROOT"
check_sans "$out/fullchain.pem" "${names[@]}"
check_mode "$(e2e_account_key "$out")" 600
check_mode "$out/certificate.key" 600
check_same_key "$out/fullchain.pem" "$out/certificate.key"
check_different_keys "$out/certificate.key" "$(e2e_account_key "$out")"
pebble_stop
e2e_log "PASS"
