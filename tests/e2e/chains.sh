#!/usr/bin/env bash
# chains.sh [ACMEKIT_CLI] - alternate chains from a real Pebble started
# with PEBBLE_ALTERNATE_ROOTS=1: without a preference the default chain
# is kept; --preferred-chain with the common name of the alternate root
# gives the chain that root issued (it verifies against that root, not
# the default one); a name no chain has keeps the default.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin chains
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
name=device.example.com
export PEBBLE_ALTERNATE_ROOTS=1
pebble_start "$E2E_TMP/pebble"

# The second root, and the common names of both.
e2e_curl -o "$E2E_TMP/root1.pem" "$PEBBLE_MGMT/roots/1" ||
  fail "Pebble offers no alternate root"
common_name() {
  openssl x509 -in "$1" -noout -subject -nameopt multiline |
    sed -n 's/^ *commonName *= *//p'
}
default_cn=$(common_name "$PEBBLE_ROOT")
alternate_cn=$(common_name "$E2E_TMP/root1.pem")
[[ -n $default_cn && -n $alternate_cn && $default_cn != "$alternate_cn" ]] ||
  fail "roots are not told apart: '$default_cn' and '$alternate_cn'"

# top_issuer CHAIN: the issuer common name of the chain's last certificate.
top_issuer() {
  awk '/-----BEGIN CERTIFICATE-----/ { block = "" } { block = block $0 "\n" }
    END { printf "%s", block }' "$1" >"$E2E_TMP/top.pem"
  openssl x509 -in "$E2E_TMP/top.pem" -noout -issuer -nameopt multiline |
    sed -n 's/^ *commonName *= *//p'
}

run() {
  local tag=$1 out=$E2E_TMP/$1
  shift
  mkdir -m 700 "$out"
  E2E_EXTRA_ARGS="$*" e2e_issue "$E2E_TMP/$tag-run" "$out" "$name" ||
    { e2e_show_run "$E2E_TMP/$tag-run"; fail "issue ($tag) failed"; }
  printf '%s/fullchain.pem\n' "$out"
}

chain=$(run default)
[[ $(top_issuer "$chain") == "$default_cn" ]] ||
  fail "default chain ends at '$(top_issuer "$chain")', not '$default_cn'"
check_chain "$chain" "$PEBBLE_ROOT"
e2e_log "ok   default chain: issued by $default_cn"

# The preference names a common name with spaces, which E2E_EXTRA_ARGS
# cannot carry, so this run builds its own command line.
out=$E2E_TMP/preferred
mkdir -m 700 "$out"
timeout -k 5 120 "$E2E_CLI" issue --directory "$PEBBLE_DIRECTORY" \
  --ca-file "$PEBBLE_CA_FILE" --agree-tos --http-address 127.0.0.1 \
  --http-port "$PEBBLE_HTTP_PORT" --out "$out" --domain "$name" \
  --preferred-chain "$alternate_cn" >"$E2E_TMP/preferred.out" \
  2>"$E2E_TMP/preferred.err" ||
  { e2e_show_run "$E2E_TMP/preferred"; fail "issue with a preference"; }
[[ $(top_issuer "$out/fullchain.pem") == "$alternate_cn" ]] ||
  fail "preferred chain ends at '$(top_issuer "$out/fullchain.pem")'"
check_chain "$out/fullchain.pem" "$E2E_TMP/root1.pem"
e2e_log "ok   preferred chain: issued by $alternate_cn"

chain=$(run unknown --preferred-chain=NoSuchRoot)
[[ $(top_issuer "$chain") == "$default_cn" ]] ||
  fail "an unknown preference did not keep the default chain"
e2e_log "ok   unknown preference keeps the default chain"

pebble_stop
e2e_log "PASS"
