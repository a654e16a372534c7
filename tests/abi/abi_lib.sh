# shellcheck shell=bash
# tests/abi/abi_lib.sh - what check_abi.sh and scripts/update-abi share:
# the one way to turn libacmekit.so into an ABI description (abidw from
# abigail-tools), so that the baseline and the check cannot drift apart.
# Source it; it defines functions and starts nothing.

# The headers a program that uses the C ABI includes: only types defined
# in them are public. Not capi/ as a whole: it also holds private C++
# headers (host.hpp defines the opaque acme_http_response, for one), and
# a layout change of an opaque type breaks no caller.
ABI_PUBLIC_HEADERS=(capi/acmekit.h)

# Ceiling in seconds for one abidw or abidiff run (both take about a
# second on libacmekit.so; a hang must not eat the test's whole timeout).
: "${ABI_TOOL_TIMEOUT:=120}"

abi_root() {
  (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
}

abi_fail() {
  printf '%s: FAIL: %s\n' "${ABI_NAME:-abi}" "$*" >&2
  exit 1
}

abi_log() {
  printf '%s: %s\n' "${ABI_NAME:-abi}" "$*"
}

# abi_need_tools: abidw and abidiff, or a message saying where they are.
abi_need_tools() {
  local t
  for t in abidw abidiff; do
    command -v "$t" >/dev/null ||
      abi_fail "$t not found: install the Debian package abigail-tools"
  done
}

# abi_has_debug_info LIB: abidw reads types from DWARF; without it only
# symbol names could be compared (a buildtype without -g).
abi_has_debug_info() {
  readelf -S -W "$1" 2>/dev/null | grep -q ' \.debug_info '
}

# abi_dump LIB OUT TMPDIR: the public ABI of LIB as abixml in OUT.
# Private types are dropped and paths, source lines and DT_NEEDED are
# left out, so that OUT changes only when the ABI does (not when the
# header gains a comment, the tree moves or the build links other
# dependencies, as -Dhttplib=disabled does).
abi_dump() {
  local lib=$1 out=$2 tmp=$3 root h
  root=$(abi_root)
  mkdir -p "$tmp/public-headers"
  for h in "${ABI_PUBLIC_HEADERS[@]}"; do
    [[ -f $root/$h ]] || abi_fail "public header $root/$h is missing"
    cp "$root/$h" "$tmp/public-headers/"
  done
  timeout -k 5 "$ABI_TOOL_TIMEOUT" abidw \
    --headers-dir "$tmp/public-headers" --drop-private-types \
    --exported-interfaces-only --no-corpus-path --no-comp-dir-path \
    --no-show-locs --no-elf-needed --out-file "$out" "$lib" \
    >"$tmp/abidw.log" 2>&1 || {
      cat "$tmp/abidw.log" >&2
      abi_fail "abidw failed on $lib"
    }
  grep -q '<abi-corpus' "$out" || abi_fail "abidw wrote no ABI corpus to $out"
}

# abi_arch FILE: the architecture recorded in an abixml file.
abi_arch() {
  sed -n "s/.*<abi-corpus [^>]*architecture='\\([^']*\\)'.*/\\1/p" "$1" |
    head -n 1
}
