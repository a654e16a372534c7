#!/usr/bin/env bash
# check_status_strings.sh HEADER LIBRARY - every status code the C header
# declares has its own message: acme_strerror() must not answer "unknown
# status" for any of them, and no two codes may share a message. A code
# added to the header without a string fails here.
set -euo pipefail

header=${1:?usage: check_status_strings.sh HEADER LIBRARY}
lib=${2:?usage: check_status_strings.sh HEADER LIBRARY}
work=$(mktemp -d "${TMPDIR:-/tmp}/acmekit-status.XXXXXX")
trap 'rm -rf -- "$work"' EXIT

codes=$(grep -oE '^ *ACME_(OK|E_[A-Z0-9_]+) = [0-9]+' "$header" |
  awk '{ print $1 }')
(( $(wc -l <<<"$codes") >= 40 )) ||
  { echo "check_status_strings: found too few codes in $header" >&2; exit 1; }

{
  printf '#include <acmekit.h>\n#include <stdio.h>\nint main(void)\n{\n'
  while read -r code; do
    printf '    printf("%%d\\t%s\\t%%s\\n", (int)%s, acme_strerror(%s));\n' \
      "$code" "$code" "$code"
  done <<<"$codes"
  printf '    return 0;\n}\n'
} >"$work/codes.c"
# A library built with the sanitizers needs a program built with them
# too (ASan's runtime must load first).
sanitize=()
if ldd "$lib" 2>/dev/null | grep -q libasan; then
  sanitize=(-fsanitize=address,undefined)
fi
cc -std=c99 "${sanitize[@]}" -I "$(dirname "$header")" -o "$work/codes" \
  "$work/codes.c" "$lib" -Wl,-rpath,"$(dirname "$lib")"
"$work/codes" >"$work/table"

missing=$(awk -F '\t' '$3 == "unknown status" { print $2 }' "$work/table")
shared=$(awk -F '\t' '{ print $3 }' "$work/table" | sort | uniq -d)
if [[ -n $missing || -n $shared ]]; then
  [[ -z $missing ]] || echo "no message for: ${missing//$'\n'/ }" >&2
  [[ -z $shared ]] || echo "messages used twice: ${shared//$'\n'/; }" >&2
  exit 1
fi
echo "check_status_strings: $(wc -l <"$work/table") codes, each with its" \
  "own message"
