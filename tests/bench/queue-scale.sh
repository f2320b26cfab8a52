#!/usr/bin/env bash
# queue-scale.sh [N...] (default 1000 10000 100000): does the queue keep its speed
# as it grows? For each N, a fresh instance:
#   enqueue  pochta-queue, 4 writers, the runner stopped: the rate of the first
#            1,000 messages (an empty queue) and of the last 1,000 (N-1,000 queued)
#   drain    pochta-send started on the N queued messages: seconds to the first
#            1,000 in the Maildir (the start-up scan of the queue included), and
#            the rate over all N
# Prints figures only; loopback and a temporary directory only; every wait bounded.
set -u
[ $# -gt 0 ] || set -- 1000 10000 100000
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${POCHTA_BIN:-$top/build/bin}
export PATH="$BIN:$PATH"
work=$(mktemp -d /tmp/queue-scale.XXXXXX)
sp=
cleanup() { [ -n "$sp" ] && kill "$sp" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
now() { date +%s.%N; }

instance() {
  local d=$1
  export POCHTA_CONF=$d/etc
  pochta -C "$POCHTA_CONF" init --queue "$d/queue" --mail "$d/mail" --state "$d/state" --hostname mx.example.test >/dev/null 2>&1
  pochta -C "$POCHTA_CONF" domain add example.test >/dev/null 2>&1
  printf 'secret\n' | pochta -C "$POCHTA_CONF" user add alice@example.test >/dev/null 2>&1
  echo 20 >"$POCHTA_CONF/concurrencylocal"
  MD=$d/mail/example.test/alice/Maildir
}

# enqueue K: K messages, 4 writers at once
enqueue() {
  local k=$1 w
  for w in 1 2 3 4; do
    ( for _ in $(seq 1 $((k / 4))); do pochta-queue <"$work/msg" 1<"$work/env" 2>/dev/null || echo fail; done ) &
  done
  wait
}
in_maildir() { ls -f "$MD/new" 2>/dev/null | grep -vc '^\.'; }

head -c 1500 /dev/urandom | base64 -w 76 >"$work/body"
{ printf 'From: bench@example.test\nTo: alice@example.test\nSubject: bench\n\n'; cat "$work/body"; } >"$work/msg"
printf 'Fbench@example.test\0Talice@example.test\0\0' >"$work/env"

for n in "$@"; do
  d=$work/q$n
  instance "$d"
  t0=$(now); enqueue 1000; t1=$(now)
  [ "$n" -gt 2000 ] && enqueue $((n - 2000))
  t2=$(now); [ "$n" -gt 1000 ] && enqueue 1000; t3=$(now)
  queued=$(ls -f "$d/queue/new" | grep -vc '^\.')
  t4=$(now)
  pochta-send 2>"$d/send.log" & sp=$!
  first=
  # (counting a directory of 100,000 names costs CPU: often until the first 1,000,
  # then twice a second)
  for _ in $(seq 1 72000); do   # at most an hour
    got=$(in_maildir)
    [ -z "$first" ] && [ "$got" -ge 1000 ] && first=$(now)
    [ "$got" -ge "$queued" ] && break
    if [ -z "$first" ]; then sleep 0.05; else sleep 0.5; fi
  done
  t5=$(now)
  kill "$sp"; wait "$sp" 2>/dev/null; sp=
  awk -v n="$n" -v q="$queued" -v got="$got" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v t4="$t4" -v f="${first:-$t5}" -v t5="$t5" 'BEGIN {
    last = n > 1000 ? sprintf("%.0f", 1000 / (t3 - t2)) : "-"
    printf "queue-scale N=%d: enqueue first1000=%.0f/s last1000=%s/s | drain queued=%d delivered=%d first1000_s=%.2f all_s=%.1f rate=%.0f/s\n",
      n, 1000 / (t1 - t0), last, q, got, f - t4, t5 - t4, got / (t5 - t4) }'
  rm -rf "$d"
done
