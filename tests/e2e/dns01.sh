#!/usr/bin/env bash
# dns01.sh [ACMEKIT_CLI] - DNS-01 end to end: Knot DNS serves example.com
# on 127.0.0.1 and Pebble resolves through it. One certificate for
# test.example.com and *.test.example.com (two TXT values at one name) is
# issued three times: by RFC 2136 updates, by a hook program, and by the
# manual flow with this script playing the operator. After each, the zone
# must hold no challenge record.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/e2e/knot.sh
source "$(dirname "${BASH_SOURCE[0]}")/knot.sh"

knot_begin dns01
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
names=(test.example.com '*.test.example.com')
record=_acme-challenge.test.example.com

knot_start "$E2E_TMP/knot" example.com
E2E_PEBBLE_DNS_SERVER="127.0.0.1:$KNOT_PORT" pebble_start "$E2E_TMP/pebble"
resolver=(--dns-resolver "127.0.0.1:$KNOT_PORT")

# knot_update add|delete NAME VALUE: what an operator or a hook would do.
knot_update() {
  local op=$1 name=${2%.} value=$3 line
  if [[ $op == add ]]; then
    line="update add $name. 60 TXT \"$value\""
  else
    line="update delete $name. TXT \"$value\""
  fi
  printf 'server 127.0.0.1 %s\nzone example.com.\n%s\nsend\n' \
    "$KNOT_PORT" "$line" |
    knsupdate -y "hmac-sha256:$KNOT_TSIG_NAME:$(cat "$KNOT_TSIG_SECRET_FILE")"
}
export -f knot_update
export KNOT_PORT KNOT_TSIG_NAME KNOT_TSIG_SECRET_FILE

# check_issued OUT MODE: a good chain for both names, and a clean zone.
check_issued() {
  local left
  check_chain "$1/fullchain.pem" "$PEBBLE_ROOT"
  check_sans "$1/fullchain.pem" "${names[@]}"
  check_same_key "$1/fullchain.pem" "$1/certificate.key"
  left=$(knot_txt "$record")
  [[ -z $left ]] || fail "$2: challenge records left in the zone: $left"
  e2e_log "ok   $2: issued, zone clean"
}

dns_issue() {
  local log=$1 out=$2
  shift 2
  local args=()
  local n
  for n in "${names[@]}"; do
    args+=(--domain "$n")
  done
  timeout -k 5 180 "$E2E_CLI" issue --directory "$PEBBLE_DIRECTORY" \
    --ca-file "$PEBBLE_CA_FILE" --agree-tos --out "$out" \
    --challenge dns-01 "$@" "${args[@]}" >"$log.out" 2>"$log.err"
}

# 1. RFC 2136, straight to the primary, checked there.
mkdir -m 700 "$E2E_TMP/rfc2136"
dns_issue "$E2E_TMP/rfc2136-run" "$E2E_TMP/rfc2136" \
  --dns "rfc2136:127.0.0.1:$KNOT_PORT" --tsig-key "$KNOT_TSIG_NAME" \
  --tsig-secret-file "$KNOT_TSIG_SECRET_FILE" ||
  { e2e_show_run "$E2E_TMP/rfc2136-run"; fail "RFC 2136 issuance failed"; }
check_issued "$E2E_TMP/rfc2136" rfc2136

# 2. A hook program, which this test writes.
hook=$E2E_TMP/hook.sh
cat >"$hook" <<'HOOK'
#!/usr/bin/env bash
set -euo pipefail
case $1 in
  add) knot_update add "$2" "$3" ;;
  remove) knot_update delete "$2" "$3" ;;
  *) exit 2 ;;
esac
HOOK
chmod 700 "$hook"
mkdir -m 700 "$E2E_TMP/hook"
dns_issue "$E2E_TMP/hook-run" "$E2E_TMP/hook" --dns "hook:$hook" \
  "${resolver[@]}" ||
  { e2e_show_run "$E2E_TMP/hook-run"; fail "hook issuance failed"; }
check_issued "$E2E_TMP/hook" hook

# 3. The manual flow: read each record off the screen, add it, press
# Enter; remove it when told.
mkdir -m 700 "$E2E_TMP/manual"
log=$E2E_TMP/manual-run
coproc MANUAL { dns_issue "$log" "$E2E_TMP/manual" --dns manual \
  "${resolver[@]}" 2>&1; }
manual_pid=$MANUAL_PID
exec {to_cli}>&"${MANUAL[1]}"
prompts=0
: >"$log.seen"

# play_operator: acts on every line of the CLI's output not yet seen.
play_operator() {
  local line
  [[ -f $log.out ]] || return 0
  while IFS= read -r line; do
    grep -qxF -- "$line" "$log.seen" && continue
    printf '%s\n' "$line" >>"$log.seen"
    if [[ $line =~ ^\ \ ([^ ]+)\.\ 60\ IN\ TXT\ \"(.*)\"$ ]]; then
      knot_update add "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
      printf '\n' >&"$to_cli"
      prompts=$(( prompts + 1 ))
    elif [[ $line =~ ^The\ TXT\ record\ ([^ ]+)\ \"(.*)\"\ may ]]; then
      knot_update delete "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
    fi
  done <"$log.out"
}

# At most 150 s, in steps of 0.1 s, until the CLI has exited.
for (( i = 0; i < 1500; ++i )); do
  play_operator
  kill -0 "$manual_pid" 2>/dev/null || break
  sleep 0.1
done
play_operator
wait "$manual_pid" || { e2e_show_run "$log"; fail "manual issuance failed"; }
exec {to_cli}>&-
(( prompts == 2 )) || fail "manual flow asked for $prompts records, not 2"
check_issued "$E2E_TMP/manual" manual

# 4. The manual flow with stdin closed: no confirmation can come, so it
# must fail at once, clearly, and withdraw what it asked for.
mkdir -m 700 "$E2E_TMP/closed"
rc=0
dns_issue "$E2E_TMP/closed-run" "$E2E_TMP/closed" --dns manual \
  "${resolver[@]}" <&- || rc=$?
(( rc == 1 )) ||
  { e2e_show_run "$E2E_TMP/closed-run"; fail "closed stdin: exit $rc"; }
grep -q 'no confirmation' "$E2E_TMP/closed-run.err" ||
  { e2e_show_run "$E2E_TMP/closed-run"; fail "closed stdin: unclear error"; }
[[ -z $(knot_txt "$record") ]] || fail "closed stdin: records left"
e2e_log "ok   manual with stdin closed: clear error, zone clean"

pebble_stop
e2e_log "PASS"
