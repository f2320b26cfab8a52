#!/bin/bash
# Benchmark of the message checks (figures only, asserts nothing): CPU per message
# for iprev + SPF + DKIM (one RSA-2048 and one Ed25519 signature) + ARC + DMARC + the
# A-R field, with warm DNS (dns/'s per-process cache, answers from dnsmasq in a
# network namespace), as pochta-smtpd would run them at the end of DATA. Also: the
# same for a 1 MB body, and signing alone (one RSA and one Ed25519 signature).
# Needs root (ip netns) and dnsmasq. Usage: bash tests/bench/checks-cpu.sh [N]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
n=${1:-2000}
BATS_TEST_TMPDIR=$(mktemp -d /tmp/bench-checks.XXXXXX)
BATS_TEST_NUMBER=bench
TESTS_DIR=$top/tests
POCHTA_BUILD=${POCHTA_BUILD:-$top/build}
if [ "$(id -u)" != 0 ] || ! command -v dnsmasq >/dev/null; then echo "checks-cpu: needs root and dnsmasq (skipped)"; exit 0; fi
# shellcheck source=../checks/lib.bash
. "$top/tests/checks/lib.bash"
trap 'ck_net_down; rm -rf "$BATS_TEST_TMPDIR"' EXIT
ck_zone_reset
ck_keys "$BATS_TEST_TMPDIR/k"
ck_rr _dmarc.example.test TXT "v=DMARC1; p=reject; rua=mailto:d@example.test"
ck_rr example.test TXT "v=spf1 ip4:192.0.2.10 -all"
ck_rr mail.example.test A 192.0.2.10
ck_net_up
K=$BATS_TEST_TMPDIR/k
ck_msg "$BATS_TEST_TMPDIR/m"
"$CHECKTOOL" sign -k "$K/r1.pem:example.test:r1" -k "$K/e1.pem:example.test:e1" <"$BATS_TEST_TMPDIR/m" >"$BATS_TEST_TMPDIR/signed"
{ head -c 1048576 /dev/urandom | base64 -w 76; } >"$BATS_TEST_TMPDIR/body"
{ cat "$BATS_TEST_TMPDIR/m"; cat "$BATS_TEST_TMPDIR/body"; } >"$BATS_TEST_TMPDIR/m-big"
"$CHECKTOOL" sign -k "$K/r1.pem:example.test:r1" -k "$K/e1.pem:example.test:e1" <"$BATS_TEST_TMPDIR/m-big" >"$BATS_TEST_TMPDIR/signed-big"
opts="--ip 192.0.2.10 --helo mail.example.test --from alice@example.test --id mx.pochta.test"
echo "checks, small message, warm DNS: $(ck "$CHECKTOOL" bench "$n" $opts <"$BATS_TEST_TMPDIR/signed")"
echo "checks, 1.4 MB message, warm DNS: $(ck "$CHECKTOOL" bench $((n / 20 + 1)) $opts <"$BATS_TEST_TMPDIR/signed-big")"
# signing: one process per message, as a signing step would run (exec included)
s=$(date +%s%N)
for _ in $(seq 1 200); do "$CHECKTOOL" sign -k "$K/r1.pem:example.test:r1" -k "$K/e1.pem:example.test:e1" <"$BATS_TEST_TMPDIR/m" >/dev/null; done
e=$(date +%s%N)
echo "signing (RSA-2048 + Ed25519, one process per message, exec and key load included): $(( (e - s) / 200000 )) us per message"
