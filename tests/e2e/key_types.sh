#!/usr/bin/env bash
# key_types.sh [ACMEKIT_CLI] - every account key type with every
# certificate key type (ECDSA P-256 and P-384, RSA 2048, 3072 and 4096):
# 25 issuances against one Pebble, each chain checked for the key type
# asked and for the key it was issued to.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin key_types
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
types=(ec-p256 ec-p384 rsa-2048 rsa-3072 rsa-4096)
pebble_start "$E2E_TMP/pebble"

# key_kind PEM_KEY: "EC prime256v1" style text openssl prints for a key.
key_kind() {
  openssl pkey -in "$1" -noout -text 2>/dev/null |
    sed -n -e 's/.*Private-Key: (\([0-9]*\) bit.*/\1/p' \
      -e 's/^ASN1 OID: \(.*\)/\1/p' | tr '\n' ' '
}

expected_kind() {
  case $1 in
    ec-p256) echo "256 prime256v1 " ;;
    ec-p384) echo "384 secp384r1 " ;;
    rsa-*) echo "${1#rsa-} " ;;
  esac
}

t0=$(e2e_ms)
count=0
for account in "${types[@]}"; do
  for cert in "${types[@]}"; do
    out=$E2E_TMP/$account-$cert
    mkdir -m 700 "$out"
    E2E_EXTRA_ARGS="--account-key-type $account --key-type $cert" \
      e2e_issue "$out.run" "$out" device.example.com ||
      { e2e_show_run "$out.run"; fail "$account account, $cert key"; }
    account_key=$(e2e_account_key "$out")
    [[ $(key_kind "$account_key") == "$(expected_kind "$account")" ]] ||
      fail "account key is $(key_kind "$account_key"), not $account"
    [[ $(key_kind "$out/certificate.key") == "$(expected_kind "$cert")" ]] ||
      fail "certificate key is $(key_kind "$out/certificate.key"), not $cert"
    check_same_key "$out/fullchain.pem" "$out/certificate.key"
    check_chain "$out/fullchain.pem" "$PEBBLE_ROOT"
    count=$(( count + 1 ))
  done
done
e2e_log "$count key type pairs issued in $(( $(e2e_ms) - t0 )) ms"
pebble_stop
e2e_log "PASS"
