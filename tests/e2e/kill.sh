#!/usr/bin/env bash
# kill.sh [ACMEKIT_CLI] - power cuts, as SIGKILL at many moments of an
# issuance: first registrations (the account key is absent or whole) and
# renewals over a good certificate (the account key stays the same, and
# certificate.key and fullchain.pem are always loadable and belong
# together, old pair or new).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin kill
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
pebble_start "$E2E_TMP/pebble"
: "${KILL_POINTS:=40}"

# kill_after OUT MS: one issuance into OUT, killed after MS milliseconds
# unless it finished first. Prints "done" or "killed".
kill_after() {
  local out=$1 ms=$2 pid
  e2e_issue "$E2E_TMP/kill-run" "$out" device.example.com &
  pid=$!
  sleep "$(printf '0.%03d' "$ms")"
  if kill -KILL "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    echo killed
  else
    wait "$pid" || true
    echo done
  fi
}

# The timeout wrapper in e2e_issue would survive its child being killed,
# so the CLI runs directly here, bounded by the kill.
e2e_issue() {
  local log=$1 out=$2
  shift 2
  exec "$E2E_CLI" issue --directory "$PEBBLE_DIRECTORY" \
    --ca-file "$PEBBLE_CA_FILE" --agree-tos --http-address 127.0.0.1 \
    --http-port "$PEBBLE_HTTP_PORT" --out "$out" --domain "$@" \
    >"$log.out" 2>"$log.err"
}

loadable_key() {
  openssl pkey -in "$1" -noout 2>/dev/null
}

# 1. First issuances cut short: account.key is absent or a whole key.
killed=0
for (( i = 0; i < KILL_POINTS; ++i )); do
  out=$E2E_TMP/first-$i
  mkdir -m 700 "$out"
  [[ $(kill_after "$out" $(( i * 5 ))) == killed ]] && killed=$(( killed + 1 ))
  key=$(e2e_account_key "$out")
  if [[ -e $key ]]; then
    loadable_key "$key" || fail "torn account.key after $i"
  fi
done
e2e_log "first issuance: $killed of $KILL_POINTS runs killed, keys whole"

# 2. Renewals over a good certificate, killed at every few milliseconds.
out=$E2E_TMP/renew
mkdir -m 700 "$out"
[[ $(kill_after "$out" 999) == done ]] || fail "the first issuance failed"
account_key=$(e2e_account_key "$out")
account=$(e2e_pubkey "$account_key")
killed=0 renewed=0
for (( i = 0; i < KILL_POINTS; ++i )); do
  before=$(sha256sum "$out/fullchain.pem")
  result=$(kill_after "$out" $(( i * 5 )))
  [[ $result == killed ]] && killed=$(( killed + 1 ))
  [[ $(e2e_pubkey "$account_key") == "$account" ]] ||
    fail "account.key changed or broke (point $i)"
  loadable_key "$out/certificate.key" ||
    fail "certificate.key not loadable (point $i)"
  openssl x509 -in "$out/fullchain.pem" -noout 2>/dev/null ||
    fail "fullchain.pem not loadable (point $i)"
  check_same_key "$out/fullchain.pem" "$out/certificate.key"
  [[ $(sha256sum "$out/fullchain.pem") == "$before" ]] ||
    renewed=$(( renewed + 1 ))
done
e2e_log "renewal: $killed of $KILL_POINTS runs killed, $renewed renewed," \
  "every pair whole and matching"
(( killed > 0 && renewed > 0 )) ||
  fail "the kill points missed the writes (killed $killed, renewed $renewed)"
generations=$(find "$out/certificates" -mindepth 2 -maxdepth 2 -name 'g*' |
  wc -l)
(( generations <= 2 + killed )) || fail "$generations generations kept"
pebble_stop
e2e_log "PASS"
