#!/bin/sh
# pochta's one entry point.
#   ./build.sh deps        install what is missing (Debian; as root)
#   ./build.sh build [--glibc]  build every program into build/bin (make output: build/build.log)
#   ./build.sh run         build and start a demo instance under ./run on loopback
#   ./build.sh test [--san|--glibc] [FILES...]   build and run every test (--san: ASan+UBSan build)
#   ./build.sh fuzz [SECONDS]             build the fuzz targets and run each for a while
#   ./build.sh bench       run the benchmarks in tests/bench (figures only)
# The programs are built on musl (static-pie), with skalibs, BearSSL, libxcrypt, zlib
# and libsodium built for it from Debian's sources (mk/musl-deps.sh, once, into
# build/musl-deps): an exec costs ~0.2 ms there against ~0.7 ms for glibc on the
# machines pochta is measured on. --glibc builds on glibc instead (build-glibc/),
# with FORTIFY_SOURCE in effect; the ASan+UBSan build (--san) is glibc too.
set -eu
cd "$(dirname "$0")"
top=$(pwd)

DEPS="build-essential clang libclang-rt-14-dev libbearssl-dev skalibs-dev libowfat-dev
libcrypt-dev zlib1g-dev bats bats-assert bats-support ucspi-tcp-ipv6 runit swaks libnet-ssleay-perl
libio-socket-ssl-perl libio-socket-inet6-perl libauthen-sasl-perl python3 openssl strace
mutt fetchmail isync getmail6 testssl.sh dnsmasq iproute2 procps psmisc file
postfix dovecot-imapd dovecot-pop3d mandoc
libsodium-dev publicsuffix
python3-dkim python3-nacl python3-dnspython python3-spf python3-yaml
opendkim opendkim-tools miltertest
musl-tools autoconf automake libtool libltdl-dev pkg-config
clamav-daemon clamav-freshclam"

deps() {
  missing=
  for p in $DEPS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
  done
  [ -z "$missing" ] && return 0
  if [ "$(id -u)" != 0 ]; then echo "build.sh: missing packages:$missing (run as root)" >&2; exit 111; fi
  echo "build.sh: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # postfix, dovecot and dnsmasq are test peers: their installs must not start
  # system-wide daemons, so policy-rc.d refuses every service start meanwhile.
  prc=/usr/sbin/policy-rc.d own_prc=
  if [ ! -e $prc ]; then printf '#!/bin/sh\nexit 101\n' >$prc; chmod +x $prc; own_prc=1; fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get install -y -qq --no-install-recommends $missing >&2 || { [ -n "$own_prc" ] && rm -f $prc; exit 111; }
  [ -n "$own_prc" ] && rm -f $prc
  return 0
}

