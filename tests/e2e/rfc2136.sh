#!/usr/bin/env bash
# rfc2136.sh DNS_TOOL - RFC 2136 updates signed with TSIG, against a real
# Knot DNS server on 127.0.0.1: two TXT values at one name are added and
# removed one at a time, each step checked with kdig; a wrong secret is
# refused by name and changes nothing; dns-tool reads what kdig reads,
# also for values longer than 255 bytes and for answers too large for UDP.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/knot.sh
source "$(dirname "${BASH_SOURCE[0]}")/knot.sh"

knot_begin rfc2136
tool=${1:-}
[[ -x $tool ]] || fail "dns-tool not found or not executable: ${tool:-none}"
zone=example.com
name=_acme-challenge.test.example.com
many=_acme-challenge.device.example.com

knot_start "$E2E_TMP/knot" "$zone"
server=$KNOT_ADDR:$KNOT_PORT
check_mode "$KNOT_TSIG_SECRET_FILE" 600

# run_tool ARGS...: dns-tool, bounded in time, output in $E2E_TMP/tool.*.
run_tool() {
  timeout -k 5 30 "$tool" "$@" >"$E2E_TMP/tool.out" 2>"$E2E_TMP/tool.err"
}

show_tool() {
  cat "$E2E_TMP/tool.err" >&2
}

# update add|remove ZONE_OR_EMPTY FQDN VALUE: one signed update that must
# succeed.
update() {
  run_tool "$1" "$server" "$2" "$KNOT_TSIG_NAME" "$KNOT_TSIG_SECRET_FILE" \
    "$3" "$4" || { show_tool; fail "dns-tool $1 at $3 failed"; }
}

# A value shaped like a DNS-01 one: base64url of 32 random bytes.
challenge_value() {
  head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='
}

sorted_lines() {
  printf '%s\n' "$@" | grep . | sort || true
}

# expect_txt FQDN VALUE...: kdig sees exactly these values at FQDN.
expect_txt() {
  local fqdn=$1 want got
  shift
  want=$(sorted_lines "$@")
  got=$(knot_txt "$fqdn" | sort)
  [[ $got == "$want" ]] ||
    fail "TXT at $fqdn is [${got//$'\n'/ }], expected [${want//$'\n'/ }]"
}

# expect_tool_sees FQDN [SERVER]: dns-tool txt reads what kdig reads.
expect_tool_sees() {
  local fqdn=$1 at=${2:-$server} want got
  run_tool txt "$at" "$fqdn" || { show_tool; fail "dns-tool txt failed"; }
  got=$(sort "$E2E_TMP/tool.out")
  want=$(knot_txt "$fqdn" | sort)
  [[ $got == "$want" ]] ||
    fail "dns-tool txt $fqdn at $at saw [${got//$'\n'/ }], kdig" \
      "[${want//$'\n'/ }]"
}

e2e_log "the zone is found through the SOA"
run_tool zone "$server" "$name" || { show_tool; fail "dns-tool zone failed"; }
[[ $(cat "$E2E_TMP/tool.out") == "$zone" ]] ||
  fail "dns-tool zone printed '$(cat "$E2E_TMP/tool.out")', expected $zone"
expect_txt "$name"

e2e_log "two values at one name, the zone found once and given once"
first=$(challenge_value)
second=$(challenge_value)
update add "" "$name" "$first"
expect_txt "$name" "$first"
update add "$zone" "$name" "$second"
expect_txt "$name" "$first" "$second"
expect_tool_sees "$name"

e2e_log "removing one value leaves the other"
update remove "" "$name" "$first"
expect_txt "$name" "$second"
expect_tool_sees "$name"
update remove "" "$name" "$first"
expect_txt "$name" "$second"
update remove "$zone" "$name" "$second"
expect_txt "$name"
expect_tool_sees "$name"

e2e_log "a wrong TSIG secret is refused and changes nothing"
wrong_secret=$E2E_TMP/wrong.secret
(umask 077 && head -c 32 /dev/urandom | base64 -w0 >"$wrong_secret")
rc=0
run_tool add "$server" "" "$KNOT_TSIG_NAME" "$wrong_secret" "$name" \
  "$(challenge_value)" || rc=$?
(( rc == 1 )) || { show_tool; fail "wrong secret: exit $rc, expected 1"; }
grep -Eq 'BADSIG|NOTAUTH' "$E2E_TMP/tool.err" ||
  { show_tool; fail "wrong secret: no BADSIG or NOTAUTH in the error"; }
grep -q "$KNOT_ADDR:$KNOT_PORT" "$E2E_TMP/tool.err" ||
  { show_tool; fail "wrong secret: the error does not name the server"; }
for secret_file in "$wrong_secret" "$KNOT_TSIG_SECRET_FILE"; do
  if grep -qF -- "$(cat "$secret_file")" "$E2E_TMP/tool.err"; then
    fail "a TSIG secret appears in dns-tool's error message"
  fi
done
expect_txt "$name"
e2e_log "refused as: $(cat "$E2E_TMP/tool.err")"

e2e_log "a 300-byte value travels as two character-strings"
long=$(printf 'L%.0s' {1..300})
update add "" "$name" "$long"
expect_txt "$name" "$long"
expect_tool_sees "$name"
update remove "" "$name" "$long"
expect_txt "$name"

e2e_log "20 values: the answer is too large for UDP and comes over TCP"
values=()
for (( i = 0; i < 20; i++ )); do
  values+=("$(challenge_value)")
  update add "$zone" "$many" "${values[i]}"
done
expect_txt "$many" "${values[@]}"
expect_tool_sees "$many"
if [[ -n $KNOT_ADDR6 ]]; then
  expect_tool_sees "$many" "[$KNOT_ADDR6]:$KNOT_PORT"
fi
for value in "${values[@]}"; do
  update remove "$zone" "$many" "$value"
done
expect_txt "$many"

knot_stop
e2e_log "PASS"
