# shellcheck shell=bash
# tests/e2e/lib.sh - shared helpers for scripts/demo, scripts/test and the
# end-to-end tests. Source it; it defines functions and a few variables and
# starts nothing by itself.
#
# Everything here talks to 127.0.0.1 only. Pebble resolves every name
# through the pebble-challtestsrv started here, never through the machine's
# resolver, and every wait is bounded in tries and in seconds.

# Debian packages, split so that callers install only what they use.
# shellcheck disable=SC2034
E2E_BUILD_PACKAGES=(meson ninja-build pkg-config gcc g++ libmbedtls-dev
  libcpp-httplib-dev libboost-json1.81-dev libfmt-dev doctest-dev libssl-dev
  libcurl4-openssl-dev abigail-tools)
# shellcheck disable=SC2034
E2E_RUN_PACKAGES=(pebble openssl curl binutils coreutils knot knot-dnsutils
  lighttpd)
E2E_RUN_PACKAGES+=(tinyproxy)

# Seconds that Pebble may take to answer its directory after the start.
: "${E2E_START_TIMEOUT:=20}"

# Ports handed out by this shell, so that two picks cannot collide before
# the servers that use them have bound them.
E2E_PORTS_TAKEN=" "

# PIDs of the servers started by pebble_start, as "pid:program" pairs; the
# program name lets pebble_stop refuse to signal a recycled PID.
E2E_PIDS=()

# A proxy from the environment must never carry test traffic elsewhere.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export no_proxy='127.0.0.1,localhost,::1' NO_PROXY='127.0.0.1,localhost,::1'

# --- messages -------------------------------------------------------------

e2e_log() {
  printf '[%s] %s\n' "${E2E_NAME:-e2e}" "$*"
}

# fail MESSAGE...: says what went wrong and ends the script (the EXIT trap
# then stops the servers).
fail() {
  printf '[%s] FAIL: %s\n' "${E2E_NAME:-e2e}" "$*" >&2
  exit 1
}

# --- packages -------------------------------------------------------------

e2e_pkg_installed() {
  # One line per installed architecture: with arm64 packages beside the
  # native ones (cross builds), a package appears twice.
  dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null |
    grep -q -x 'install ok installed'
}

