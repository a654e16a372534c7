#!/usr/bin/env bash
# resume.sh [ACMEKIT_CLI] - an order survives a crash. With Pebble's
# validation delay on, `issue` is killed (SIGKILL) once it has answered
# the challenges; the next `issue` with the same options prints `resumed`
# with the URL the first run printed as `placed`, Pebble creates no second
# order (one newOrder request in all), the certificate is the one Pebble
# issued for that order, its chain verifies with the requested names and
# order.json is gone. A stored order that cannot be used - one the CA
# invalidated meanwhile, one the CA does not know, or a torn or garbage
# order.json - costs one new order and never a crash: the next run places
# a new order and succeeds (for garbage a clear error would also do; the
# test says which of the two it saw).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Pebble's delay gives the kill its moment: each of its three fetches of a
# token waits 0 to PEBBLE_VA_SLEEPTIME-1 s. No nonce is rejected on
# purpose, so that every newOrder request Pebble logs is one the client
# meant to send.
# shellcheck disable=SC2034 # read by e2e_start_pebble in lib.sh
E2E_PEBBLE_SLEEP=1
: "${PEBBLE_VA_SLEEPTIME:=6}" "${PEBBLE_WFE_NONCEREJECT:=0}"
export PEBBLE_VA_SLEEPTIME PEBBLE_WFE_NONCEREJECT

e2e_begin resume
E2E_CLI=$(e2e_cli_path "${1:-}")
names=(device.example.com www.device.example.com)
# A step line: "[   0.030s] order      placed https://...: 2 name(s), ...".
step_re='^\[ *[0-9]+\.[0-9]+s\] '
pebble_start "$E2E_TMP/pebble"

# state_file OUT: where `issue` keeps its order in flight (the folder is
# named after the first name).
state_file() {
  printf '%s/certificates/%s/order.json\n' "$1" "${names[0]}"
}

# issue_args OUT: into the array args, the options of every `issue` here
# (those of e2e_cli_issue), so that each run repeats the one before.
issue_args() {
  local n
  args=(issue --directory "$PEBBLE_DIRECTORY" --ca-file "$PEBBLE_CA_FILE"
    --email "$E2E_EMAIL" --agree-tos --http-address 127.0.0.1
    --http-port "$PEBBLE_HTTP_PORT" --out "$1")
  for n in "${names[@]}"; do
    args+=(--domain "$n")
  done
  # shellcheck disable=SC2206 # split on spaces, as in e2e_cli_issue
  args+=(${E2E_EXTRA_ARGS:-})
}

# run_issue LOG OUT: one `issue` into OUT, bounded; output in LOG.out and
# LOG.err; returns the CLI's status (124: timeout).
run_issue() {
  local log=$1 rc=0
  issue_args "$2"
  timeout -k 5 "${E2E_CLI_TIMEOUT:-120}" "$E2E_CLI" "${args[@]}" \
    >"$log.out" 2>"$log.err" || rc=$?
  return "$rc"
}

# issue_killed LOG OUT: starts `issue` into OUT, waits at most 60 s for
# its `validation` line and sends it SIGKILL. The CLI runs directly, not
# under timeout, so that the signal reaches it; the wait bounds it.
# Returns 1 when the run finished by itself before the signal.
issue_killed() {
  local log=$1 pid i rc=0 end=$(( SECONDS + 60 )) seen=0
  issue_args "$2"
  "$E2E_CLI" "${args[@]}" >"$log.out" 2>"$log.err" &
  pid=$!
  for (( i = 0; i < 3000 && SECONDS < end; i++ )); do
    if grep -qE "${step_re}validation( |\$)" "$log.out"; then
      seen=1
      break
    fi
    e2e_pid_running "$pid" || break
    sleep 0.02
  done
  # Not reaped yet, so PID is still our child, running or a zombie.
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || rc=$?
  if (( !seen )); then
    e2e_show_run "$log"
    fail "issue (status $rc) printed no validation line within 60 s"
  fi
  (( rc == 137 )) && return 0
  (( rc == 0 )) || { e2e_show_run "$log"; fail "issue failed ($rc)"; }
  return 1
}

# order_url LOG WORD: the URL of the last `order WORD URL` line of LOG.out.
order_url() {
  local url
  url=$(sed -nE "s/${step_re}order +$2 +([^ ]+).*/\\1/p" "$1.out" |
    tail -n 1)
  printf '%s\n' "${url%[:,;]}"
}

# last_order_line LOG: the text of the last `order` step line of LOG.out.
last_order_line() {
  sed -nE "s/${step_re}order +//p" "$1.out" | tail -n 1
}

