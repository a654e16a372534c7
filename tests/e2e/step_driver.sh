#!/usr/bin/env bash
# step_driver.sh PROGRAM - an issuance driven step by step from C
# (tests/capi/step_driver.c) against Pebble, the program answering HTTP-01
# with its own server: its checks pass, the certificate it stored
# verifies, and no order state is left in the storage.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin step_driver
program=${1:?usage: step_driver.sh PROGRAM}
pebble_start "$E2E_TMP/pebble"
mkdir -m 700 "$E2E_TMP/store"
timeout -k 5 60 "$program" "$PEBBLE_DIRECTORY" "$PEBBLE_CA_FILE" \
  "$PEBBLE_HTTP_PORT" device.example.com "$E2E_TMP/store" \
  >"$E2E_TMP/chain.pem" 2>"$E2E_TMP/err" ||
  { cat "$E2E_TMP/err" >&2; fail "checks failed"; }
grep -q 'all checks passed' "$E2E_TMP/err" || fail "no verdict printed"
e2e_log "ok   $(grep 'all checks passed' "$E2E_TMP/err")"
check_chain "$E2E_TMP/chain.pem" "$PEBBLE_ROOT"
check_sans "$E2E_TMP/chain.pem" device.example.com
[[ ! -e $E2E_TMP/store/certificates/device.example.com/order.json ]] ||
  fail "order.json left behind"
pebble_stop
e2e_log "PASS"
