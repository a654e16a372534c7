#!/usr/bin/env bash
# accounts.sh [ACMEKIT_CLI] - the account lifecycle against a Pebble that
# requires external account binding: registering without EAB fails
# clearly; with EAB it works with the HMAC key unpadded, padded and in
# standard base64; a key rollover keeps issuing and the old key is
# refused; revocation by the account key and by the certificate's own key
# shows in Pebble's management interface; a deactivated account is
# refused afterwards.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin accounts
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
E2E_PEBBLE_EAB=1 pebble_start "$E2E_TMP/pebble"

# cli LOG ARGS...: the CLI against this Pebble, bounded in time.
cli() {
  local log=$1
  shift
  timeout -k 5 60 "$E2E_CLI" "$@" --directory "$PEBBLE_DIRECTORY" \
    --ca-file "$PEBBLE_CA_FILE" >"$log.out" 2>"$log.err"
}

# revoked SERIAL: Pebble's management interface says it is revoked.
revoked() {
  curl --silent --show-error --fail --noproxy '*' --max-time 5 \
    --cacert "$PEBBLE_CA_FILE" \
    "$PEBBLE_MGMT/cert-status-by-serial/$1" | grep -q -i '"revoked"'
}

serial_of() {
  openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' |
    tr 'A-F' 'a-f' | sed 's/^0*//'
}

secret() {
  printf '%s\n' "$2" >"$E2E_TMP/$1"
  chmod 600 "$E2E_TMP/$1"
  printf '%s' "$E2E_TMP/$1"
}
unpadded=$(secret eab-unpadded "$PEBBLE_EAB_HMAC_KEY")
padded=$(secret eab-padded "$PEBBLE_EAB_HMAC_KEY=")
standard=$(secret eab-standard "$(tr -- '-_' '+/' <<<"$PEBBLE_EAB_HMAC_KEY")=")
eab=(--eab-kid "$PEBBLE_EAB_KID")

# 1. Without EAB: refused before any account request, and clearly.
mkdir -m 700 "$E2E_TMP/none"
rc=0
cli "$E2E_TMP/none" account register --agree-tos --out "$E2E_TMP/none" ||
  rc=$?
(( rc == 1 )) || fail "register without EAB: exit $rc"
grep -q -i 'external account binding' "$E2E_TMP/none.err" ||
  { e2e_show_run "$E2E_TMP/none"; fail "register without EAB: unclear"; }
[[ ! -e $(e2e_account_key "$E2E_TMP/none") ]] || fail "a key was saved anyway"
e2e_log "ok   no EAB: $(head -n 1 "$E2E_TMP/none.err")"

# 2. With EAB, in three spellings of the same MAC key.
for form in unpadded padded standard; do
  mkdir -m 700 "$E2E_TMP/$form"
  cli "$E2E_TMP/$form-run" account register --agree-tos \
    --out "$E2E_TMP/$form" "${eab[@]}" --eab-hmac-file "${!form}" ||
    { e2e_show_run "$E2E_TMP/$form-run"; fail "EAB $form refused"; }
  grep -q '^status  *valid' "$E2E_TMP/$form-run.out" ||
    fail "EAB $form: account not valid"
  check_mode "$(e2e_account_key "$E2E_TMP/$form")" 600
done
e2e_log "ok   EAB key unpadded, padded and standard base64"

# 3. Rollover: issuing goes on with the new key, the old one is refused.
acct=$E2E_TMP/unpadded
cp "$(e2e_account_key "$acct")" "$E2E_TMP/old.key"
cli "$E2E_TMP/rollover" account rollover --out "$acct" ||
  { e2e_show_run "$E2E_TMP/rollover"; fail "rollover failed"; }
check_different_keys "$(e2e_account_key "$acct")" "$E2E_TMP/old.key"
[[ ! -e $(e2e_account_key "$acct").next ]] ||
  fail "account.key.next left behind"
e2e_issue "$E2E_TMP/issue1" "$acct" device.example.com ||
  { e2e_show_run "$E2E_TMP/issue1"; fail "issuing after rollover"; }
old_key=$(e2e_account_key "$E2E_TMP/old")
mkdir -p -m 700 "$(dirname "$old_key")"
cp "$E2E_TMP/old.key" "$old_key"
rc=0
cli "$E2E_TMP/old-show" account show --out "$E2E_TMP/old" || rc=$?
(( rc == 1 )) || fail "the old key was still accepted (exit $rc)"
grep -q 'accountDoesNotExist' "$E2E_TMP/old-show.err" ||
  { e2e_show_run "$E2E_TMP/old-show"; fail "old key: unexpected error"; }
e2e_log "ok   rollover: new key issues, old key refused"

# 4. Revocation by the account key, then by the certificate's own key.
cli "$E2E_TMP/revoke1" revoke --out "$acct" --reason 4 ||
  { e2e_show_run "$E2E_TMP/revoke1"; fail "revocation by account key"; }
revoked "$(serial_of "$acct/fullchain.pem")" ||
  fail "Pebble does not show the certificate revoked"
rc=0
cli "$E2E_TMP/revoke-again" revoke --out "$acct" || rc=$?
(( rc == 1 )) && grep -q 'alreadyRevoked' "$E2E_TMP/revoke-again.err" ||
  { e2e_show_run "$E2E_TMP/revoke-again"; fail "second revocation"; }
e2e_issue "$E2E_TMP/issue2" "$acct" device.example.com ||
  { e2e_show_run "$E2E_TMP/issue2"; fail "issuing the second certificate"; }
cli "$E2E_TMP/revoke2" revoke --out "$acct" --with-certificate-key \
  --reason 1 ||
  { e2e_show_run "$E2E_TMP/revoke2"; fail "revocation by certificate key"; }
revoked "$(serial_of "$acct/fullchain.pem")" ||
  fail "Pebble does not show the second certificate revoked"
e2e_log "ok   revoked by account key and by certificate key"

# 5. Deactivation, after which the account is refused.
cli "$E2E_TMP/deactivate" account deactivate --out "$acct" ||
  { e2e_show_run "$E2E_TMP/deactivate"; fail "deactivation failed"; }
grep -q 'deactivated' "$E2E_TMP/deactivate.out" ||
  fail "deactivation not reported"
rc=0
cli "$E2E_TMP/after" account show --out "$acct" || rc=$?
(( rc == 1 )) || fail "a deactivated account was accepted"
e2e_log "ok   deactivated: $(head -n 1 "$E2E_TMP/after.err")"

pebble_stop
e2e_log "PASS"
