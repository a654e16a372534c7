#!/usr/bin/env bash
# errors.sh [ACMEKIT_CLI] - failures must be clean: for each bad input the
# CLI exits non-zero (not by timeout or signal), prints exactly one line on
# stderr that starts with "acmekit-cli: error:" and says what went wrong,
# and leaves its --out directory empty (no keys, no temp files). A failure
# after the account was registered keeps the account key, whole and 0600,
# so that the next attempt reuses the account instead of making another.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin errors
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
good=device.example.com
prefix='acmekit-cli: error:'
failed=()
cases=0

# check_message CASE LOG PATTERN: one stderr line, the prefix, some words
# after it, and PATTERN (extended regex, any case) somewhere in the line.
check_message() {
  local name=$1 err=$2.err pattern=$3 lines line
  lines=$(awk 'END { print NR }' "$err")
  (( lines == 1 )) || { echo "stderr has $lines lines, expected 1"; return 1; }
  line=$(head -n 1 "$err")
  [[ $line == "$prefix "* ]] ||
    { echo "stderr does not start with '$prefix ': $line"; return 1; }
  (( ${#line} >= ${#prefix} + 10 )) ||
    { echo "message says too little: $line"; return 1; }
  grep -q -i -E -- "$pattern" "$err" ||
    { echo "message does not match /$pattern/: $line"; return 1; }
}

# check_left OUT KEEPS_ACCOUNT: nothing in OUT, or with KEEPS_ACCOUNT=1
# only the stored account (a complete account key of mode 0600 and its
# URL) and the record of the failed attempt that backs the next one off.
check_left() {
  local out=$1 keeps=$2 left key folder record
  left=$(find "$out" -mindepth 1 -type f -printf '%P ')
  key=$(e2e_account_key "$out")
  folder=${key#"$out/"}
  folder=${folder%/account.key}
  if [[ $keeps == 1 && $left == *"$folder/account."* ]]; then
    record=$(find "$out/certificates" -name renewal.json 2>/dev/null)
    [[ -z $record ]] || grep -q '"failures":1' "$record" ||
      { echo "$record does not count the failure"; return 1; }
    [[ $(find "$out" -mindepth 1 -type f ! -name renewal.json | sort |
      tr '\n' ' ') == "$key ${key%.key}.url " ]] ||
      { echo "left more than the account: $left"; return 1; }
    [[ $(stat -c %a "$key") == 600 ]] ||
      { echo "account.key is not mode 0600"; return 1; }
    openssl pkey -in "$key" -noout 2>/dev/null ||
      { echo "account.key is not a whole private key"; return 1; }
    return 0
  fi
  left=$(find "$out" -mindepth 1 -printf '%P ')
  [[ -z $left ]] ||
    { echo "left files in its --out directory: $left"; return 1; }
}

# expect_error CASE PATTERN DIRECTORY CA_FILE NAME...: runs the CLI with an
# empty --out directory and checks how it failed.
expect_error() {
  local name=$1 pattern=$2 dir=$3 ca=$4 out=$E2E_TMP/out-$1 log rc=0 why left
  shift 4
  log=$E2E_TMP/$name
  cases=$(( cases + 1 ))
  mkdir -m 700 "$out"
  e2e_cli_issue "$log" "$dir" "$ca" "$out" "$@" || rc=$?
  if (( rc == 0 )); then
    why="exited 0"
  elif (( rc == 124 || rc > 128 )); then
    why="did not exit by itself (status $rc: timeout or signal)"
  elif ! why=$(check_message "$name" "$log" "$pattern"); then
    :
  elif ! why=$(check_left "$out" "${E2E_KEEPS_ACCOUNT:-0}"); then
    :
  else
    e2e_log "ok   $name (exit $rc): $(head -n 1 "$log.err")"
    return 0
  fi
  e2e_log "FAIL $name: $why"
  e2e_show_run "$log"
  failed+=("$name")
}

# A name whose A record points where nobody listens, so that Pebble's
# HTTP-01 validation fails (127.0.0.2 is loopback, but the CLI listens
# on 127.0.0.1 only).
point_elsewhere() {
  curl --silent --show-error --fail --noproxy '*' --max-time 3 \
    -d "{\"host\":\"$1\",\"addresses\":[\"127.0.0.2\"]}" \
    "$PEBBLE_CHALLTESTSRV/add-a" >/dev/null ||
    fail "pebble-challtestsrv refused the A record for $1"
}

pebble_start "$E2E_TMP/pebble"
e2e_make_ca "$E2E_TMP" other-ca
closed_port=
e2e_pick_port closed_port
point_elsewhere unreachable.device.example.com

expect_error wrong_directory_url '404|not found|director' \
  "https://127.0.0.1:$PEBBLE_PORT/nope" "$PEBBLE_CA_FILE" "$good"
expect_error unreachable_server 'connect|refused|reach' \
  "https://127.0.0.1:$closed_port/dir" "$PEBBLE_CA_FILE" "$good"
expect_error wrong_ca_file 'certif|verif|tls|ssl|trust|handshake' \
  "$PEBBLE_DIRECTORY" "$E2E_TMP/other-ca.pem" "$good"
expect_error invalid_domain 'bad_name|invalid|domain|name' \
  "$PEBBLE_DIRECTORY" "$PEBBLE_CA_FILE" bad_name..example
E2E_KEEPS_ACCOUNT=1 expect_error domain_refused_by_pebble \
  'forbid|policy|reject|block|refus' \
  "$PEBBLE_DIRECTORY" "$PEBBLE_CA_FILE" "$PEBBLE_BLOCKED_DOMAIN"
E2E_KEEPS_ACCOUNT=1 expect_error validation_fails \
  'valid|unauthori|challenge|connect|refus' \
  "$PEBBLE_DIRECTORY" "$PEBBLE_CA_FILE" unreachable.device.example.com
pebble_stop
if (( ${#failed[@]} > 0 )); then
  fail "${#failed[@]} of $cases error cases failed: ${failed[*]}"
fi
e2e_log "PASS ($cases error cases)"
