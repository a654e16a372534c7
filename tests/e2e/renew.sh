#!/usr/bin/env bash
# renew.sh [ACMEKIT_CLI] - `renew` and `status` over a stored certificate.
# A fresh certificate (Pebble's live 5 years) is not due: `renew` exits 0,
# says `not due` with its next check time, sends Pebble no newOrder and
# leaves fullchain.pem and certificate.key byte for byte. `status`, with
# and without the CA, names the certificate and its names, its expiry
# (that of the certificate) and when it will be renewed and why.
# `renew --force` issues a new certificate for the same names (a
# different serial and key, one new order, the chain verifies), moves the
# generation link to it and keeps exactly the generation before, intact.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin renew
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
names=(device.example.com www.device.example.com)
name=${names[0]}
certs=certificates/$name
out=$E2E_TMP/out
mkdir -m 700 "$out"
iso_re='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
pebble_start "$E2E_TMP/pebble"

# run_cli LOG ARG...: one bounded CLI run; output in LOG.out and LOG.err;
# returns the CLI's status (124: timeout).
run_cli() {
  local log=$1 rc=0
  shift
  timeout -k 5 "${E2E_CLI_TIMEOUT:-120}" "$E2E_CLI" "$@" \
    >"$log.out" 2>"$log.err" || rc=$?
  return "$rc"
}

# renew LOG [OPTION...]: `renew` with the options `issue` got from
# e2e_issue, and OPTIONs.
renew() {
  local log=$1 n args
  shift
  args=(renew --directory "$PEBBLE_DIRECTORY" --ca-file "$PEBBLE_CA_FILE"
    --email "$E2E_EMAIL" --agree-tos --http-address 127.0.0.1
    --http-port "$PEBBLE_HTTP_PORT" --out "$out")
  for n in "${names[@]}"; do
    args+=(--domain "$n")
  done
  # shellcheck disable=SC2206 # split on spaces, as in e2e_cli_issue
  args+=(${E2E_EXTRA_ARGS:-} "$@")
  run_cli "$log" "${args[@]}"
}

# time_in TEXT: seconds since the epoch of the first YYYY-MM-DDTHH:MM:SSZ
# in TEXT; fails when there is none.
time_in() {
  local t
  t=$(grep -oE "$iso_re" <<<"$1" | head -n 1)
  [[ -n $t ]] && date -u -d "$t" +%s
}

# not_after CERT: its expiry in seconds since the epoch.
not_after() {
  local t
  t=$(openssl x509 -in "$1" -noout -enddate) || fail "cannot read $1"
  date -u -d "${t#notAfter=}" +%s
}

# status_field LOG KEY: the rest of the first line of LOG.out that starts
# with KEY (after the step's time stamp, when the CLI prints one).
status_field() {
  sed -E 's/^\[ *[0-9]+\.[0-9]+s\] +//' "$1.out" |
    sed -nE "s/^$2 +//p" | head -n 1
}

# check_status LOG: LOG.out is what `status` prints for the certificate
# in $out now.
check_status() {
  local log=$1 text n expires renew_at now
  now=$(date +%s)
  text=$(status_field "$log" certificate)
  [[ $text == *"$name"* ]] ||
    { e2e_show_run "$log"; fail "$log: no 'certificate' line for $name"; }
  text=$(status_field "$log" names)
  for n in "${names[@]}"; do
    tr -s ', ' '\n' <<<"$text" | grep -qxF "$n" ||
      fail "$log: 'names' line [$text] lacks $n"
  done
  text=$(status_field "$log" expires)
  expires=$(time_in "$text") || fail "$log: no time in 'expires $text'"
  (( expires == $(not_after "$out/fullchain.pem") )) ||
    fail "$log: 'expires $text' is not the certificate's notAfter"
  text=$(status_field "$log" 'renew at')
  renew_at=$(time_in "$text") || fail "$log: no time in 'renew at $text'"
  (( now < renew_at && renew_at < expires )) ||
    fail "$log: 'renew at $text' is not between now and the expiry"
  [[ $text =~ \(.+\) ]] ||
    fail "$log: 'renew at $text' gives no reason in parentheses"
}

# 1. The first certificate: generation 1.
rc=0
e2e_issue "$E2E_TMP/issue" "$out" "${names[@]}" || rc=$?
(( rc == 0 )) ||
  { e2e_show_run "$E2E_TMP/issue"; fail "acmekit-cli issue exited $rc"; }
check_chain "$out/fullchain.pem" "$PEBBLE_ROOT"
check_sans "$out/fullchain.pem" "${names[@]}"
[[ $(readlink "$out/current") == "$certs/g1" ]] ||
  fail "current points at $(readlink "$out/current"), not $certs/g1"
