#!/usr/bin/env bash
# own_key.sh [ACMEKIT_CLI] - certificates for keys the operator brings:
# an existing key (--cert-key) is certified and stored, and stays the same
# over a renewal; a CSR made with openssl (PEM and DER) is sent as is and
# only its chain is written; the account key is refused as a certificate
# key before any order; a stored certificate loads back through the
# storage (the links point at its generation).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin own_key
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
name=device.example.com
pebble_start "$E2E_TMP/pebble"

# 1. An existing P-384 key, certified twice: the key never changes.
out=$E2E_TMP/kept
mkdir -m 700 "$out"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
  -out "$E2E_TMP/kept.key" 2>/dev/null
for run in 1 2; do
  E2E_EXTRA_ARGS="--cert-key $E2E_TMP/kept.key" \
    e2e_issue "$E2E_TMP/kept-$run" "$out" "$name" ||
    { e2e_show_run "$E2E_TMP/kept-$run"; fail "issue with --cert-key"; }
  check_same_key "$out/fullchain.pem" "$E2E_TMP/kept.key"
  check_same_key "$out/certificate.key" "$E2E_TMP/kept.key"
  check_chain "$out/fullchain.pem" "$PEBBLE_ROOT"
done
[[ $(readlink "$out/current") == certificates/$name/g2 ]] ||
  fail "current points at $(readlink "$out/current"), not generation 2"
check_mode "$out/certificates/$name/g2/certificate.key" 600
e2e_log "ok   --cert-key certified the same key twice"

# 2. A CSR from openssl, as PEM and as DER.
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
  -out "$E2E_TMP/csr.key" 2>/dev/null
openssl req -new -key "$E2E_TMP/csr.key" -subj "/CN=$name" \
  -addext "subjectAltName=DNS:$name" -out "$E2E_TMP/req.pem"
openssl req -in "$E2E_TMP/req.pem" -outform DER -out "$E2E_TMP/req.der"
for form in pem der; do
  out=$E2E_TMP/csr-$form
  mkdir -m 700 "$out"
  E2E_EXTRA_ARGS="--csr $E2E_TMP/req.$form --chain-out $out/chain.pem" \
    e2e_issue "$E2E_TMP/csr-$form" "$out" "$name" ||
    { e2e_show_run "$E2E_TMP/csr-$form"; fail "issue with a $form CSR"; }
  check_same_key "$out/chain.pem" "$E2E_TMP/csr.key"
  check_chain "$out/chain.pem" "$PEBBLE_ROOT"
  check_sans "$out/chain.pem" "$name"
  [[ ! -e $out/certificates && ! -e $out/certificate.key ]] ||
    fail "a key or certificate was stored for a CSR ($form)"
done
e2e_log "ok   CSR as PEM and as DER, chain only"

# 3. The account key as the certificate key: refused before any order.
out=$E2E_TMP/kept
rc=0
E2E_EXTRA_ARGS="--cert-key $(e2e_account_key "$out")" \
  e2e_issue "$E2E_TMP/same" "$out" "$name" || rc=$?
(( rc == 1 )) && grep -q 'account key' "$E2E_TMP/same.err" ||
  { e2e_show_run "$E2E_TMP/same"; fail "the account key was accepted"; }
check_same_key "$out/certificate.key" "$E2E_TMP/kept.key"
e2e_log "ok   $(head -n 1 "$E2E_TMP/same.err")"

# 4. A CSR that is not one.
printf 'not a request\n' >"$E2E_TMP/bad.csr"
rc=0
E2E_EXTRA_ARGS="--csr $E2E_TMP/bad.csr --chain-out $E2E_TMP/bad-chain.pem" \
  e2e_issue "$E2E_TMP/bad" "$out" "$name" || rc=$?
(( rc == 1 )) && grep -q 'PKCS#10' "$E2E_TMP/bad.err" ||
  { e2e_show_run "$E2E_TMP/bad"; fail "a broken CSR was not refused"; }
[[ ! -e $E2E_TMP/bad-chain.pem ]] || fail "a chain was written anyway"
e2e_log "ok   $(head -n 1 "$E2E_TMP/bad.err")"

pebble_stop
e2e_log "PASS"
