#!/usr/bin/env bash
# check_exports.sh LIBRARY - fails unless every symbol that LIBRARY defines
# in its dynamic symbol table starts with acme_: the C ABI is the only
# public surface, so C++ internals and third-party code must stay hidden.
set -euo pipefail

lib=${1:?usage: check_exports.sh LIBRARY}
[[ -f $lib ]] || { echo "check_exports: no such file: $lib" >&2; exit 1; }

syms=$(nm -D --defined-only "$lib") ||
  { echo "check_exports: nm failed on $lib" >&2; exit 1; }

# Lines are "VALUE TYPE NAME"; names of versioned symbols end in @@NODE.
# A version script's node itself (ACMEKIT_0) is listed as an absolute "A"
# entry: that is the version definition, not code, so it is skipped, but
# only when some symbol really carries that version.
nodes=$(awk 'NF && $NF ~ /@/ { sub(/.*@+/, "", $NF); print $NF }' \
  <<<"$syms" | sort -u)
names=$(awk -v nodes="$nodes" '
  BEGIN { n = split(nodes, list, "\n"); for (i = 1; i <= n; i++) v[list[i]] }
  NF && !($(NF - 1) == "A" && ($NF in v)) { print $NF }' <<<"$syms")
bad=$(grep -v '^acme_' <<<"$names" || true)
count=$(grep -c '^acme_' <<<"$names" || true)

if [[ -n $bad ]]; then
  echo "check_exports: $lib exports symbols outside acme_*:" >&2
  head -n 40 <<<"$bad" >&2
  echo "check_exports: $(wc -l <<<"$bad") unexpected symbol(s)" >&2
  exit 1
fi
if (( count == 0 )); then
  echo "check_exports: $lib exports no acme_ symbol at all" >&2
  exit 1
fi
echo "check_exports: $count symbols, all acme_*"