cp -L -- "$out/fullchain.pem" "$E2E_TMP/g1.pem"
cp -L -- "$out/certificate.key" "$E2E_TMP/g1.key"

# 2. Not due: no order, nothing written.
mark=$(e2e_pebble_log_mark)
rc=0
renew "$E2E_TMP/renew" || rc=$?
(( rc == 0 )) ||
  { e2e_show_run "$E2E_TMP/renew"; fail "renew (not due) exited $rc"; }
grep -q 'not due' "$E2E_TMP/renew.out" ||
  { e2e_show_run "$E2E_TMP/renew"; fail "renew did not say 'not due'"; }
line=$(grep 'next check' "$E2E_TMP/renew.out" | head -n 1) ||
  fail "renew printed no 'next check' line"
next=$(time_in "$line") || fail "no time in the next check line: $line"
(( next > $(date +%s) - 60 )) || fail "next check in the past: $line"
requests=$(e2e_pebble_order_requests "$mark")
(( requests == 0 )) ||
  fail "renew sent $requests newOrder request(s) for a certificate not due"
cmp -s "$out/fullchain.pem" "$E2E_TMP/g1.pem" ||
  fail "renew changed fullchain.pem though not due"
cmp -s "$out/certificate.key" "$E2E_TMP/g1.key" ||
  fail "renew changed certificate.key though not due"
[[ $(readlink "$out/current") == "$certs/g1" && ! -e $out/$certs/g2 ]] ||
  fail "renew made a new generation though not due"
e2e_log "ok   not due: $line"

# 3. status, from the storage alone and with the CA named.
rc=0
run_cli "$E2E_TMP/status" status --out "$out" || rc=$?
(( rc == 0 )) ||
  { e2e_show_run "$E2E_TMP/status"; fail "status exited $rc"; }
check_status "$E2E_TMP/status"
rc=0
run_cli "$E2E_TMP/status-ca" status --out "$out" \
  --directory "$PEBBLE_DIRECTORY" --ca-file "$PEBBLE_CA_FILE" || rc=$?
(( rc == 0 )) ||
  { e2e_show_run "$E2E_TMP/status-ca"; fail "status --directory exited $rc"; }
check_status "$E2E_TMP/status-ca"
(( $(e2e_pebble_order_requests "$mark") == 0 )) ||
  fail "status sent a newOrder request"
e2e_log "ok   status: $(status_field "$E2E_TMP/status" 'renew at')"

# 4. Forced renewals: generations 2, 3 and 4. Each is a new certificate
# and key, current moves to it, the one before stays whole and any older
# one is gone.
for (( gen = 2; gen <= 4; gen++ )); do
  prev=$(( gen - 1 ))
  log=$E2E_TMP/force-$gen
  mark=$(e2e_pebble_log_mark)
  rc=0
  renew "$log" --force || rc=$?
  (( rc == 0 )) || { e2e_show_run "$log"; fail "renew --force exited $rc"; }
  orders=$(e2e_pebble_orders "$mark")
  (( orders == 1 )) || fail "renew --force made $orders orders, not 1"
  check_issued_by_pebble "$out/fullchain.pem" "$mark"
  check_chain "$out/fullchain.pem" "$PEBBLE_ROOT"
  check_sans "$out/fullchain.pem" "${names[@]}"
  check_same_key "$out/fullchain.pem" "$out/certificate.key"
  check_mode "$out/certificate.key" 600
  check_different_keys "$out/certificate.key" "$E2E_TMP/g$prev.key"
  [[ $(e2e_cert_serial "$out/fullchain.pem") != \
    $(e2e_cert_serial "$E2E_TMP/g$prev.pem") ]] ||
    fail "renew --force kept the serial of generation $prev"
  [[ $(readlink "$out/current") == "$certs/g$gen" ]] ||
    fail "current points at $(readlink "$out/current"), not $certs/g$gen"
  for f in fullchain.pem certificate.key; do
    cmp -s "$out/$certs/g$prev/$f" "$E2E_TMP/g$prev.${f##*.}" ||
      fail "generation $prev lost its $f in renewal $gen"
  done
  for (( old = 1; old < prev; old++ )); do
    [[ ! -e $out/$certs/g$old ]] ||
      fail "generation $old still kept after renewal $gen"
  done
  [[ ! -e $out/$certs/order.json ]] || fail "order.json left behind"
  cp -L -- "$out/fullchain.pem" "$E2E_TMP/g$gen.pem"
  cp -L -- "$out/certificate.key" "$E2E_TMP/g$gen.key"
  e2e_log "ok   renew --force: generation $gen" \
    "(serial $(e2e_cert_serial "$out/fullchain.pem")), g$prev kept"
done

pebble_stop
e2e_log "PASS"
