#!/bin/sh
# pochta-imapd under Dovecot's imaptest (not packaged in Debian: build its
# release-2.3 branch yourself and point IMAPTEST at the binary, IMAPTEST_TESTS
# at its src/tests folder). Prints figures, asserts nothing:
#   - compliance: the scripted test groups, RUNS times;
#   - stress: own_flags and checkpoint=5, 10 clients, SECS seconds, errors counted;
#   - throughput: commands per second of 10 clients for SECS seconds, with and
#     without logouts, against Dovecot from ../shared/peers when it is up,
#     interleaved A B A B, each run on an emptied mailbox.
#   IMAPTEST=/path/imaptest [IMAPTEST_TESTS=dir] [RUNS=3] [SECS=30] sh tests/bench/imap-imaptest.sh
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${POCHTA_BIN:=$top/build/bin}"
: "${RUNS:=3}" "${SECS:=30}"
if [ -z "${IMAPTEST:-}" ] || [ ! -x "$IMAPTEST" ]; then
  echo "imap-imaptest: skipped (IMAPTEST does not name an imaptest binary)"; exit 0
fi
# (Debian's dovecot-dev links imaptest against /usr/lib/dovecot/libdovecot.so.0)
LD_LIBRARY_PATH=${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}/usr/lib/dovecot; export LD_LIBRARY_PATH
if ! "$IMAPTEST" --help 2>&1 | grep -q "user=USER"; then
  echo "imap-imaptest: $IMAPTEST does not run:"; "$IMAPTEST" 2>&1 | head -2; exit 0
fi
PATH=$POCHTA_BIN:$PATH; export PATH
b=$(mktemp -d /tmp/pochta-imaptest.XXXXXX)
trap 'kill $(cat "$b"/*.pid 2>/dev/null) 2>/dev/null; rm -rf "$b"' EXIT
POCHTA_CONF=$b/etc; export POCHTA_CONF
pochta -C "$POCHTA_CONF" init --queue "$b/queue" --mail "$b/mail" --hostname mx.example.test >/dev/null 2>&1
pochta -C "$POCHTA_CONF" domain add example.test >/dev/null
for u in alice bob; do pochta -C "$POCHTA_CONF" user add $u@example.test --password secret >/dev/null; done
echo loopback >"$POCHTA_CONF/plainauth"
echo "delay=0" >"$POCHTA_CONF/authfail"
tcpserver -1 -HR -c 400 -b 200 -l localhost 127.0.0.1 0 pochta-imapd >"$b/port" 2>"$b/imapd.log" &
echo $! >"$b/tcpserver.pid"
i=0; while [ ! -s "$b/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
port=$(head -n1 "$b/port")
peers=
[ -f /tmp/peers/peers.env ] && . /tmp/peers/peers.env && peers=1
mbox=$b/test.mbox
python3 "$top/tests/bench/imap-bench.py" mbox "$mbox" 200

it() { "$IMAPTEST" host=127.0.0.1 user=bob@example.test pass=secret mbox="$mbox" clients=10 "$@" 2>&1; }
# the sum of the last Totals line: commands in the run
total() { awk '/^Totals:/ { t = 1; next } t && /^ *[0-9]/ { s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+$/) s += $i; last = s } END { print last + 0 }'; }
errors() { grep -c '^Error:' || true; }
empty_pochta() { md=$b/mail/example.test/bob/Maildir; rm -rf "$md"/.i* "$md"/cur/* "$md"/new/* "$md"/dovecot* "$md"/pochta-* 2>/dev/null || true; }
empty_dovecot() { md=/tmp/peers/mail/bob/Maildir; rm -rf "$md"/.i* "$md"/cur/* "$md"/new/* "$md"/dovecot* 2>/dev/null || true; }

if [ -n "${IMAPTEST_TESTS:-}" ]; then
  echo "== compliance (imaptest test=$IMAPTEST_TESTS), $RUNS runs"
  for r in $(seq 1 "$RUNS"); do
    "$IMAPTEST" host=127.0.0.1 port="$port" user=alice@example.test pass=secret test="$IMAPTEST_TESTS" 2>&1 | tail -3 | tr '\n' ' '
    echo
  done
fi

echo "== stress, $RUNS runs of ${SECS}s with 10 clients (errors; the totals line)"
for mode in own_flags checkpoint=5; do
  for r in $(seq 1 "$RUNS"); do
    empty_pochta
    out=$(it port="$port" secs="$SECS" $mode || true)
    echo "pochta $mode run $r: errors=$(echo "$out" | errors) commands=$(echo "$out" | total)$(echo "$out" | grep -q '^Panic' && echo ' (imaptest panicked at the end)' || true)"
    echo "$out" | grep '^Error:' | head -3 | cut -c1-160 | sed 's/^/  /'
  done
done
for mode in own_flags; do
  for r in $(seq 1 "$RUNS"); do
    empty_pochta
    out=$(it port="$port" secs="$SECS" $mode logout=0 || true)
    echo "pochta $mode without logouts run $r: errors=$(echo "$out" | errors) commands=$(echo "$out" | total)"
    echo "$out" | grep '^Error:' | head -3 | cut -c1-160 | sed 's/^/  /'
  done
done

echo "== throughput, 10 clients ${SECS}s, commands per second (A B A B)"
for logout in with without; do
  opt=; [ $logout = without ] && opt=logout=0
  for r in 1 2; do
    empty_pochta
    p=$(it port="$port" secs="$SECS" $opt | total)
    line="$logout logouts run $r: pochta $((p / SECS))/s"
    if [ -n "$peers" ]; then
      empty_dovecot
      d=$(it port="${IMAP##*:}" secs="$SECS" $opt | total)
      if [ "$d" -gt 0 ]; then
        line="$line dovecot $((d / SECS))/s ratio $(python3 -c "print('%.2f' % ($p / $d))")"
      else
        line="$line dovecot: no commands (is ../shared/peers up?)"
      fi
    fi
    echo "$line"
  done
done
