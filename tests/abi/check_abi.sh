#!/usr/bin/env bash
# check_abi.sh LIB BASELINE - the public C ABI of LIB (libacmekit.so) is
# still the one recorded in BASELINE (capi/acmekit.abi, written by
# scripts/update-abi): abidiff finds no removed or changed function,
# variable or type reachable from them, and no changed SONAME. Functions
# and variables that are only added pass, with a note that the baseline
# lags behind. Exits 77 (a skip for meson) when LIB cannot be compared:
# no DWARF (a buildtype without -g) or another architecture than the
# baseline's (a cross build).
#
# abidiff's exit status is a bit field: 1 error, 2 usage error, 4 ABI
# change, 8 incompatible ABI change (a removal, a SONAME change). Bit 4
# alone also covers changed functions and types, so its report is read:
# only additions may be behind it.
#
# Appending a field to a size-prefixed option struct is compatible by
# the header's rule, but abidiff reports a changed type: check that the
# change is such an append, then run scripts/update-abi.
set -euo pipefail

ABI_NAME=check_abi
# shellcheck source=tests/abi/abi_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/abi_lib.sh"

lib=${1:?usage: check_abi.sh LIB BASELINE}
baseline=${2:?usage: check_abi.sh LIB BASELINE}
[[ -f $lib ]] || abi_fail "no such library: $lib"
[[ -f $baseline ]] ||
  abi_fail "no baseline at $baseline: run scripts/update-abi once"
abi_need_tools

if ! abi_has_debug_info "$lib"; then
  abi_log "SKIP: $lib has no DWARF (build with -g, e.g. the default" \
    "buildtype debugoptimized)"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/acmekit-abi.XXXXXX")
trap 'rm -rf -- "$tmp"' EXIT

abi_dump "$lib" "$tmp/current.abi" "$tmp"
# A header filter that matched nothing would make every type opaque, and
# then no layout change could ever be seen: refuse to compare that.
grep -q '<data-member' "$tmp/current.abi" ||
  abi_fail "the ABI of $lib shows no struct member: abidw did not match" \
    "the public headers (${ABI_PUBLIC_HEADERS[*]})"

want=$(abi_arch "$baseline")
got=$(abi_arch "$tmp/current.abi")
if [[ $want != "$got" ]]; then
  abi_log "SKIP: $lib is for ${got:-?}, the baseline for ${want:-?}"
  exit 77
fi

rc=0
timeout -k 5 "$ABI_TOOL_TIMEOUT" abidiff --no-show-locs \
  "$baseline" "$tmp/current.abi" >"$tmp/report" 2>&1 || rc=$?

show_report() {
  printf -- '--- abidiff %s (baseline) %s\n' "$baseline" "$lib" >&2
  head -n 200 "$tmp/report" >&2
}

if (( rc == 124 || rc == 137 )); then
  abi_fail "abidiff did not finish in $ABI_TOOL_TIMEOUT s"
fi
if (( rc & 3 )); then
  show_report
  abi_fail "abidiff could not compare (exit status $rc)"
fi
if (( rc & 8 )); then
  show_report
  abi_fail "incompatible ABI change in $lib (abidiff exit status $rc):" \
    "a function, variable or the SONAME was removed or changed"
fi
if (( rc == 0 )); then
  fns=$(grep -c '<function-decl' "$baseline" || true)
  abi_log "PASS: $lib has the ABI of $baseline ($fns functions)"
  exit 0
fi

# Bit 4 alone. Each "... changes summary:" line counts what was Removed,
# Changed and Added; anything but additions fails.
read -r bad added < <(awk '
  /changes summary:/ {
    line = $0
    sub(/.*changes summary:/, "", line)
    n = split(line, part, ",")
    for (i = 1; i <= n; i++) {
      if (match(part[i], /[0-9]+ (Removed|Changed|Added)/)) {
        split(substr(part[i], RSTART, RLENGTH), w, " ")
        if (w[2] == "Added") added += w[1]; else bad += w[1]
      }
    }
  }
  /SONAME changed|architecture changed/ { bad++ }
  END { print bad + 0, added + 0 }' "$tmp/report")

if (( bad > 0 )); then
  show_report
  abi_fail "ABI change in $lib (abidiff exit status $rc): $bad removed" \
    "or changed function(s), variable(s) or symbol(s); if this is an" \
    "append to a size-prefixed struct, see the top of scripts/update-abi"
fi
if (( added == 0 )); then
  show_report
  abi_fail "abidiff reports an ABI change (exit status $rc) that is no" \
    "addition"
fi
# Only additions: compatible. Name them so that the baseline gets updated.
abi_log "note: $added addition(s) not in the baseline yet:"
grep -E "^  \[A\] " "$tmp/report" | head -n 20 || true
abi_log "note: run scripts/update-abi in the commit that adds them"
abi_log "PASS: $lib is compatible with $baseline (additions only)"
