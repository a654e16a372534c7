#!/usr/bin/env bash
# proxy.sh [ACMEKIT_CLI] - issuance through a real HTTP proxy (tinyproxy,
# on 127.0.0.1 only, allowed to CONNECT to Pebble's port only):
#   (a) an open proxy: the certificate is issued, and tinyproxy's log
#       shows CONNECT requests to Pebble's port;
#   (b) a proxy with Basic authentication: without credentials the CLI
#       fails with an error that names the proxy and its 407; with them
#       (--proxy-auth-file) it succeeds, and the password appears in no
#       output, --verbose included;
#   (c) the proxy stopped: a non-zero exit and an error that names the
#       proxy's address as the hop that could not be reached.
# Pebble's own validation requests go straight to the CLI's responder;
# only the CLI's requests to the CA take the proxy.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin proxy
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
command -v tinyproxy >/dev/null || e2e_ensure_packages tinyproxy
name=device.example.com

# Seconds that tinyproxy may take to listen after the start.
: "${E2E_PROXY_START_TIMEOUT:=10}"

# tinyproxy_config FILE PORT LOG [USER PASSWORD]: listens on 127.0.0.1
# only, accepts clients from 127.0.0.1 only and tunnels to Pebble's port
# only; with USER, every client must send those Basic credentials.
tinyproxy_config() {
  local file=$1 port=$2 log=$3 user=${4:-} password=${5:-}
  {
    printf '%s\n' "Port $port" 'Listen 127.0.0.1' 'Timeout 30' \
      "LogFile \"$log\"" 'LogLevel Info' 'MaxClients 20' \
      'Allow 127.0.0.1' "ConnectPort $PEBBLE_PORT" 'DisableViaHeader Yes'
    if [[ -n $user ]]; then
      printf 'BasicAuth %s %s\n' "$user" "$password"
    fi
  } >"$file"
}

# tinyproxy_start NAME [USER PASSWORD]: a tinyproxy in the foreground (-d)
# with its config and logs in E2E_TMP/NAME.*; its PID joins E2E_PIDS, so
# that the EXIT trap stops it. Sets PROXY_PORT and PROXY_PID. Retried with
# a fresh port, since one can be taken between pick and bind.
tinyproxy_start() {
  local name=$1 conf=$E2E_TMP/$1.conf log=$E2E_TMP/$1.log attempt i end
  for attempt in 1 2 3; do
    e2e_pick_port PROXY_PORT
    tinyproxy_config "$conf" "$PROXY_PORT" "$log" "${@:2}"
    : >"$log"
    tinyproxy -d -c "$conf" </dev/null >>"$E2E_TMP/$name.out" 2>&1 &
    PROXY_PID=$!
    E2E_PIDS+=("$PROXY_PID:tinyproxy")
    end=$(( SECONDS + E2E_PROXY_START_TIMEOUT ))
    for (( i = 0; i < 200 && SECONDS < end; i++ )); do
      e2e_pid_running "$PROXY_PID" || break
      if e2e_port_in_use "$PROXY_PORT"; then
        e2e_log "$name: tinyproxy $PROXY_PID on 127.0.0.1:$PROXY_PORT"
        return 0
      fi
      sleep 0.1
    done
    e2e_log "$name: tinyproxy start attempt $attempt failed"
    tail -n 5 "$E2E_TMP/$name.out" "$log" >&2 || true
    proxy_stop "$PROXY_PID"
  done
  fail "tinyproxy ($name) did not start in 3 attempts"
}

# proxy_stop PID: stops one tinyproxy of this script and forgets its PID.
proxy_stop() {
  local entry kept=()
  e2e_stop_pid "$1" tinyproxy
  for entry in "${E2E_PIDS[@]}"; do
    [[ ${entry%%:*} == "$1" ]] || kept+=("$entry")
  done
  E2E_PIDS=("${kept[@]}")
}

# accepts PORT: true when something on 127.0.0.1:PORT takes connections.
accepts() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# connects_to LOG: how many CONNECT requests to Pebble's port LOG shows.
connects_to() {
  local want="CONNECT 127\\.0\\.0\\.1:$PEBBLE_PORT HTTP/1\\.[01]"
  grep -cE "Request \\(file descriptor [0-9]+\\): $want\$" "$1" || true
}

# issue_via LOG OUT PROXY-ARGS...: e2e_issue with the proxy options.
issue_via() {
  local log=$1 out=$2
  shift 2
  mkdir -m 700 "$out"
  E2E_EXTRA_ARGS="$*" e2e_issue "$log" "$out" "$name"
}

