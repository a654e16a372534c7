#!/usr/bin/env bash
# install_test.sh BUILDDIR [--sanitize=LIST] - what `meson
# install` puts in place is enough for a program of one's own: after an
# install of BUILDDIR into a temporary DESTDIR, examples/minimal.c,
# copied out of the tree, compiles against the installed acmekit.h alone
# and links with nothing but `pkg-config --cflags --libs acmekit` from
# the installed acmekit.pc; readelf shows it needs libacmekit.so.0 and
# carries no path into the build; the loader, given only the installed
# lib directory, takes libacmekit.so.0 from there; and the program then
# gets a certificate from Pebble on 127.0.0.1, the way minimal_example.sh
# runs the in-tree build. --sanitize=LIST compiles the program with
# -fsanitize=LIST, as an instrumented library needs.
set -euo pipefail
# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

usage='usage: install_test.sh BUILDDIR [--sanitize=LIST]'
builddir=${1:?$usage}
shift
sanitize=''
for arg in "$@"; do
  case $arg in
    --sanitize=none) ;;
    --sanitize=*) sanitize=${arg#--sanitize=} ;;
    *) printf '%s\n' "$usage" >&2; exit 2 ;;
  esac
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
builddir=$(cd "$builddir" && pwd)
[[ -f $builddir/meson-private/install.dat ]] ||
  fail "$builddir is no configured meson build directory"

e2e_begin install
dest=$E2E_TMP/destdir
app=$E2E_TMP/app

# --- install --------------------------------------------------------------

# The rebuild it starts finds nothing to do after `meson compile`.
e2e_log "meson install into $dest"
timeout -k 10 600 meson install -C "$builddir" --destdir "$dest" \
  >"$E2E_TMP/install.log" 2>&1 || {
    tail -n 30 "$E2E_TMP/install.log" >&2
    fail "meson install -C $builddir --destdir $dest failed"
  }