# build [MAKEARGS...]: make, its output in $O/build.log (O=build unless given); on
# stderr a line when it starts and one when it ends, counting steps on a terminal.
# A failed build prints where the log is and its last lines.
logs_begun=
build() {
  bo=build
  for a in "$@"; do case $a in O=*) bo=${a#O=} ;; esac; done
  mkdir -p "$bo"
  log=$bo/build.log
  # the log holds every make run of this build.sh run, not those of earlier ones
  case " $logs_begun " in *" $log "*) ;; *) : >"$log"; logs_begun="$logs_begun $log" ;; esac
  jobs=$(nproc 2>/dev/null || echo 2)
  # steps to come: what make -n would run, less the silent mkdirs and make's notes
  total=$(make -n "$@" 2>/dev/null | grep -cv -e '^mkdir -p' -e '^make' || true)
  tty=; [ -t 2 ] && tty=1
  start=$(date +%s)
  if [ "${total:-0}" -gt 0 ] && [ -z "$tty" ]; then
    echo "build.sh: building into $bo/: $total steps (full output in $log)" >&2
  fi
  # make's status comes back on fd 3: a pipeline's status is its last command's
  rc=$( { { if make -j"$jobs" "$@" 2>&1; then echo 0 >&3; else echo $? >&3; fi; } |
          awk -v lf="$log" -v total="${total:-0}" -v tty="$tty" -v o="$bo" '
            { print >>lf; fflush(lf)
              if (tty && $0 !~ /^make/) printf "\rbuild.sh: building into %s/: %d/%d", o, ++n, total }
            END { if (tty && n) printf "\r\033[K" }' >&2; } 3>&1 ) || true
  if [ "$rc" != 0 ]; then
    echo "build.sh: the build failed (make exited $rc); full output in $log, which ends:" >&2
    tail -n 25 "$log" | sed 's/^/  /' >&2
    exit "$rc"
  fi
  if [ "${total:-0}" -gt 0 ]; then
    echo "build.sh: built into $bo/ in $(( $(date +%s) - start )) s ($total steps; full output in $log)" >&2
  fi
}

# musl: the libraries for musl (once; about a minute and a half)
musl_deps() {
  [ -f build/musl-deps/stamp-libsodium ] && [ -f build/musl-deps/stamp-skalibs ] && [ -f build/musl-deps/stamp-bearssl ] &&
    [ -f build/musl-deps/stamp-libxcrypt ] && [ -f build/musl-deps/stamp-zlib ] && return 0
  echo "build.sh: building the libraries for musl (once; logs in build/musl-deps/)" >&2
  sh mk/musl-deps.sh build/musl-deps || exit 111
}

case "${1:-}" in
  deps) deps ;;
  build)
    shift; deps
    if [ "${1:-}" = --glibc ]; then shift; build O=build-glibc "$@"
    else musl_deps; build O=build MUSL=1 MUSLDEPS="$top/build/musl-deps" "$@"; fi
    ;;
  run) shift; deps; musl_deps; build O=build MUSL=1 MUSLDEPS="$top/build/musl-deps"; exec sh tools/demo-run "$@" ;;
  test)
    shift; deps
    o=build san= musl=1
    if [ "${1:-}" = --san ]; then shift; o=build-san; san=1; musl=
    elif [ "${1:-}" = --glibc ]; then shift; o=build-glibc; musl=; fi
    if [ -n "$musl" ]; then
      musl_deps
      # the glibc build stays possible: it is built (not tested) beside the musl one
      build O=build-glibc
    fi
    build O="$o" ${san:+SAN=1} ${musl:+MUSL=1 MUSLDEPS="$top/build/musl-deps"}
    build O="$o" ${san:+SAN=1} ${musl:+MUSL=1 MUSLDEPS="$top/build/musl-deps"} check-progs
    export POCHTA_BIN="$top/$o/bin" POCHTA_BUILD="$top/$o" POCHTA_SAN="$san" POCHTA_MUSL="$musl"
    export PATH="$POCHTA_BIN:$PATH"
    if [ $# -eq 0 ]; then set -- tests/*.bats; fi
    # -o: the diagnostics of a failed test (and the figures a test prints) reach the log
    exec prove -j2 -o --timer -e 'bats --tap' "$@"
    ;;
  fuzz)
    # (glibc and clang: a directory of their own)
    shift; deps; build O=build-fuzz fuzz
    secs=${1:-60}
    for f in build-fuzz/fuzz/*; do
      [ -x "$f" ] || continue
      name=$(basename "$f"); corpus="tests/fuzz/$name"
      mkdir -p "build-fuzz/fuzz-corpus/$name"
      echo "fuzz: $name for ${secs}s" >&2
      "$f" -max_total_time="$secs" "build-fuzz/fuzz-corpus/$name" "$corpus" >&2
    done
    ;;
  bench) shift; deps; musl_deps; build O=build MUSL=1 MUSLDEPS="$top/build/musl-deps"; for b in tests/bench/*.sh; do bash "$b" "$@"; done ;;
  *) sed -n '2,9p' "$0" >&2; exit 100 ;;
esac