# expect_failure LOG RC WHAT PATTERN...: the run failed by itself (not by
# timeout or signal), left no certificate, and its stderr matches every
# PATTERN (extended regex).
expect_failure() {
  local log=$1 rc=$2 what=$3 pattern
  shift 3
  (( rc != 0 )) || { e2e_show_run "$log"; fail "$what: the CLI succeeded"; }
  (( rc < 124 )) ||
    { e2e_show_run "$log"; fail "$what: ended by timeout or signal ($rc)"; }
  for pattern in "$@"; do
    grep -qE -- "$pattern" "$log.err" ||
      { e2e_show_run "$log"; fail "$what: stderr does not match /$pattern/"; }
  done
}

pebble_start "$E2E_TMP/pebble"

# (a) An open proxy.
tinyproxy_start open
open_port=$PROXY_PORT
open_pid=$PROXY_PID
rc=0
issue_via "$E2E_TMP/open" "$E2E_TMP/out-open" \
  --proxy "http://127.0.0.1:$open_port" || rc=$?
if (( rc != 0 )); then
  e2e_show_run "$E2E_TMP/open"
  fail "(a) issuance through the open proxy failed with $rc"
fi
check_chain "$E2E_TMP/out-open/fullchain.pem" "$PEBBLE_ROOT"
check_sans "$E2E_TMP/out-open/fullchain.pem" "$name"
n=$(connects_to "$E2E_TMP/open.log")
(( n >= 1 )) ||
  fail "(a) tinyproxy logged no CONNECT to 127.0.0.1:$PEBBLE_PORT"
refused=$(grep -m1 'Refused' "$E2E_TMP/open.log" || true)
[[ -z $refused ]] || fail "(a) tinyproxy refused a request: $refused"
e2e_log "(a) issued through tinyproxy: $n CONNECT(s) to Pebble's port"

# (b) A proxy that wants Basic credentials.
user=acmekit
password=$(openssl rand -hex 12)
tinyproxy_start auth "$user" "$password"
auth_port=$PROXY_PORT
rc=0
issue_via "$E2E_TMP/noauth" "$E2E_TMP/out-noauth" \
  --proxy "http://127.0.0.1:$auth_port" || rc=$?
expect_failure "$E2E_TMP/noauth" "$rc" "(b) without credentials" \
  "proxy 127\.0\.0\.1:$auth_port" '407'
[[ ! -e $E2E_TMP/out-noauth/fullchain.pem ]] ||
  fail "(b) a certificate was written without proxy credentials"
e2e_log "(b) refused without credentials: $(head -n 1 "$E2E_TMP/noauth.err")"

auth_file=$E2E_TMP/proxy-auth
(umask 077 && printf '%s:%s\n' "$user" "$password" >"$auth_file")
before=$(connects_to "$E2E_TMP/auth.log")
rc=0
issue_via "$E2E_TMP/withauth" "$E2E_TMP/out-auth" \
  --proxy "http://127.0.0.1:$auth_port" --proxy-auth-file "$auth_file" \
  --verbose || rc=$?
if (( rc != 0 )); then
  e2e_show_run "$E2E_TMP/withauth"
  fail "(b) issuance with proxy credentials failed with $rc"
fi
check_chain "$E2E_TMP/out-auth/fullchain.pem" "$PEBBLE_ROOT"
(( $(connects_to "$E2E_TMP/auth.log") > before )) ||
  fail "(b) tinyproxy logged no CONNECT for the run with credentials"
# The password, plain or as the Basic token, is in no output and no file
# the CLI wrote.
token=$(printf '%s:%s' "$user" "$password" | base64 -w0)
for f in "$E2E_TMP"/noauth.out "$E2E_TMP"/noauth.err \
  "$E2E_TMP"/withauth.out "$E2E_TMP"/withauth.err; do
  if grep -qF -e "$password" -e "$token" "$f"; then
    fail "(b) the proxy password appears in $f"
  fi
done
if grep -rqF -e "$password" -e "$token" "$E2E_TMP/out-auth"; then
  fail "(b) the proxy password appears under $E2E_TMP/out-auth"
fi
e2e_log "(b) issued with credentials; the password is in no output"

# (c) The proxy stopped: nothing listens at its address any more.
proxy_stop "$open_pid"
! accepts "$open_port" ||
  fail "(c) 127.0.0.1:$open_port still accepts after tinyproxy stopped"
rc=0
E2E_CLI_TIMEOUT=60 issue_via "$E2E_TMP/stopped" "$E2E_TMP/out-stopped" \
  --proxy "http://127.0.0.1:$open_port" || rc=$?
expect_failure "$E2E_TMP/stopped" "$rc" "(c) proxy stopped" \
  "proxy 127\.0\.0\.1:$open_port"
[[ ! -e $E2E_TMP/out-stopped/fullchain.pem ]] ||
  fail "(c) a certificate was written although the proxy was down"
e2e_log "(c) proxy down: $(head -n 1 "$E2E_TMP/stopped.err")"

pebble_stop
e2e_log "PASS"