# find_one NAME: the one installed file called NAME.
find_one() {
  local hits
  mapfile -t hits < <(find "$dest" -name "$1" \( -type f -o -type l \))
  (( ${#hits[@]} == 1 )) ||
    fail "expected one installed $1, found ${#hits[@]}: ${hits[*]}"
  printf '%s\n' "${hits[0]}"
}
pc=$(find_one acmekit.pc)
header=$(find_one acmekit.h)
lib=$(find_one libacmekit.so.0)
libdir=$(dirname "$lib")
[[ -e $libdir/libacmekit.so ]] ||
  fail "no libacmekit.so link for -lacmekit next to $libdir/libacmekit.so.0"

# --- compile out of the tree ----------------------------------------------

# The installed .pc names /usr/local (or the configured prefix); the
# sysroot puts DESTDIR in front of its -I and -L. Only the installed
# directory is searched: a C program needs nothing from the packages
# behind the C ABI (fmt, cpp-httplib, OpenSSL), not even their .pc files,
# and gets no flag but the include directory.
pkgconf() {
  PKG_CONFIG_LIBDIR=$(dirname "$pc") PKG_CONFIG_PATH='' \
    PKG_CONFIG_SYSROOT_DIR=$dest pkg-config "$@"
}
cflags=$(pkgconf --cflags acmekit) || fail "pkg-config --cflags failed"
libs=$(pkgconf --libs acmekit) || fail "pkg-config --libs failed"
e2e_log "pkg-config: $cflags $libs"
read -r -a cflag_words <<<"$cflags"
[[ ${#cflag_words[@]} -eq 1 && ${cflag_words[0]} == "-I$dest/"* ]] ||
  fail "pkg-config --cflags ($cflags) is more than the installed" \
    "include directory under $dest"
[[ $libs == *"-L$dest/"* ]] ||
  fail "pkg-config --libs ($libs) points outside $dest"
# A static link takes the libraries behind the ABI and the C++ runtime.
static_libs=$(pkgconf --static --libs acmekit) ||
  fail "pkg-config --static --libs failed"
[[ $static_libs == *-lmbedcrypto* && $static_libs == *-lstdc++* ]] ||
  fail "pkg-config --static --libs ($static_libs) lacks mbedTLS or" \
    "libstdc++"

mkdir -p "$app"
cp "$root/examples/minimal.c" "$app/minimal.c"
cc=${CC:-cc}
extra=()
[[ -n $sanitize ]] && extra+=("-fsanitize=$sanitize")
# Word splitting of pkg-config's output is what a Makefile does too.
# shellcheck disable=SC2086
(cd "$app" && "$cc" -std=c99 -Wall -Wextra -Werror "${extra[@]}" \
  $cflags -M minimal.c) >"$E2E_TMP/deps" 2>"$E2E_TMP/cc.err" || {
    cat "$E2E_TMP/cc.err" >&2
    fail "preprocessing minimal.c with the installed header failed"
  }
# -M lists every header the compiler read: acmekit.h must be the
# installed one, and nothing may come from the source tree.
grep -qF "$header" "$E2E_TMP/deps" ||
  fail "minimal.c did not read the installed $header"
if grep -qF "$root/" "$E2E_TMP/deps"; then
  fail "minimal.c read headers from the source tree $root:" \
    "$(tr ' ' '\n' <"$E2E_TMP/deps" | grep -F "$root/" | head -n 3)"
fi
# shellcheck disable=SC2086
(cd "$app" && timeout -k 5 120 "$cc" -std=c99 -Wall -Wextra -Werror \
  "${extra[@]}" $cflags minimal.c -o minimal $libs) 2>"$E2E_TMP/cc.err" ||
  { cat "$E2E_TMP/cc.err" >&2; fail "compiling minimal.c failed"; }
e2e_log "compiled $app/minimal with the installed header and .pc"

# --- what it links --------------------------------------------------------

readelf -d -W "$app/minimal" >"$E2E_TMP/dynamic" ||
  fail "readelf -d failed on $app/minimal"
grep -qE '\(NEEDED\).*\[libacmekit\.so\.0\]' "$E2E_TMP/dynamic" || {
  cat "$E2E_TMP/dynamic" >&2
  fail "$app/minimal does not need libacmekit.so.0"
}
# no_build_paths FILE: no RPATH or RUNPATH of FILE names the build or
# the source tree, so that only the loader's search finds the library.
no_build_paths() {
  local paths
  paths=$(readelf -d -W "$1" | grep -E '\((RPATH|RUNPATH)\)' || true)
  if [[ $paths == *"$builddir"* || $paths == *"$root/"* ]]; then
    fail "$1 keeps a path into the tree: $paths"
  fi
}
no_build_paths "$app/minimal"
no_build_paths "$libdir/libacmekit.so.0"

# meson test sets LD_LIBRARY_PATH to the build tree: replace, not extend.
export LD_LIBRARY_PATH=$libdir
resolved=$(ldd "$app/minimal" | awk '$1 == "libacmekit.so.0" { print $3 }')
[[ $resolved == "$libdir/libacmekit.so.0" ]] ||
  fail "the loader takes libacmekit.so.0 from '${resolved:-nowhere}'," \
    "not from $libdir"
e2e_log "minimal needs libacmekit.so.0, loaded from $libdir"

# --- a certificate from Pebble --------------------------------------------

pebble_start "$E2E_TMP/pebble"
timeout -k 5 60 "$app/minimal" "$PEBBLE_DIRECTORY" "$PEBBLE_CA_FILE" \
  device.example.com "$PEBBLE_HTTP_PORT" >"$E2E_TMP/chain.pem" ||
  fail "the installed minimal example failed"
check_chain "$E2E_TMP/chain.pem" "$PEBBLE_ROOT"
check_sans "$E2E_TMP/chain.pem" device.example.com
pebble_stop
e2e_log "PASS"
