#!/usr/bin/env bash
# ipv6.sh [ACMEKIT_CLI] - an IPv6-only management network: Pebble's DNS
# answers AAAA ::1 for the name (and an IPv4 address where nothing
# listens), the CLI's responder is bound to ::1 only, and the certificate
# is issued - so the validation reached the responder over IPv6.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin ipv6
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
name=device.example.com
# 127.0.0.2 is loopback, but the responder does not listen there.
E2E_DNS_IPV4=127.0.0.2 E2E_DNS_IPV6=::1 pebble_start "$E2E_TMP/pebble"

out=$E2E_TMP/out
mkdir -m 700 "$out"
E2E_HTTP_ADDRESS='::1' e2e_issue "$E2E_TMP/run" "$out" "$name" ||
  { e2e_show_run "$E2E_TMP/run"; fail "issue with the responder on ::1"; }
check_chain "$out/fullchain.pem" "$PEBBLE_ROOT"
check_sans "$out/fullchain.pem" "$name"
grep -q 'http-01' "$E2E_TMP/run.out" || fail "no http-01 challenge answered"
e2e_log "ok   validated over IPv6 with the responder on [::1] only"
pebble_stop
e2e_log "PASS"
