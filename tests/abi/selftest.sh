#!/usr/bin/env bash
# selftest.sh REAL REMOVED CHANGED STRUCT ADDED - check_abi.sh can fail,
# and fails for the right reason. Against a baseline taken from REAL
# (libacmekit.so) here, the way scripts/update-abi takes it, check_abi.sh
# must pass REAL and ADDED (one function more), and fail REMOVED
# (acme_version_number no longer exported), CHANGED (acme_version_number
# with another prototype) and STRUCT (acme_client_new taking an
# acme_client_options with a member inserted), each time naming what
# changed. STRUCT also proves that public struct layouts are compared at
# all, i.e. that abidw matched the public header. The mutants come from
# tests/abi/meson.build, linked from REAL's own objects under its SONAME;
# their symbol tables are compared to REAL's first, so that a mutant that
# differs in more than it should cannot pass for a working check.
set -euo pipefail

ABI_NAME=abi_selftest
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/abi/abi_lib.sh
source "$here/abi_lib.sh"

usage='usage: selftest.sh REAL REMOVED CHANGED STRUCT ADDED'
real=${1:?$usage}
removed=${2:?$usage}
changed=${3:?$usage}
struct=${4:?$usage}
added=${5:?$usage}
for f in "$real" "$removed" "$changed" "$struct" "$added"; do
  [[ -f $f ]] || abi_fail "no such library: $f"
done
abi_need_tools
if ! abi_has_debug_info "$real"; then
  abi_log "SKIP: $real has no DWARF, so check_abi.sh cannot run"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/acmekit-abi-selftest.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

# exports LIB: the names LIB defines in its dynamic symbol table.
exports() {
  nm -D --defined-only "$1" | awk 'NF { print $NF }' | sort -u
}

soname() {
  readelf -d -W "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p'
}

want_soname=$(soname "$real")
[[ -n $want_soname ]] || abi_fail "$real has no SONAME"
exports "$real" >"$tmp/real.syms"
for f in acme_version_number acme_client_new; do
  grep -qx "$f" "$tmp/real.syms" ||
    abi_fail "$real does not export $f, which the mutants change:" \
      "update tests/abi/"
done

# same_exports LIB EXPECTED: LIB has REAL's SONAME and exactly the
# symbols in the file EXPECTED.
same_exports() {
  local got
  got=$(soname "$1")
  [[ $got == "$want_soname" ]] ||
    abi_fail "$1 has SONAME '$got', not '$want_soname' like $real"
  exports "$1" >"$tmp/got.syms"
  diff -u "$2" "$tmp/got.syms" >"$tmp/syms.diff" || {
    cat "$tmp/syms.diff" >&2
    abi_fail "$1 differs from $real in more than the mutation"
  }
}

grep -vx acme_version_number "$tmp/real.syms" >"$tmp/removed.syms"
same_exports "$removed" "$tmp/removed.syms"
same_exports "$changed" "$tmp/real.syms"
same_exports "$struct" "$tmp/real.syms"
sort -u "$tmp/real.syms" - <<<acme_abi_selftest_added >"$tmp/added.syms"
same_exports "$added" "$tmp/added.syms"

mkdir "$tmp/dump"
abi_dump "$real" "$tmp/baseline.abi" "$tmp/dump"

# expect WANT LIB NAME: check_abi.sh on LIB exits with WANT (0 or 1) and
# its output names NAME (when NAME is not empty).
expect() {
  local want=$1 lib=$2 name=$3 rc=0 label=${2##*/}
  timeout -k 5 200 bash "$here/check_abi.sh" "$lib" "$tmp/baseline.abi" \
    >"$tmp/out" 2>&1 || rc=$?
  if (( rc != want )); then
    cat "$tmp/out" >&2
    abi_fail "check_abi.sh on $label exited $rc, expected $want"
  fi
  if [[ -n $name ]] && ! grep -q "$name" "$tmp/out"; then
    cat "$tmp/out" >&2
    abi_fail "check_abi.sh on $label did not name $name"
  fi
  abi_log "ok: $label -> exit $rc${name:+, names $name}"
}

expect 0 "$real" ''
expect 0 "$added" acme_abi_selftest_added
expect 1 "$removed" acme_version_number
expect 1 "$changed" acme_version_number
expect 1 "$struct" abi_selftest_inserted
abi_log "PASS: the check passes the library and additions, and fails" \
  "on a removed function, a changed prototype and a changed struct"
