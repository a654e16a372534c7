# shellcheck shell=bash
# tests/e2e/knot.sh - a Knot DNS server on 127.0.0.1 for DNS-01 tests.
# Source it after lib.sh; it defines functions and starts nothing by
# itself.
#
# knot_start serves one zone from a zone file and accepts RFC 2136 updates
# signed with a fresh TSIG key (hmac-sha256). Every query goes to the
# server started here, never to the machine's resolver, and every wait is
# bounded in tries and in seconds.

# shellcheck disable=SC2034
KNOT_PACKAGES=(knot knot-dnsutils)

# Seconds that knotd may take to answer after the start.
: "${KNOT_START_TIMEOUT:=20}"

KNOT_PID=

# Names below the zone that get an A record of their own, because the
# zone's wildcard does not cover names under an existing node.
KNOT_DEFAULT_NAMES=(test device www.device)

# knot_has_ipv6: true when the loopback interface has ::1.
knot_has_ipv6() {
  [[ -r /proc/net/if_inet6 ]] &&
    grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6
}

# knot_zone_file FILE ZONE NAME...: SOA, NS ns.ZONE with its address, a
# wildcard, and an A record for each NAME (relative to ZONE).
knot_zone_file() {
  local file=$1 zone=$2 name
  shift 2
  {
    # shellcheck disable=SC2016 # zone file directives, not variables
    printf '$ORIGIN %s.\n$TTL 60\n' "$zone"
    printf '@ SOA ns.%s. hostmaster.%s. 1 3600 600 86400 60\n' "$zone" "$zone"
    printf '@ NS ns.%s.\n' "$zone"
    printf 'ns A 127.0.0.1\n'
    printf '* A 127.0.0.1\n'
    for name in "$@"; do
      printf '%s A 127.0.0.1\n' "$name"
    done
  } >"$file"
}

# knot_config FILE DIR ZONE PORT SECRET: knot.conf with everything under
# DIR. Updates to ZONE need the key KNOT_TSIG_NAME.
knot_config() {
  local file=$1 dir=$2 zone=$3 port=$4 secret=$5 listen
  listen="127.0.0.1@$port"
  if knot_has_ipv6; then
    listen+=", ::1@$port"
  fi
  # The file holds the secret, so it is private like tsig.secret.
  (umask 077 && cat >"$file") <<EOF
server:
    rundir: "$dir/run"
    listen: [ $listen ]

log:
  - target: stderr
    any: info

database:
    storage: "$dir/db"

key:
  - id: $KNOT_TSIG_NAME
    algorithm: hmac-sha256
    secret: $secret

acl:
  - id: acmekit-update
    key: $KNOT_TSIG_NAME
    action: update

template:
  - id: default
    storage: "$dir/zones"
    file: "%s.zone"

zone:
  - domain: $zone
    acl: acmekit-update
EOF
}

# knot_dig ARGS...: kdig at the server started here over TCP (whole
# answers, no truncation warnings), bounded in time.
knot_dig() {
  kdig "@$KNOT_ADDR" -p "$KNOT_PORT" +tcp +time=2 +retry=1 "$@"
}

