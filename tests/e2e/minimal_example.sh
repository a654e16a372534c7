#!/usr/bin/env bash
# minimal_example.sh MINIMAL - the program README.md shows gets a
# certificate from Pebble, and the chain it prints verifies.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin minimal_example
minimal=${1:?usage: minimal_example.sh MINIMAL}
pebble_start "$E2E_TMP/pebble"
timeout -k 5 60 "$minimal" "$PEBBLE_DIRECTORY" "$PEBBLE_CA_FILE" \
  device.example.com "$PEBBLE_HTTP_PORT" >"$E2E_TMP/chain.pem" ||
  fail "the minimal example failed"
check_chain "$E2E_TMP/chain.pem" "$PEBBLE_ROOT"
check_sans "$E2E_TMP/chain.pem" device.example.com
pebble_stop
e2e_log "PASS"