# e2e_ensure_packages PKG...: installs only the missing ones, so that a
# machine that has them all never waits for apt.
e2e_ensure_packages() {
  local p missing=()
  for p in "$@"; do
    e2e_pkg_installed "$p" || missing+=("$p")
  done
  if (( ${#missing[@]} == 0 )); then
    return 0
  fi
  if (( EUID != 0 )); then
    fail "missing Debian packages (run as root to install):" "${missing[@]}"
  fi
  e2e_log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q || fail "apt-get update failed"
  apt-get install -y -q --no-install-recommends "${missing[@]}" ||
    fail "apt-get install failed:" "${missing[@]}"
}

# --- ports ----------------------------------------------------------------

# The /proc/net tables that exist here (IPv6 may be disabled).
e2e_socket_tables() {
  local t
  for t in /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6; do
    [[ -r $t ]] && printf '%s\n' "$t"
  done
  return 0
}

# e2e_port_in_use PORT: true when any TCP or UDP socket, in any state, has
# PORT as its local port. Reading the kernel's tables needs no extra tool.
e2e_port_in_use() {
  local hex tables
  hex=$(printf '%04X' "$1")
  mapfile -t tables < <(e2e_socket_tables)
  awk -v want=":$hex" '
    FNR > 1 && substr($2, length($2) - 4) == want { found = 1 }
    END { exit !found }' "${tables[@]}"
}

# e2e_pick_port VAR: stores in VAR a port that is free for both TCP and UDP
# on 127.0.0.1. Picks stay below 32768, out of the kernel's ephemeral range,
# so that outgoing connections cannot take them in the meantime.
e2e_pick_port() {
  local tries port
  for (( tries = 0; tries < 200; tries++ )); do
    port=$(( 10000 + RANDOM % 22000 ))
    [[ $E2E_PORTS_TAKEN == *" $port "* ]] && continue
    e2e_port_in_use "$port" && continue
    E2E_PORTS_TAKEN+="$port "
    printf -v "$1" '%s' "$port"
    return 0
  done
  fail "no free port found in 200 tries"
}

# e2e_free_port: prints a free port. In $(...) the pick is not remembered,
# so prefer e2e_pick_port when several ports are needed.
e2e_free_port() {
  local p
  e2e_pick_port p
  printf '%s\n' "$p"
}

# --- processes ------------------------------------------------------------

# e2e_pid_running PID: true while PID exists and is not a zombie (our own
# children stay zombies until reaped, so kill -0 alone is not enough).
e2e_pid_running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# e2e_pid_is PID PROGRAM: true when PID still runs PROGRAM.
e2e_pid_is() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
  [[ ${exe##*/} == "$2" ]]
}

# e2e_stop_pid PID PROGRAM: TERM, then KILL after 5 s; reaps the child.
e2e_stop_pid() {
  local pid=$1 prog=$2 i
  if e2e_pid_running "$pid" && e2e_pid_is "$pid" "$prog"; then
    kill -TERM "$pid" 2>/dev/null || true
    for (( i = 0; i < 50; i++ )); do
      e2e_pid_running "$pid" || break
      sleep 0.1
    done
    if e2e_pid_running "$pid" && e2e_pid_is "$pid" "$prog"; then
      e2e_log "$prog ($pid) ignored TERM, sending KILL"
      kill -KILL "$pid" 2>/dev/null || true
      for (( i = 0; i < 20; i++ )); do
        e2e_pid_running "$pid" || break
        sleep 0.1
      done
    fi
  fi
  # The process has exited (or was never ours): wait returns at once.
  wait "$pid" 2>/dev/null || true
}

e2e_pids_alive() {
  local entry
  for entry in "${E2E_PIDS[@]}"; do
    e2e_pid_running "${entry%%:*}" || return 1
  done
  return 0
}

# --- certificates ---------------------------------------------------------

# e2e_make_ca DIR NAME: a throwaway EC CA as DIR/NAME.pem and DIR/NAME.key.
e2e_make_ca() {
  local dir=$1 name=$2
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -nodes -keyout "$dir/$name.key" -out "$dir/$name.pem" -days 7 \
    -subj "/CN=acmekit throwaway CA $name $$" \
    -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign \
    >>"$dir/openssl.log" 2>&1 || fail "openssl could not make CA $name"
}

# e2e_make_server_cert DIR CA: DIR/server.pem and DIR/server.key for
# 127.0.0.1 and localhost, signed by DIR/CA.pem.
e2e_make_server_cert() {
  local dir=$1 ca=$2
  printf '%s\n' 'subjectAltName = IP:127.0.0.1, DNS:localhost' \
    'basicConstraints = critical, CA:FALSE' \
    'keyUsage = critical, digitalSignature' \
    'extendedKeyUsage = serverAuth' >"$dir/server.ext"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$dir/server.key" -out "$dir/server.csr" \
    -subj '/CN=localhost' >>"$dir/openssl.log" 2>&1 ||
    fail "openssl could not make the server key"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/$ca.pem" \
    -CAkey "$dir/$ca.key" -set_serial "0x$(openssl rand -hex 8)" \
    -days 7 -extfile "$dir/server.ext" -out "$dir/server.pem" \
    >>"$dir/openssl.log" 2>&1 || fail "openssl could not make server cert"
}

# --- Pebble ---------------------------------------------------------------

# e2e_curl ARGS...: curl that trusts only Pebble's TLS CA, never a proxy.
e2e_curl() {
  curl --silent --show-error --fail --noproxy '*' --max-time 3 \
    --cacert "$PEBBLE_CA_FILE" "$@"
}

# A random HMAC key in the base64url form Pebble expects for EAB; 47
# bytes, so that its padded and unpadded forms differ.
e2e_eab_key() {
  openssl rand -base64 47 | tr -d '\n=' | tr '+/' '-_'
}

# e2e_pebble_config FILE: Pebble's JSON. The blocklisted name gives the
# tests a domain that Pebble refuses by policy.
e2e_pebble_config() {
  local eab=false macs=''
  if [[ ${E2E_PEBBLE_EAB:-0} == 1 ]]; then
    eab=true
    macs=$(printf ',\n    "externalAccountMACKeys": { "%s": "%s" }' \
      "$PEBBLE_EAB_KID" "$PEBBLE_EAB_HMAC_KEY")
  fi
  cat >"$1" <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$PEBBLE_PORT",
    "managementListenAddress": "127.0.0.1:$PEBBLE_MGMT_PORT",
    "certificate": "$PEBBLE_WORKDIR/server.pem",
    "privateKey": "$PEBBLE_WORKDIR/server.key",
    "httpPort": $PEBBLE_HTTP_PORT,
    "tlsPort": $PEBBLE_TLS_PORT,
    "ocspResponderURL": "",
    "domainBlocklist": ["$PEBBLE_BLOCKED_DOMAIN"],
    "externalAccountBindingRequired": $eab$macs
  }
}
EOF
}

# Picks the ports of one start attempt; a caller may fix the HTTP-01 port
# by exporting E2E_HTTP_PORT.
e2e_pebble_ports() {
  e2e_pick_port PEBBLE_PORT
  e2e_pick_port PEBBLE_MGMT_PORT
  e2e_pick_port PEBBLE_TLS_PORT
  e2e_pick_port PEBBLE_DNS_PORT
  e2e_pick_port PEBBLE_CHALLTESTSRV_PORT
  if [[ -n ${E2E_HTTP_PORT:-} ]]; then
    PEBBLE_HTTP_PORT=$E2E_HTTP_PORT
  else
    e2e_pick_port PEBBLE_HTTP_PORT
  fi
  PEBBLE_DIRECTORY="https://127.0.0.1:$PEBBLE_PORT/dir"
  PEBBLE_MGMT="https://127.0.0.1:$PEBBLE_MGMT_PORT"
  PEBBLE_CHALLTESTSRV="http://127.0.0.1:$PEBBLE_CHALLTESTSRV_PORT"
}

# Starts the fake DNS server. Its own challenge servers stay off: the
# client under test answers HTTP-01 itself. No AAAA answers, so that
# Pebble's validator dials 127.0.0.1, where the client listens;
# E2E_DNS_IPV4 and E2E_DNS_IPV6 change the A and AAAA answers.
e2e_start_challtestsrv() {
  pebble-challtestsrv -defaultIPv4 "${E2E_DNS_IPV4-127.0.0.1}" \
    -defaultIPv6 "${E2E_DNS_IPV6-}" \
    -dns01 "127.0.0.1:$PEBBLE_DNS_PORT" -http01 '' -https01 '' \
    -tlsalpn01 '' -management "127.0.0.1:$PEBBLE_CHALLTESTSRV_PORT" \
    </dev/null >>"$PEBBLE_WORKDIR/challtestsrv.log" 2>&1 &
  E2E_PIDS+=("$!:pebble-challtestsrv")
}

# Starts Pebble without its random validation sleep. Nonce rejection and
# authz reuse keep Pebble's defaults unless the caller exported them.
# E2E_PEBBLE_DNS_SERVER=ADDR:PORT makes Pebble resolve through that server
# (a real authoritative one for DNS-01) instead of pebble-challtestsrv.
# E2E_PEBBLE_SLEEP=1 keeps the sleep: each validation then waits a random
# 0 to PEBBLE_VA_SLEEPTIME-1 seconds (Pebble's default for it: 5).
e2e_start_pebble() {
  local nosleep=1
  [[ ${E2E_PEBBLE_SLEEP:-0} == 1 ]] && nosleep=''
  PEBBLE_VA_NOSLEEP=$nosleep \
    pebble -config "$PEBBLE_WORKDIR/pebble-config.json" \
    -dnsserver "${E2E_PEBBLE_DNS_SERVER:-127.0.0.1:$PEBBLE_DNS_PORT}" \
    </dev/null >>"$PEBBLE_WORKDIR/pebble.log" 2>&1 &
  E2E_PIDS+=("$!:pebble")
}

# Returns 0 once both servers answer, 1 on timeout, 2 if one died.
e2e_wait_ready() {
  local i end=$(( SECONDS + E2E_START_TIMEOUT ))
  for (( i = 0; i < 200 && SECONDS < end; i++ )); do
    e2e_pids_alive || return 2
    if e2e_curl -o "$PEBBLE_WORKDIR/directory.json" "$PEBBLE_DIRECTORY" \
        2>/dev/null && grep -q newOrder "$PEBBLE_WORKDIR/directory.json" &&
      curl --silent --noproxy '*' --max-time 3 -o /dev/null \
        "$PEBBLE_CHALLTESTSRV/" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Pebble makes a new root at every start: fetch the one of this run.
e2e_fetch_roots() {
  e2e_curl -o "$PEBBLE_ROOT" "$PEBBLE_MGMT/roots/0" &&
    e2e_curl -o "$PEBBLE_INTERMEDIATE" "$PEBBLE_MGMT/intermediates/0" ||
    return 1
  grep -q 'BEGIN CERTIFICATE' "$PEBBLE_ROOT" &&
    grep -q 'BEGIN CERTIFICATE' "$PEBBLE_INTERMEDIATE"
}

e2e_show_logs() {
  local f dir=${PEBBLE_WORKDIR:-/nonexistent}
  for f in "$dir/challtestsrv.log" "$dir/pebble.log"; do
    [[ -s $f ]] || continue
    printf -- '--- last lines of %s\n' "$f" >&2
    tail -n 15 "$f" >&2
  done
  return 0
}

# e2e_pebble_attempt N: start attempt N with fresh ports; 0 when both
# servers answer.
e2e_pebble_attempt() {
  local rc=0 n=$1
  e2e_pebble_ports
  e2e_pebble_config "$PEBBLE_WORKDIR/pebble-config.json"
  e2e_start_challtestsrv
  e2e_start_pebble
  e2e_wait_ready || rc=$?
  if (( rc == 0 )); then
    return 0
  fi
  if (( rc == 2 )); then
    e2e_log "Pebble start attempt $n failed: a server exited"
  else
    e2e_log "Pebble start attempt $n failed: no answer in time"
  fi
  e2e_show_logs
  pebble_stop
  return 1
}

# pebble_start WORKDIR: a CA, Pebble and its DNS server on 127.0.0.1, all
# files and logs in WORKDIR. Exports what clients and tests need:
#   PEBBLE_DIRECTORY  ACME directory URL
#   PEBBLE_CA_FILE    CA that signed Pebble's TLS certificate
#   PEBBLE_ROOT       Pebble's issuing root of this run (and
#   PEBBLE_INTERMEDIATE)
#   PEBBLE_HTTP_PORT  port where Pebble fetches HTTP-01 tokens
#   PEBBLE_MGMT       management URL; PEBBLE_CHALLTESTSRV its DNS server's
#   PEBBLE_BLOCKED_DOMAIN  a name Pebble refuses by policy
# E2E_PEBBLE_EAB=1 makes accounts need EAB (PEBBLE_EAB_KID/_HMAC_KEY).
pebble_start() {
  local attempt
  [[ -n ${1:-} ]] || fail "pebble_start needs a work directory"
  mkdir -p "$1"
  PEBBLE_WORKDIR=$(cd "$1" && pwd)
  PEBBLE_CA_FILE="$PEBBLE_WORKDIR/tls-ca.pem"
  PEBBLE_ROOT="$PEBBLE_WORKDIR/pebble-root.pem"
  PEBBLE_INTERMEDIATE="$PEBBLE_WORKDIR/pebble-intermediate.pem"
  PEBBLE_BLOCKED_DOMAIN=blocked.example.net
  PEBBLE_EAB_KID=acmekit-kid
  PEBBLE_EAB_HMAC_KEY=$(e2e_eab_key)
  e2e_make_ca "$PEBBLE_WORKDIR" tls-ca
  e2e_make_server_cert "$PEBBLE_WORKDIR" tls-ca
  # Retried because a port can still be taken between pick and bind.
  for attempt in 1 2 3; do
    if e2e_pebble_attempt "$attempt"; then
      e2e_fetch_roots || { e2e_show_logs; fail "could not fetch roots"; }
      export PEBBLE_WORKDIR PEBBLE_DIRECTORY PEBBLE_CA_FILE PEBBLE_ROOT \
        PEBBLE_INTERMEDIATE PEBBLE_HTTP_PORT PEBBLE_MGMT PEBBLE_PORT \
        PEBBLE_MGMT_PORT PEBBLE_TLS_PORT PEBBLE_DNS_PORT \
        PEBBLE_CHALLTESTSRV PEBBLE_BLOCKED_DOMAIN PEBBLE_EAB_KID \
        PEBBLE_EAB_HMAC_KEY
      e2e_log "Pebble up at $PEBBLE_DIRECTORY (HTTP-01 port" \
        "$PEBBLE_HTTP_PORT, DNS 127.0.0.1:$PEBBLE_DNS_PORT)"
      return 0
    fi
  done
  fail "Pebble did not start in 3 attempts; logs in $PEBBLE_WORKDIR"
}

# pebble_stop: stops exactly the servers pebble_start started. Safe to call
# twice (from the test and from its EXIT trap).
pebble_stop() {
  local entry
  for entry in "${E2E_PIDS[@]}"; do
    e2e_stop_pid "${entry%%:*}" "${entry#*:}"
  done
  E2E_PIDS=()
}

# --- test scaffolding -----------------------------------------------------

# e2e_cli_path ARG: the CLI from $1, else $ACMEKIT_CLI, else build/.
e2e_cli_path() {
  local cli=${1:-${ACMEKIT_CLI:-}}
  if [[ -z $cli ]]; then
    cli="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
    cli+=/build/examples/acmekit-cli
  fi
  [[ -x $cli ]] || fail "acmekit-cli not found or not executable: $cli"
  printf '%s\n' "$cli"
}

# Runs at exit: stops the servers, keeps the work directory on failure
# (or with E2E_KEEP=1) so that its logs can be read.
# e2e_cleanup [STATUS]: the exit status is STATUS, or that of the command
# that ended the script; traps that do more first pass it on explicitly.
e2e_cleanup() {
  local rc=${1:-$?}
  pebble_stop
  if [[ -n ${E2E_TMP:-} && -d $E2E_TMP ]]; then
    if (( rc != 0 )) || [[ ${E2E_KEEP:-0} == 1 ]]; then
      (( rc == 0 )) || e2e_show_logs
      e2e_log "work directory kept: $E2E_TMP"
    else
      rm -rf -- "$E2E_TMP"
    fi
  fi
  exit "$rc"
}

# e2e_begin NAME: a temp work directory in E2E_TMP and traps that stop the
# servers on any exit, signals included.
e2e_begin() {
  E2E_NAME=$1
  E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/acmekit-$1.XXXXXX")
  trap e2e_cleanup EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# --- checks on issued files -----------------------------------------------

# e2e_split_chain FULLCHAIN DIR: DIR/leaf.pem is the first certificate,
# DIR/rest.pem the others; prints how many certificates there were.
e2e_split_chain() {
  awk -v leaf="$2/leaf.pem" -v rest="$2/rest.pem" '
    /-----BEGIN CERTIFICATE-----/ { n++ }
    n == 1 { print > leaf }
    n > 1 { print > rest }
    END { print n + 0 }' "$1"
}

# check_chain FULLCHAIN ROOT: the leaf comes first, is no CA, and verifies
# for TLS server use through the intermediates up to ROOT alone.
check_chain() {
  local chain=$1 root=$2 dir n out
  [[ -s $chain ]] || fail "no certificate chain at $chain"
  dir=$(mktemp -d "${E2E_TMP:-${TMPDIR:-/tmp}}/chain.XXXXXX")
  n=$(e2e_split_chain "$chain" "$dir")
  (( n >= 2 )) || fail "$chain holds $n certificate(s), expected leaf" \
    "and intermediate(s)"
  if openssl x509 -in "$dir/leaf.pem" -noout -ext basicConstraints \
      2>/dev/null | grep -q 'CA:TRUE'; then
    fail "first certificate of $chain is a CA: the leaf must come first"
  fi
  # -no-CApath/-no-CAstore: trust ROOT only, never the system store.
  out=$(openssl verify -no-CApath -no-CAstore -CAfile "$root" \
    -untrusted "$dir/rest.pem" -purpose sslserver "$dir/leaf.pem" 2>&1) ||
    fail "chain does not verify against $root: $out"
  rm -rf -- "$dir"
}

# cert_sans CERT: the subjectAltName entries of the first certificate in
# CERT, one per line, sorted ("DNS:name").
cert_sans() {
  openssl x509 -in "$1" -noout -ext subjectAltName |
    tail -n +2 | tr ',' '\n' | sed 's/^[[:space:]]*//' | grep . | sort
}

# check_sans CERT NAME...: the DNS SANs are exactly the NAMEs.
check_sans() {
  local cert=$1 want got
  shift
  want=$(printf 'DNS:%s\n' "$@" | sort -u)
  got=$(cert_sans "$cert") || fail "no subjectAltName in $cert"
  [[ $got == "$want" ]] ||
    fail "SANs of $cert are [${got//$'\n'/ }], expected [${want//$'\n'/ }]"
}

# check_mode FILE MODE: octal permission bits as stat prints them (600).
check_mode() {
  local mode
  [[ -f $1 ]] || fail "missing file $1"
  mode=$(stat -L -c %a "$1") # through a link to the file itself
  [[ $mode == "$2" ]] || fail "$1 has mode $mode, expected $2"
}

# e2e_account_key OUT: where the CLI's storage in OUT keeps the account key
# for the Pebble started last (the directory URL names the folder).
e2e_account_key() {
  local ca=${PEBBLE_DIRECTORY#*://}
  ca=$(printf '%s' "$ca" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9._-' '_')
  printf '%s/accounts/%s/account.key\n' "$1" "$ca"
}

# e2e_pubkey FILE: the public key of a private key or a certificate.
e2e_pubkey() {
  if grep -q 'BEGIN CERTIFICATE' "$1"; then
    openssl x509 -in "$1" -noout -pubkey
  else
    openssl pkey -in "$1" -pubout
  fi
}

# check_same_key A B / check_different_keys A B: compare public keys of
# private keys or certificates.
check_same_key() {
  local a b
  a=$(e2e_pubkey "$1") || fail "cannot read a key from $1"
  b=$(e2e_pubkey "$2") || fail "cannot read a key from $2"
  [[ $a == "$b" ]] || fail "$1 and $2 do not hold the same key"
}

check_different_keys() {
  local a b
  a=$(e2e_pubkey "$1") || fail "cannot read a key from $1"
  b=$(e2e_pubkey "$2") || fail "cannot read a key from $2"
  [[ $a != "$b" ]] || fail "$1 and $2 hold the same key"
}

# check_empty_dir DIR: nothing at all inside, hidden files included.
check_empty_dir() {
  local left
  left=$(find "$1" -mindepth 1 -printf '%P\n' 2>/dev/null | head -n 20)
  [[ -z $left ]] || fail "$1 is not empty: ${left//$'\n'/ }"
}

# e2e_ms: milliseconds since the epoch, for timings.
e2e_ms() {
  local t
  t=$(date +%s%N)
  printf '%s\n' $(( t / 1000000 ))
}

# --- running the CLI ------------------------------------------------------

# Contact address for test accounts; Pebble only checks its syntax.
: "${E2E_EMAIL:=e2e@device.example.com}"

# e2e_cli_issue LOG DIRECTORY CA_FILE OUT NAME...: one `acmekit-cli issue`
# (the CLI in E2E_CLI), bounded by timeout, answering HTTP-01 on
# PEBBLE_HTTP_PORT. Its stdout and stderr go to LOG.out and LOG.err, so
# that nothing lands in OUT; returns the CLI's exit status (124: timeout).
e2e_cli_issue() {
  local log=$1 dir=$2 ca=$3 out=$4 n rc=0
  shift 4
  local args=(issue --directory "$dir" --ca-file "$ca" --email "$E2E_EMAIL"
    --http-port "$PEBBLE_HTTP_PORT" --out "$out")
  # Pebble's directory names terms of service; the CLI wants them agreed.
  if [[ ${E2E_AGREE_TOS:-1} == 1 ]]; then
    args+=(--agree-tos)
  fi
  # Listen on loopback only, whatever the default is; E2E_HTTP_ADDRESS=''
  # leaves the option out to test the CLI's own default.
  if [[ -n ${E2E_HTTP_ADDRESS-127.0.0.1} ]]; then
    args+=(--http-address "${E2E_HTTP_ADDRESS-127.0.0.1}")
  fi
  for n in "$@"; do
    args+=(--domain "$n")
  done
  # E2E_EXTRA_ARGS: more options, split on spaces (no quoting inside).
  # shellcheck disable=SC2206
  args+=(${E2E_EXTRA_ARGS:-})
  timeout -k 5 "${E2E_CLI_TIMEOUT:-120}" "$E2E_CLI" "${args[@]}" \
    >"$log.out" 2>"$log.err" || rc=$?
  return "$rc"
}

# e2e_issue LOG OUT NAME...: e2e_cli_issue against the running Pebble.
e2e_issue() {
  local log=$1 out=$2
  shift 2
  e2e_cli_issue "$log" "$PEBBLE_DIRECTORY" "$PEBBLE_CA_FILE" "$out" "$@"
}

# e2e_show_run LOG: the CLI's output of one run, for failure messages.
e2e_show_run() {
  local f
  for f in "$1.out" "$1.err"; do
    printf -- '--- %s\n' "$f" >&2
    tail -n 30 "$f" >&2 || true
  done
}

# --- Pebble's log ---------------------------------------------------------

# Pebble logs each newOrder request as `POST /order-plz -> calling
# handler()` (the path of "newOrder" in its directory) and each order it
# creates as `Added order "ID" to the db`; a request it refuses, such as
# one with a nonce it rejected on purpose, leaves the first line only.
# The readers below take a MARK from e2e_pebble_log_mark and look only at
# what Pebble logged after it (all of the log without one).

# e2e_pebble_log_mark: how many lines Pebble's log holds now.
e2e_pebble_log_mark() {
  wc -l <"$PEBBLE_WORKDIR/pebble.log"
}

# e2e_pebble_log_since [MARK]: Pebble's log after line MARK.
e2e_pebble_log_since() {
  tail -n "+$(( ${1:-0} + 1 ))" "$PEBBLE_WORKDIR/pebble.log"
}

# e2e_pebble_orders [MARK]: how many orders Pebble created.
e2e_pebble_orders() {
  e2e_pebble_log_since "${1:-0}" | grep -c ' Added order "' || true
}

# e2e_pebble_order_requests [MARK]: how many newOrder requests Pebble got,
# refused ones included.
e2e_pebble_order_requests() {
  local url
  url=$(grep -oE '"newOrder": *"[^"]+"' "$PEBBLE_WORKDIR/directory.json") ||
    fail "no newOrder URL in $PEBBLE_WORKDIR/directory.json"
  url=${url%\"}
  url=${url##*\"}
  e2e_pebble_log_since "${1:-0}" | grep -cF " POST /${url#*://*/} -> " ||
    true
}

# e2e_cert_serial CERT: the serial of the first certificate in CERT, the
# way Pebble logs serials (lower-case hex, no leading zeros).
e2e_cert_serial() {
  local s
  s=$(openssl x509 -in "$1" -noout -serial 2>/dev/null) || return 1
  s=${s#serial=}
  printf '%s\n' "$s" | tr 'A-F' 'a-f' | sed 's/^0*//'
}

# check_issued_by_pebble CHAIN MARK [ORDER-ID]: Pebble logged the leaf of
# CHAIN as issued after line MARK of its log (for that order, if given).
check_issued_by_pebble() {
  local serial order=${3:-[^ ]+}
  serial=$(e2e_cert_serial "$1") || fail "no certificate in $1"
  e2e_pebble_log_since "$2" |
    grep -qE " Issued certificate serial 0*$serial for order $order\$" ||
    fail "the leaf of $1 (serial $serial) is not one that Pebble issued" \
      "after line $2 of its log${3:+ for order $3}"
}
