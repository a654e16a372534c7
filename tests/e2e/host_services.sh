#!/usr/bin/env bash
# host_services.sh PROGRAM - the C ABI over a host's storage and clock
# callbacks (tests/capi/host_services.c) against Pebble: the program's
# own checks pass and the certificate it stored verifies.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin host_services
program=${1:?usage: host_services.sh PROGRAM}
pebble_start "$E2E_TMP/pebble"
timeout -k 5 60 "$program" "$PEBBLE_DIRECTORY" "$PEBBLE_CA_FILE" \
  "$PEBBLE_HTTP_PORT" device.example.com >"$E2E_TMP/chain.pem" \
  2>"$E2E_TMP/err" || { cat "$E2E_TMP/err" >&2; fail "checks failed"; }
grep -q 'all checks passed' "$E2E_TMP/err" || fail "no verdict printed"
check_chain "$E2E_TMP/chain.pem" "$PEBBLE_ROOT"
check_sans "$E2E_TMP/chain.pem" device.example.com
pebble_stop
e2e_log "PASS"
