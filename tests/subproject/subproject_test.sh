#!/usr/bin/env bash
# subproject_test.sh [--httplib=FEATURE] - a meson project of one's own
# can take acmekit as a subproject. A copy of the consumer in
# tests/subproject gets this repository as subprojects/acmekit (a symbolic
# link, so that the working tree as it is now is what gets built) and is
# configured so that no installed acmekit and no download can stand in:
# --wrap-mode=nofallback with --force-fallback-for=acmekit. The test then
# checks that meson took acmekit from the subproject, that the subproject
# brought the library alone (no tests, no examples), and that the
# consumer, built and run, prints the version of the library it loads
# from the subproject's build. --httplib=enabled|disabled|auto is passed
# on as acmekit's option httplib (the firmware builds it disabled).
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
: "${JOBS:=2}"
httplib=auto
case ${1:-} in
  '') ;;
  --httplib=enabled | --httplib=disabled | --httplib=auto)
    httplib=${1#--httplib=} ;;
  *)
    echo "usage: subproject_test.sh [--httplib=enabled|disabled|auto]" >&2
    exit 2 ;;
esac

e2e_begin subproject
consumer=$E2E_TMP/consumer
build=$E2E_TMP/build
mkdir -p "$consumer/subprojects"
cp "$root/tests/subproject/meson.build" "$root/tests/subproject/main.c" \
  "$consumer/"
ln -s "$root" "$consumer/subprojects/acmekit"

# run_logged LOG SECONDS COMMAND...: COMMAND bounded in time, its output
# in LOG and, when it fails, on stderr.
run_logged() {
  local log=$1 secs=$2 rc=0
  shift 2
  timeout -k 10 "$secs" "$@" >"$log" 2>&1 || rc=$?
  if (( rc != 0 )); then
    tail -n 40 "$log" >&2
    (( rc == 124 )) && e2e_log "timed out after $secs s: $*"
  fi
  return "$rc"
}

# meson test puts the build tree's library on LD_LIBRARY_PATH; the
# consumer must find the subproject's one by itself.
unset LD_LIBRARY_PATH

e2e_log "meson setup (acmekit as a subproject, httplib $httplib)"
run_logged "$E2E_TMP/setup.log" 300 meson setup "$build" "$consumer" \
  --wrap-mode=nofallback --force-fallback-for=acmekit \
  "-Dacmekit:httplib=$httplib" ||
  fail "meson setup of the consumer failed"
grep -q '^Executing subproject acmekit' "$E2E_TMP/setup.log" ||
  fail "meson did not use the subproject (see $E2E_TMP/setup.log)"
grep -qE '^Dependency acmekit found: YES .*\(overridden\)' \
  "$E2E_TMP/setup.log" ||
  fail "dependency('acmekit') was not the subproject's override"

# Only the library may come along: a subproject's tests would run in the
# consumer's `meson test`, its examples be installed by its install. So
# the consumer must be the one program, and no test may be registered.
meson introspect "$build" --targets >"$E2E_TMP/targets.json" ||
  fail "meson introspect --targets failed"
meson introspect "$build" --tests >"$E2E_TMP/tests.json" ||
  fail "meson introspect --tests failed"
programs=$(python3 -c 'import json, sys
print(" ".join(sorted(t["name"] for t in json.load(open(sys.argv[1]))
                      if t["type"] == "executable")))' \
  "$E2E_TMP/targets.json") || fail "cannot read $E2E_TMP/targets.json"
[[ $programs == consumer ]] ||
  fail "the subproject builds programs of its own: $programs"
if grep -q '"name"' "$E2E_TMP/tests.json"; then
  fail "the subproject registers tests in the consumer's meson test:" \
    "$(grep -oE '"name": "[^"]+"' "$E2E_TMP/tests.json" | head -n 5)"
fi

e2e_log "building the consumer and libacmekit ($JOBS jobs)"
run_logged "$E2E_TMP/build.log" 1200 meson compile -C "$build" \
  -j "$JOBS" || fail "building the consumer failed"

exe=$build/consumer
lib=$(ldd "$exe" | awk '$1 == "libacmekit.so.0" { print $3 }')
[[ $lib == "$build/subprojects/acmekit/capi/libacmekit.so.0" ]] ||
  fail "the consumer loads libacmekit.so.0 from '${lib:-nowhere}'," \
    "not from the subproject's build"

# The version meson read from the subproject's project().
want=$(meson introspect "$build" --projectinfo | python3 -c 'import json
import sys
info = json.load(sys.stdin)
print(next(s["version"] for s in info["subprojects"]
           if s["name"] == "acmekit"))') ||
  fail "meson introspect --projectinfo names no subproject acmekit"
out=$(timeout -k 5 30 "$exe") || fail "the consumer failed: $out"
[[ $out == "acmekit $want" ]] ||
  fail "the consumer printed '$out', expected 'acmekit $want'"
e2e_log "consumer: $out"
e2e_log "PASS"
