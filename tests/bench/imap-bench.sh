#!/bin/sh
# IMAP benchmarks: pochta-imapd on loopback; Dovecot too when ../shared/peers is up
# (interleaved A B A B). Prints figures, asserts nothing.
#   sh tests/bench/imap-bench.sh [N_MESSAGES]     (default 100000)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${POCHTA_BIN:=$top/build/bin}"
PATH=$POCHTA_BIN:$PATH; export PATH
n=${1:-100000}
b=$(mktemp -d /tmp/pochta-imap-bench.XXXXXX)
trap 'kill $(cat "$b"/*.pid 2>/dev/null) 2>/dev/null; rm -rf "$b"' EXIT
POCHTA_CONF=$b/etc; export POCHTA_CONF
pochta -C "$POCHTA_CONF" init --queue "$b/queue" --mail "$b/mail" --hostname mx.example.test >/dev/null
# connection limits above the load, with lock files of our own (pochta-config(5))
mkdir -p "$b/run"; echo "$b/run" >"$POCHTA_CONF/rundir"
printf '%s 1000 1000\n' smtp submission pop3 imap >"$POCHTA_CONF/connlimits"
pochta -C "$POCHTA_CONF" domain add example.test >/dev/null
for u in alice bob carol; do pochta -C "$POCHTA_CONF" user add $u@example.test --password secret >/dev/null; done
echo loopback >"$POCHTA_CONF/plainauth"
tcpserver -1 -HR -c 200 -l localhost 127.0.0.1 0 pochta-imapd >"$b/port" 2>/dev/null &
echo $! >"$b/tcpserver.pid"
sleep 0.5
port=$(head -n1 "$b/port")
py="python3 $top/tests/bench/imap-bench.py"
peers=
[ -f /tmp/peers/peers.env ] && . /tmp/peers/peers.env && peers=1

echo "== SELECT of a $n-message INBOX (first open builds the uid list; later opens reuse it)"
$py fill "$b/mail/example.test/alice/Maildir" "$n"
$py select 127.0.0.1:$port alice@example.test secret 3
if [ -n "$peers" ] && [ -d /tmp/peers/mail ]; then
  echo "-- dovecot (peers), same size (alice's INBOX starts over)"
  md=/tmp/peers/mail/alice/Maildir
  rm -rf "$md/cur" "$md/new" "$md"/dovecot*; mkdir -p "$md/new" "$md/tmp"
  $py fill "$md" "$n"; chown -R "$(stat -c %u:%g /tmp/peers/mail)" "$md" 2>/dev/null || true
  $py select 127.0.0.1:${IMAP_PORT:-1143} alice@example.test "${PEER_PASS:-secret}" 3 || true
fi

echo "== commands/s, 10 clients, mix of SELECT, FETCH headers, STORE, SEARCH, APPEND"
$py fill "$b/mail/example.test/bob/Maildir" 1000
if [ -n "$peers" ] && [ -d /tmp/peers/mail ]; then
  # the same mailbox for Dovecot: bob's INBOX starts over with the same 1000 messages
  pb=/tmp/peers/mail/bob/Maildir
  rm -rf "$pb/cur" "$pb/new" "$pb"/dovecot*; mkdir -p "$pb/new" "$pb/tmp"
  $py fill "$pb" 1000; chown -R "$(stat -c %u:%g /tmp/peers/mail)" "$pb" 2>/dev/null || true
fi
for r in 1 2; do
  echo "-- pochta run $r"; $py mix 127.0.0.1:$port bob@example.test secret 10 10
  if [ -n "$peers" ]; then echo "-- dovecot run $r"; $py mix 127.0.0.1:${IMAP_PORT:-1143} bob@example.test "${PEER_PASS:-secret}" 10 10 || true; fi
done

echo "== RSS per idle connection, the $n-message INBOX selected and FETCH 1:* (FLAGS) done"
$py rss 127.0.0.1:$port alice@example.test secret 3 "$b/tcpserver.pid" fetch
if [ -n "$peers" ] && [ -f /tmp/peers/pids/dovecot.pid ]; then
  echo "-- dovecot"; $py rss 127.0.0.1:${IMAP_PORT:-1143} alice@example.test "${PEER_PASS:-secret}" 3 /tmp/peers/pids/dovecot.pid fetch || true
fi

echo "== RSS per idle logged-in connection (empty INBOX selected)"
$py rss 127.0.0.1:$port carol@example.test secret 10 "$b/tcpserver.pid"
if [ -n "$peers" ] && [ -f /tmp/peers/pids/dovecot.pid ]; then
  echo "-- dovecot"; $py rss 127.0.0.1:${IMAP_PORT:-1143} bob@example.test "${PEER_PASS:-secret}" 10 /tmp/peers/pids/dovecot.pid || true
fi