# Returns 0 once knotd answers for the zone, 1 on timeout, 2 if it died.
knot_wait_ready() {
  local zone=$1 i end=$(( SECONDS + KNOT_START_TIMEOUT ))
  for (( i = 0; i < 200 && SECONDS < end; i++ )); do
    e2e_pid_running "$KNOT_PID" || return 2
    if [[ -n $(kdig "@$KNOT_ADDR" -p "$KNOT_PORT" +time=1 +retry=0 +short \
        SOA "$zone" 2>/dev/null) ]]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

knot_show_log() {
  local log=${KNOT_DIR:-/nonexistent}/knotd.log
  if [[ -s $log ]]; then
    printf -- '--- last lines of %s\n' "$log" >&2
    tail -n 15 "$log" >&2
  fi
  return 0
}

# knot_attempt N ZONE: one start on a fresh port; 0 when knotd answers.
knot_attempt() {
  local n=$1 zone=$2 rc=0
  e2e_pick_port KNOT_PORT
  knot_config "$KNOT_DIR/knot.conf" "$KNOT_DIR" "$zone" "$KNOT_PORT" \
    "$(cat "$KNOT_TSIG_SECRET_FILE")"
  knotd -c "$KNOT_DIR/knot.conf" </dev/null >>"$KNOT_DIR/knotd.log" 2>&1 &
  KNOT_PID=$!
  knot_wait_ready "$zone" || rc=$?
  if (( rc == 0 )); then
    return 0
  fi
  if (( rc == 2 )); then
    e2e_log "Knot start attempt $n failed: knotd exited"
  else
    e2e_log "Knot start attempt $n failed: no answer in time"
  fi
  knot_show_log
  knot_stop
  return 1
}

# knot_start DIR ZONE [NAME...]: knotd on 127.0.0.1 (and ::1 when the
# machine has it) serving ZONE, files and log in DIR. NAMEs, relative to
# ZONE, get A records (default: test, device, www.device). Exports:
#   KNOT_ADDR, KNOT_PORT   where it listens (KNOT_ADDR6 is ::1 or empty)
#   KNOT_TSIG_NAME         the update key's name
#   KNOT_TSIG_SECRET_FILE  its secret in base64, mode 0600
#   KNOT_PID               the knotd process
knot_start() {
  local dir=${1:-} zone=${2:-} attempt
  [[ -n $dir && -n $zone ]] || fail "knot_start needs DIR and ZONE"
  shift 2
  (( $# > 0 )) || set -- "${KNOT_DEFAULT_NAMES[@]}"
  e2e_ensure_packages "${KNOT_PACKAGES[@]}"

  # Knot fails every update with SERVFAIL when its database folder is
  # missing, so all folders exist before it starts.
  mkdir -p "$dir"
  KNOT_DIR=$(cd "$dir" && pwd)
  mkdir -p "$KNOT_DIR/db" "$KNOT_DIR/run" "$KNOT_DIR/zones"
  chmod 700 "$KNOT_DIR/db" "$KNOT_DIR/run" "$KNOT_DIR/zones"
  knot_zone_file "$KNOT_DIR/zones/$zone.zone" "$zone" "$@"

  KNOT_ADDR=127.0.0.1
  KNOT_ADDR6=
  knot_has_ipv6 && KNOT_ADDR6=::1
  KNOT_TSIG_NAME=acmekit-e2e-key
  KNOT_TSIG_SECRET_FILE=$KNOT_DIR/tsig.secret
  (umask 077 && head -c 32 /dev/urandom | base64 -w0 >"$KNOT_TSIG_SECRET_FILE")
  printf '%s\n' "$KNOT_TSIG_NAME" >"$KNOT_DIR/tsig.name"

  # Retried because a port can still be taken between pick and bind.
  for attempt in 1 2 3; do
    if knot_attempt "$attempt" "$zone"; then
      export KNOT_DIR KNOT_ADDR KNOT_ADDR6 KNOT_PORT KNOT_TSIG_NAME \
        KNOT_TSIG_SECRET_FILE KNOT_PID
      e2e_log "Knot up at $KNOT_ADDR@$KNOT_PORT for $zone (PID $KNOT_PID)"
      return 0
    fi
  done
  fail "Knot did not start in 3 attempts; log in $KNOT_DIR/knotd.log"
}

# knot_stop: stops the knotd that knot_start started, and only that one.
# Safe to call twice.
knot_stop() {
  if [[ -n ${KNOT_PID:-} ]]; then
    e2e_stop_pid "$KNOT_PID" knotd
    KNOT_PID=
  fi
}

# knot_txt NAME: the TXT values at NAME, one per line, unquoted, the
# character-strings of each record joined. Fails when knotd does not
# answer or answers other than NOERROR / NXDOMAIN.
knot_txt() {
  local out status
  out=$(knot_dig TXT "$1") || fail "kdig got no answer for TXT $1"
  status=$(sed -n 's/.*status: \([A-Z]*\);.*/\1/p' <<<"$out" | head -n 1)
  [[ $status == NOERROR || $status == NXDOMAIN ]] ||
    fail "kdig TXT $1: status ${status:-unknown}"
  # Answer lines: NAME TTL IN TXT "part" "part"...; the values used in
  # the tests hold no quotes or backslashes.
  awk '/^;; ANSWER SECTION:/ { answer = 1; next }
       /^;;/ || /^$/ { answer = 0 }
       answer && $4 == "TXT" {
         line = $0
         sub(/^[^"]*"/, "", line)
         sub(/"[[:space:]]*$/, "", line)
         gsub(/"[[:space:]]+"/, "", line)
         print line
       }' <<<"$out"
}

# knot_cleanup: an EXIT trap that stops Knot, then does what lib.sh's
# e2e_cleanup does, with the script's exit status.
knot_cleanup() {
  local rc=$?
  if (( rc != 0 )); then
    knot_show_log
  fi
  knot_stop
  e2e_cleanup "$rc"
}

# knot_begin NAME: e2e_begin, with an EXIT trap that stops Knot as well.
knot_begin() {
  e2e_begin "$1"
  trap knot_cleanup EXIT
}
