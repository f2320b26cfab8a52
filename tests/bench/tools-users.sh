#!/bin/sh
# Benchmark of the admin tool and the password check (figures only, asserts nothing):
#   - pochta compile with N users (text files -> users.cdb)
#   - pochta user add into an instance of N users (one yescrypt hash + compile)
#   - pochta-checkpassword logins per second (yescrypt dominates)
# Usage: sh tests/bench/tools-users.sh [N]   (POCHTA_BIN: the programs, default build/bin)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${POCHTA_BIN:-$top/build/bin}
n=${1:-10000}
tmp=$(mktemp -d /tmp/bench-tools.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
export POCHTA_CONF="$tmp/etc" PATH="$bin:$PATH"
now() { date +%s.%N; }
# d T0 T1: seconds between, 3 decimals (awk: no bc needed)
d() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
pochta init --queue "$tmp/q" --mail "$tmp/m" --hostname mx.example.test
pochta domain add example.test
pochta user add seed@example.test --password secret
echo "delay=0" >"$tmp/etc/authfail"   # measure the check, not the failure delay
hash=$(grep '^seed@' "$tmp/etc/passwords" | cut -d: -f3-)
# N users straight into the text files (Maildirs are not needed to compile).
awk -v n="$n" -v m="$tmp/m" -v h="$hash" 'BEGIN {
  for (i = 0; i < n; i++) {
    printf "u%d@example.test:%s/example.test/u%d/Maildir\n", i, m, i >> "'"$tmp/etc/users"'"
    printf "u%d@example.test:default:%s\n", i, h >> "'"$tmp/etc/passwords"'"
  }
}'
t0=$(now); pochta compile; t1=$(now)
echo "compile: $n users in $(d "$t0" "$t1") s, users.cdb $(stat -c %s "$tmp/etc/users.cdb") octets"
t0=$(now); pochta user add new@example.test --password pw; t1=$(now)
echo "user add (yescrypt + Maildir + compile of $n users): $(d "$t0" "$t1") s"
k=20
printf 'seed@example.test\0secret\0x\0' >"$tmp/fd3"
t0=$(now)
i=0; while [ $i -lt $k ]; do pochta-checkpassword true 3<"$tmp/fd3" 2>/dev/null; i=$((i + 1)); done
t1=$(now)
echo "checkpassword: $k logins in $(d "$t0" "$t1") s: $(awk -v k="$k" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", k / (b - a) }') logins/s per core"
printf 'nobody%s@example.test\0secret\0x\0' 7 >"$tmp/fd3"
t0=$(now)
i=0; while [ $i -lt $k ]; do pochta-checkpassword true 3<"$tmp/fd3" 2>/dev/null || true; i=$((i + 1)); done
t1=$(now)
echo "checkpassword, unknown user (same yescrypt work): $k in $(d "$t0" "$t1") s"
