#!/usr/bin/env bash
# curl_transport.sh PROGRAM - a C program with its own transport callback
# over libcurl gets a certificate from Pebble for two names: every ACME
# request goes through the callback, the chain verifies with the names
# asked, and libcurl kept one connection for the whole issuance.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin curl_transport
program=${1:?usage: curl_transport.sh PROGRAM}
names=(device.example.com www.device.example.com)
pebble_start "$E2E_TMP/pebble"
timeout -k 5 60 "$program" "$PEBBLE_DIRECTORY" "$PEBBLE_CA_FILE" \
  "$PEBBLE_HTTP_PORT" "${names[@]}" >"$E2E_TMP/chain.pem" \
  2>"$E2E_TMP/err" || { cat "$E2E_TMP/err" >&2; fail "the program failed"; }
check_chain "$E2E_TMP/chain.pem" "$PEBBLE_ROOT"
check_sans "$E2E_TMP/chain.pem" "${names[@]}"

# The program counts what went through its callback.
counts=$(grep -E '^curl_transport: [0-9]+ requests' "$E2E_TMP/err") ||
  fail "no request count on stderr"
requests=$(awk '{ print $2 }' <<<"$counts")
connections=$(awk '{ print $4 }' <<<"$counts")
(( requests >= 8 )) || fail "only $requests requests went through libcurl"
(( connections == 1 )) ||
  fail "libcurl opened $connections connections, expected one"
e2e_log "ok   $requests requests through libcurl, $connections connection"
pebble_stop
e2e_log "PASS"