# order_ids MARK: the IDs of the orders Pebble created after MARK.
order_ids() {
  e2e_pebble_log_since "$1" |
    sed -n 's/.* Added order "\([^"]*\)" to the db$/\1/p'
}

# pebble_idle MARK: every challenge Pebble took up after MARK has its
# result (each task it pulls ends in one "set VALID" or "set INVALID").
pebble_idle() {
  local tasks results
  tasks=$(e2e_pebble_log_since "$1" | grep -c 'Pulled a task' || true)
  results=$(e2e_pebble_log_since "$1" |
    grep -cE ' set (VALID|INVALID) by completed challenge ' || true)
  (( tasks == results ))
}

# wait_pebble MARK WHAT: waits until pebble_idle MARK (WHAT=idle) or until
# Pebble has invalidated an authorization after MARK (WHAT=invalid), for
# at most Pebble's longest delay plus 20 s.
wait_pebble() {
  local i end=$(( SECONDS + PEBBLE_VA_SLEEPTIME + 20 ))
  for (( i = 0; i < 1000 && SECONDS < end; i++ )); do
    case $2 in
      idle) pebble_idle "$1" && return 0 ;;
      invalid) e2e_pebble_log_since "$1" | grep -q ' set INVALID by ' &&
        return 0 ;;
    esac
    sleep 0.1
  done
  fail "Pebble was not $2 after $(( PEBBLE_VA_SLEEPTIME + 20 )) s"
}

# check_new_order LOG OUT MARK [OLD-URL]: the run of LOG placed exactly one
# order after MARK, reported it (a new URL, not OLD-URL) as its last
# `order` line, and got its certificate from it; the state is gone.
check_new_order() {
  local log=$1 out=$2 mark=$3 old=${4:-} url line ids
  line=$(last_order_line "$log")
  [[ $line == placed\ * ]] ||
    fail "$log: last order line is [$line], not 'placed <URL>'"
  url=$(order_url "$log" placed)
  [[ $url != "$old" ]] || fail "$log: placed the unusable order $old again"
  ids=$(order_ids "$mark")
  [[ $ids == "${url##*/}" ]] ||
    fail "$log: Pebble created [${ids//$'\n'/ }], expected only ${url##*/}"
  check_issued_by_pebble "$out/fullchain.pem" "$mark" "${url##*/}"
  check_chain "$out/fullchain.pem" "$PEBBLE_ROOT"
  check_sans "$out/fullchain.pem" "${names[@]}"
  check_same_key "$out/fullchain.pem" "$out/certificate.key"
  [[ ! -e $(state_file "$out") ]] || fail "$log: order.json left behind"
}

