#!/usr/bin/env bash
# webroot.sh [ACMEKIT_CLI] - HTTP-01 through a real web server that owns
# the validation port, as on an appliance whose UI already runs one:
# lighttpd on 127.0.0.1 serves a document root, acmekit-cli --webroot
# writes the token file there, Pebble fetches it through lighttpd, and
# afterwards no challenge file or folder is left. With
# --keep-challenge-files the file stays and lighttpd serves exactly the
# key authorization. A file of the site's own under the token folder is
# left untouched.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_begin webroot
# shellcheck disable=SC2034 # read by e2e_cli_issue in lib.sh
E2E_CLI=$(e2e_cli_path "${1:-}")
command -v lighttpd >/dev/null || e2e_ensure_packages lighttpd
name=device.example.com
# Each run uses a name of its own: Pebble may hand back a valid
# authorization for a name it validated before, and then no token file
# would be written at all.
export PEBBLE_AUTHZREUSE=0
pebble_start "$E2E_TMP/pebble"

# lighttpd on the port Pebble validates on, serving www/.
www=$E2E_TMP/www
mkdir -p "$www" "$E2E_TMP/lighttpd"
printf 'device UI\n' >"$www/index.html"
cat >"$E2E_TMP/lighttpd/lighttpd.conf" <<EOF
server.document-root = "$www"
server.bind = "127.0.0.1"
server.port = $PEBBLE_HTTP_PORT
server.errorlog = "$E2E_TMP/lighttpd/error.log"
server.modules = ("mod_accesslog")
accesslog.filename = "$E2E_TMP/lighttpd/access.log"
mimetype.assign = ("" => "text/plain")
EOF
lighttpd -D -f "$E2E_TMP/lighttpd/lighttpd.conf" </dev/null \
  >>"$E2E_TMP/lighttpd/stdout.log" 2>&1 &
E2E_PIDS+=("$!:lighttpd")
for (( i = 0; i < 100; ++i )); do
  curl -s --noproxy '*' -o /dev/null --max-time 1 \
    "http://127.0.0.1:$PEBBLE_HTTP_PORT/index.html" && break
  sleep 0.1
done
curl -s --noproxy '*' --max-time 2 \
  "http://127.0.0.1:$PEBBLE_HTTP_PORT/index.html" | grep -q 'device UI' ||
  fail "lighttpd does not serve $www"

# 1. Issued through lighttpd; nothing of the challenge is left.
out=$E2E_TMP/out
mkdir -m 700 "$out"
E2E_HTTP_ADDRESS='' E2E_EXTRA_ARGS="--webroot $www" \
  e2e_issue "$E2E_TMP/run" "$out" "$name" ||
  { e2e_show_run "$E2E_TMP/run"; fail "issue in webroot mode failed"; }
check_chain "$out/fullchain.pem" "$PEBBLE_ROOT"
check_sans "$out/fullchain.pem" "$name"
# lighttpd writes its access log in batches: give it a moment.
served_re='GET /.well-known/acme-challenge/[A-Za-z0-9_-]* HTTP/1.1" 200'
for (( i = 0; i < 50; ++i )); do
  grep -q "$served_re" "$E2E_TMP/lighttpd/access.log" 2>/dev/null && break
  sleep 0.1
done
grep -q "$served_re" "$E2E_TMP/lighttpd/access.log" ||
  fail "lighttpd never served a token (see $E2E_TMP/lighttpd/access.log)"
left=$(find "$www" -mindepth 1 ! -name index.html)
[[ -z $left ]] || fail "left in the webroot: $left"
e2e_log "ok   issued through lighttpd, webroot clean afterwards"

# 2. Kept files stay and hold the key authorization.
mkdir -m 700 "$E2E_TMP/out-keep" "$E2E_TMP/out-third"
E2E_HTTP_ADDRESS='' E2E_EXTRA_ARGS="--webroot $www --keep-challenge-files" \
  e2e_issue "$E2E_TMP/keep" "$E2E_TMP/out-keep" "keep.$name" ||
  { e2e_show_run "$E2E_TMP/keep"; fail "issue keeping the files failed"; }
kept=$(find "$www/.well-known/acme-challenge" -type f)
[[ $(wc -l <<<"$kept") == 1 ]] || fail "expected one kept file: $kept"
token=$(basename "$kept")
served=$(curl -s --noproxy '*' --max-time 2 \
  "http://127.0.0.1:$PEBBLE_HTTP_PORT/.well-known/acme-challenge/$token")
[[ $served == "$token".* ]] ||
  fail "lighttpd serves '$served' for the kept token"
[[ $(stat -c %a "$kept") == 644 ]] || fail "token file is not mode 644"
e2e_log "ok   --keep-challenge-files kept $token, served by lighttpd"

# 3. The site's own file in the token folder survives a run.
printf 'site file\n' >"$www/.well-known/acme-challenge/site-own"
E2E_HTTP_ADDRESS='' E2E_EXTRA_ARGS="--webroot $www" \
  e2e_issue "$E2E_TMP/third" "$E2E_TMP/out-third" "third.$name" ||
  { e2e_show_run "$E2E_TMP/third"; fail "third issue failed"; }
[[ $(cat "$www/.well-known/acme-challenge/site-own") == 'site file' ]] ||
  fail "the site's own file was changed"
[[ $(find "$www/.well-known/acme-challenge" -type f | wc -l) == 2 ]] ||
  fail "this run's token file was left behind"
e2e_log "ok   the site's own file left alone"

pebble_stop
e2e_log "PASS"
