#!/usr/bin/env bash
# issue_twenty.sh [ACMEKIT_CLI] - 20 issuances in a row against one Pebble
# that keeps its defaults: 5% of good nonces rejected (badNonce the client
# must retry) and 50% authorization reuse (orders that arrive already
# valid). Most runs reuse one --out directory and so one account; every
# fifth run starts from a fresh directory. All 20 must succeed.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Pebble's defaults are the point of this test.
unset PEBBLE_WFE_NONCEREJECT PEBBLE_AUTHZREUSE

e2e_begin issue_twenty
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
runs=20
names=(device.example.com www.device.example.com)
shared=$E2E_TMP/shared
mkdir -m 700 "$shared"

# check_run OUT: what every successful run must have left.
check_run() {
  check_chain "$1/fullchain.pem" "$PEBBLE_ROOT"
  check_sans "$1/fullchain.pem" "${names[@]}"
  check_mode "$(e2e_account_key "$1")" 600
  check_mode "$1/certificate.key" 600
  check_same_key "$1/fullchain.pem" "$1/certificate.key"
}

# One run; fresh directories get their own names so that they start
# without reusable authorizations too.
one_run() {
  local i=$1 out=$shared rc=0 t0
  if (( i % 5 == 0 )); then
    out=$E2E_TMP/fresh-$i
    mkdir -m 700 "$out"
    names=("run$i.device.example.com" "www.run$i.device.example.com")
  else
    names=(device.example.com www.device.example.com)
  fi
  t0=$(e2e_ms)
  e2e_issue "$E2E_TMP/run-$i" "$out" "${names[@]}" || rc=$?
  if (( rc != 0 )); then
    e2e_log "run $i: acmekit-cli exited with $rc"
    e2e_show_run "$E2E_TMP/run-$i"
    return 1
  fi
  # In a subshell, so that a failed check counts as a failed run.
  ( check_run "$out" ) || return 1
  e2e_log "run $i: ok in $(( $(e2e_ms) - t0 )) ms (${out##*/})"
}

pebble_start "$E2E_TMP/pebble"
ok=0
start=$(e2e_ms)
for (( i = 1; i <= runs; i++ )); do
  if one_run "$i"; then
    ok=$(( ok + 1 ))
  fi
  # The shared directory's account must survive every later run.
  if (( i == 1 )) && [[ -f $(e2e_account_key "$shared") ]]; then
    cp "$(e2e_account_key "$shared")" "$E2E_TMP/first-account.key"
  fi
done
total=$(( $(e2e_ms) - start ))
e2e_log "$ok of $runs issuances succeeded in $total ms" \
  "($(( total / runs )) ms each on average)"
# Pebble logs no nonce rejections, so only the CLI could count them.
(( ok == runs )) || fail "only $ok of $runs issuances succeeded"
[[ -f $E2E_TMP/first-account.key ]] ||
  fail "run 1 left no account.key"
cmp -s "$E2E_TMP/first-account.key" "$(e2e_account_key "$shared")" ||
  fail "account.key in the reused --out directory changed between runs"
pebble_stop
e2e_log "PASS"