# 1. Killed after answering the challenges, resumed by the next run. An
# attempt in which Pebble fetched a token in the moment between the kill
# and the restart (its delay was shorter than the restart) proves
# nothing: the authorization is then invalid. Such attempts are retried,
# each with a new account, after Pebble finished with the one before.
conclusive=0
for attempt in 1 2 3; do
  out=$E2E_TMP/resume-$attempt
  mkdir -m 700 "$out"
  mark=$(e2e_pebble_log_mark)
  first=$E2E_TMP/first-$attempt second=$E2E_TMP/second-$attempt
  if ! issue_killed "$first" "$out"; then
    e2e_log "attempt $attempt: Pebble validated before the kill; again"
    continue
  fi
  url=$(order_url "$first" placed)
  [[ $url == https://* ]] || fail "first run printed no 'placed <URL>'"
  [[ -f $(state_file "$out") ]] ||
    fail "no $(state_file "$out") after the first run was killed"
  grep -qF "${url##*/}" "$(state_file "$out")" ||
    fail "the stored order does not name $url"
  rc=0
  run_issue "$second" "$out" || rc=$?
  wait_pebble "$mark" idle
  if e2e_pebble_log_since "$mark" | grep -q ' set INVALID by '; then
    e2e_log "attempt $attempt: Pebble fetched a token while no client" \
      "listened (a short delay); again"
    continue
  fi
  (( rc == 0 )) ||
    { e2e_show_run "$second"; fail "the run after the kill failed ($rc)"; }
  conclusive=1
  break
done
(( conclusive )) ||
  fail "3 attempts, none conclusive: Pebble kept failing the validation" \
    "(does the resumed run serve the challenges again?); see $E2E_TMP"

resumed=$(order_url "$second" resumed)
[[ $resumed == "$url" ]] || {
  e2e_show_run "$second"
  fail "second run resumed [$resumed], expected the first run's $url"
}
! grep -qE "${step_re}order +placed " "$second.out" ||
  fail "second run placed an order as well: $(last_order_line "$second")"
requests=$(e2e_pebble_order_requests "$mark")
ids=$(order_ids "$mark")
if (( requests != 1 )) || [[ $ids != "${url##*/}" ]]; then
  fail "Pebble got $requests newOrder request(s) and created" \
    "[${ids//$'\n'/ }]; expected one, ${url##*/}"
fi
check_issued_by_pebble "$out/fullchain.pem" "$mark" "${url##*/}"
check_chain "$out/fullchain.pem" "$PEBBLE_ROOT"
check_sans "$out/fullchain.pem" "${names[@]}"
check_same_key "$out/fullchain.pem" "$out/certificate.key"
[[ ! -e $(state_file "$out") ]] || fail "order.json left after success"
e2e_log "ok   killed after validation, resumed $url: one newOrder"

# 2. Unusable stored orders, all in one storage with its account.
out=$E2E_TMP/stale
mkdir -m 700 "$out"

# 2a. The CA invalidated the order while nobody served the challenges.
mark=$(e2e_pebble_log_mark)
issue_killed "$E2E_TMP/dead" "$out" ||
  fail "could not kill the run before Pebble validated; run again"
dead_url=$(order_url "$E2E_TMP/dead" placed)
cp -- "$(state_file "$out")" "$E2E_TMP/order.json.saved" ||
  fail "no stored order after the kill"
wait_pebble "$mark" invalid
wait_pebble "$mark" idle
mark=$(e2e_pebble_log_mark)
rc=0
run_issue "$E2E_TMP/after-invalid" "$out" || rc=$?
(( rc == 0 )) || {
  e2e_show_run "$E2E_TMP/after-invalid"
  fail "issue over an invalidated stored order failed ($rc)"
}
check_new_order "$E2E_TMP/after-invalid" "$out" "$mark" "$dead_url"
e2e_log "ok   invalidated stored order: a new order was placed"

# 2b. An order this CA does not know: the stored URL, another order ID.
dead_id=${dead_url##*/}
unknown_id=$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=\n')
grep -qF "$dead_id" "$E2E_TMP/order.json.saved" ||
  fail "the stored order does not name $dead_url"
sed "s/$dead_id/$unknown_id/g" "$E2E_TMP/order.json.saved" \
  >"$(state_file "$out")"
mark=$(e2e_pebble_log_mark)
rc=0
run_issue "$E2E_TMP/after-unknown" "$out" || rc=$?
(( rc == 0 )) || {
  e2e_show_run "$E2E_TMP/after-unknown"
  fail "issue over a stored order unknown to the CA failed ($rc)"
}
check_new_order "$E2E_TMP/after-unknown" "$out" "$mark" \
  "${dead_url%/*}/$unknown_id"
e2e_log "ok   stored order unknown to the CA: a new order was placed"

# 2c. Garbage: the first half of a real order.json (a torn write), and
# bytes that are no JSON at all. A new order or a clear error, no crash.
size=$(stat -c %s "$E2E_TMP/order.json.saved")
head -c "$(( size / 2 ))" "$E2E_TMP/order.json.saved" >"$E2E_TMP/torn"
printf '\x7fELF\x00\xff\xfe{"url": [\n\x01' >"$E2E_TMP/binary"
for kind in torn binary; do
  cp -- "$E2E_TMP/$kind" "$(state_file "$out")"
  cp -L -- "$out/fullchain.pem" "$E2E_TMP/before-$kind.pem"
  log=$E2E_TMP/after-$kind
  mark=$(e2e_pebble_log_mark)
  rc=0
  run_issue "$log" "$out" || rc=$?
  case $rc in
    0)
      check_new_order "$log" "$out" "$mark"
      e2e_log "ok   $kind order.json: dropped, a new order was placed" ;;
    1)
      grep -qi '^acmekit-cli: error: .*order' "$log.err" || {
        e2e_show_run "$log"
        fail "$kind order.json: exit 1 without an error about the order"
      }
      (( $(e2e_pebble_order_requests "$mark") == 0 )) ||
        fail "$kind order.json: refused, yet a newOrder was sent"
      cmp -s "$out/fullchain.pem" "$E2E_TMP/before-$kind.pem" ||
        fail "$kind order.json: refused, yet fullchain.pem changed"
      e2e_log "ok   $kind order.json: refused: $(head -n 1 "$log.err")" ;;
    *)
      e2e_show_run "$log"
      fail "$kind order.json: the CLI crashed or hung (status $rc)" ;;
  esac
done

pebble_stop
e2e_log "PASS"
