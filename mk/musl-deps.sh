#!/bin/sh
# mk/musl-deps.sh DIR: the libraries pochta links, built for musl (musl-gcc) from
# Debian's own source packages, into DIR/include and DIR/lib. Idempotent: a
# library already in DIR is not built again (DIR/stamp-NAME).
#
# Why: every exec of a static glibc program costs ~0.7 ms on the machines pochta is
# measured on (glibc's start-up probes the CPU with CPUID, which traps to the
# hypervisor), a musl one ~0.2 ms, and a connection costs two execs (pochta-tlsd,
# the daemon). See README, "Building with musl".
#
# The sources come through apt-get source with a private list of deb-src entries
# (the mirror the system already uses), so the system's apt configuration is not
# touched. Debian's patches are not needed to build the static libraries.
set -eu
DIR=${1:?usage: mk/musl-deps.sh DIR}
mkdir -p "$DIR/src" "$DIR/include" "$DIR/lib" "$DIR/apt/lists/partial" "$DIR/apt/parts"
DIR=$(cd "$DIR" && pwd)
# musl-gcc leaves the kernel's headers out; some sources want <linux/...>
mkdir -p "$DIR/kinclude"
for h in linux asm-generic; do [ -e "$DIR/kinclude/$h" ] || ln -s "/usr/include/$h" "$DIR/kinclude/$h"; done
[ -e "$DIR/kinclude/asm" ] || ln -s "/usr/include/$(gcc -print-multiarch)/asm" "$DIR/kinclude/asm"
CC="musl-gcc -isystem $DIR/kinclude"
JOBS=$(nproc 2>/dev/null || echo 2)
PKGS="skalibs bearssl libxcrypt zlib libsodium"
log=$DIR/build.log

need=
for p in $PKGS; do [ -f "$DIR/stamp-$p" ] || need="$need $p"; done
[ -z "$need" ] && exit 0
for t in musl-gcc autoreconf libtoolize; do
  command -v $t >/dev/null || { echo "musl-deps: $t missing (build.sh installs musl-tools autoconf automake libtool)" >&2; exit 111; }
done
# libxcrypt's configure.ac uses LT_SYS_SYMBOL_USCORE, which only libltdl-dev's ltdl.m4
# defines: without it autoreconf fails on a machine that never had it pulled in
[ -f /usr/share/aclocal/ltdl.m4 ] || { echo "musl-deps: /usr/share/aclocal/ltdl.m4 missing (build.sh installs libltdl-dev)" >&2; exit 111; }

# deb-src entries for the mirrors the system uses (deb822 or one-line sources)
mirrors=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
  sed -n 's/^URIs: *//p; s/^deb \(\[[^]]*\] \)\{0,1\}\([^ ]*\) .*/\2/p' | grep -E 'debian\.org/debian/?$|/debian/?$' | sort -u)
[ -n "$mirrors" ] || mirrors=http://deb.debian.org/debian
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
: >"$DIR/apt/sources.list"
for m in $mirrors; do
  echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $m $suite main" >>"$DIR/apt/sources.list"
done
APT="-o Dir::Etc::SourceList=$DIR/apt/sources.list -o Dir::Etc::SourceParts=$DIR/apt/parts -o Dir::State::Lists=$DIR/apt/lists"
echo "musl-deps: fetching the sources of$need" >&2
# shellcheck disable=SC2086
apt-get -qq $APT update >>"$log" 2>&1
( cd "$DIR/src" && apt-get -qq $APT source --download-only $need ) >>"$log" 2>&1

unpack() {   # unpack NAME: the orig tarball into DIR/src/NAME, the path on stdout
  rm -rf "$DIR/src/$1"; mkdir -p "$DIR/src/$1"
  tar -xf "$(ls "$DIR"/src/"$1"_*.orig.tar.* | head -n1)" -C "$DIR/src/$1" --strip-components=1
  echo "$DIR/src/$1"
}

# build NAME: 0 ok. (Called where set -e does not hold: every step is checked.)
build() {
  p=$1
  echo "musl-deps: building $p" >&2
  d=$(unpack "$p") || return 1
  cd "$d" || return 1
  case $p in
    skalibs)
      # skalibs' configure takes CC as one word: given "musl-gcc -isystem ...", it
      # quietly falls back to gcc and detects glibc's functions (arc4random)
      CPPFLAGS="-isystem $DIR/kinclude" ./configure --prefix="$DIR" --libdir="$DIR/lib" \
        --includedir="$DIR/include" --disable-shared --enable-static CC=musl-gcc || return 1
      grep -q '^CC := musl-gcc$' config.mak || { echo "skalibs: configure did not take musl-gcc" >&2; return 1; }
      make -j"$JOBS" && make install || return 1 ;;
    bearssl)
      make -j"$JOBS" CC="$CC" LD="$CC" build/libbearssl.a &&
      cp build/libbearssl.a "$DIR/lib/" && cp inc/*.h "$DIR/include/" || return 1 ;;
    libxcrypt|libsodium)
      # Debian's orig tarballs are the projects' git trees: no configure yet
      [ -x configure ] || autoreconf -fi || return 1
      if [ "$p" = libxcrypt ]; then
        ./configure --prefix="$DIR" --libdir="$DIR/lib" --disable-shared --enable-static --disable-werror \
          --disable-failure-tokens CC="$CC" || return 1
      else
        ./configure --prefix="$DIR" --libdir="$DIR/lib" --disable-shared --enable-static --enable-minimal CC="$CC" || return 1
      fi
      make -j"$JOBS" && make install || return 1 ;;
    zlib)
      CC="$CC" ./configure --static --prefix="$DIR" &&
      make -j"$JOBS" libz.a && cp libz.a "$DIR/lib/" && cp zlib.h zconf.h "$DIR/include/" || return 1 ;;
  esac
  cd "$DIR" || return 1
  touch "$DIR/stamp-$p"
}

# Two lines of builds at once: most of the time goes to configure scripts and
# autoreconf, which use one core, so two libraries at a time fill both cores. Each
# line has its own log (DIR/build-NAME.log); build.log has the fetching.
line() {   # line NAME...: build each in turn; 0 ok, else the name that failed on stdout
  for p in "$@"; do
    case " $need " in *" $p "*) ;; *) continue ;; esac
    build "$p" >"$DIR/build-$p.log" 2>&1 || { echo "$p"; return 1; }
  done
}
line libxcrypt zlib >"$DIR/line1.status" & l1=$!
line libsodium skalibs bearssl >"$DIR/line2.status" & l2=$!
rc=0
wait $l1 || rc=1
wait $l2 || rc=1
if [ $rc != 0 ]; then
  for f in "$DIR/line1.status" "$DIR/line2.status"; do
    p=$(cat "$f")
    [ -n "$p" ] || continue
    echo "musl-deps: building $p failed; see $DIR/build-$p.log" >&2
    tail -20 "$DIR/build-$p.log" >&2
  done
  exit 111
fi
