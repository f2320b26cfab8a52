#!/usr/bin/env bash
# queue-deliver.sh [N] — queue-to-Maildir delivery rate of pochta-send, and a
# side-by-side with Postfix when ../shared/peers is there. Prints figures only.
#
#  A  pochta, queue -> Maildir: N messages (about 2 KiB each) enqueued with
#     pochta-queue while the runner is stopped; pochta-send is started and timed
#     until all N are in the Maildir.
#  S  pochta, SMTP -> Maildir: smtp-throughput.sh -w against pochta-smtpd under
#     tcpserver with the runner running (the same tool and load as for Postfix).
#  B  Postfix, SMTP -> Maildir: smtp-throughput.sh -w against the peer Postfix.
# Rounds run A S B, twice (A B A B), as the machine is shared.
# Everything stays on 127.0.0.1; every loop is bounded.
set -u
N=${1:-2000}
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${POCHTA_BIN:-$top/build/bin}
export PATH="$BIN:$PATH"
PEERS=${PEERS:-$top/../shared/peers}
work=$(mktemp -d /tmp/queue-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

now() { date +%s.%N; }

instance() {   # instance DIR: a fresh pochta instance with alice@example.test
  local d=$1
  export POCHTA_CONF=$d/etc
  pochta -C "$POCHTA_CONF" init --queue "$d/queue" --mail "$d/mail" --hostname mx.example.test >/dev/null 2>&1
  # connection limits above the load, with lock files of our own (pochta-config(5))
  mkdir -p "$d/run"; echo "$d/run" >"$POCHTA_CONF/rundir"
  printf '%s 1000 1000\n' smtp submission pop3 imap >"$POCHTA_CONF/connlimits"
  pochta -C "$POCHTA_CONF" domain add example.test >/dev/null 2>&1
  pochta -C "$POCHTA_CONF" user add alice@example.test --password secret >/dev/null 2>&1
  echo 20 >"$POCHTA_CONF/concurrencylocal"
  MD=$d/mail/example.test/alice/Maildir
}

count() { find "$MD/new" -type f 2>/dev/null | wc -l; }

round_a() {
  local d=$work/a$1 t0 t1 i
  instance "$d"
  head -c 1500 /dev/urandom | base64 -w 76 >"$work/body"
  { printf 'From: bench@example.test\nTo: alice@example.test\nSubject: bench\n\n'; cat "$work/body"; } >"$work/msg"
  printf 'Fbench@example.test\0Talice@example.test\0\0' >"$work/env"
  # Enqueue in 4 parallel writers (the runner is not running yet).
  for w in 1 2 3 4; do
    ( for i in $(seq 1 $((N / 4))); do pochta-queue <"$work/msg" 1<"$work/env" 2>/dev/null || echo fail; done ) &
  done
  wait
  local queued; queued=$(ls "$d/queue/new" | wc -l)
  t0=$(now)
  pochta-send 2>"$d/send.log" & local sp=$!; pids+=("$sp")
  i=0
  while [ "$(count)" -lt "$queued" ] && [ $i -lt 6000 ]; do sleep 0.05; i=$((i+1)); done
  t1=$(now)
  kill "$sp"; wait "$sp" 2>/dev/null
  local got; got=$(count)
  awk -v n="$got" -v a="$t0" -v b="$t1" -v q="$queued" \
    'BEGIN { printf "A pochta queue->Maildir: queued=%d delivered=%d seconds=%.2f msgs_per_s=%.1f\n", q, n, b-a, n/(b-a) }'
  rm -rf "$d"
}

round_s() {
  local d=$work/s$1
  instance "$d"
  pochta-send 2>"$d/send.log" & local sp=$!; pids+=("$sp")
  tcpserver -1 -HR -c 100 -l localhost 127.0.0.1 0 pochta-smtpd >"$d/port" 2>/dev/null & local tp=$!; pids+=("$tp")
  local i=0; while [ ! -s "$d/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
  "$PEERS/smtp-throughput.sh" -m "$N" -s 20 -l 2048 -w "$MD" "127.0.0.1:$(head -1 "$d/port")" 2>&1 |
    grep -E '^median (accepted|delivered)' | sed 's/^/S pochta smtp->Maildir: /'
  kill "$tp" "$sp"; wait "$tp" "$sp" 2>/dev/null
  rm -rf "$d"
}

round_b() {
  "$PEERS/smtp-throughput.sh" -m "$N" -s 20 -l 2048 -w /tmp/peers/mail/alice/Maildir 127.0.0.1:2525 2>&1 |
    grep -E '^median (accepted|delivered)' | sed 's/^/B postfix smtp->Maildir: /'
}

echo "# queue-deliver: N=$N host: $(nproc) cpus, loadavg $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ)"
have_peers=
if [ -x "$PEERS/up.sh" ] && [ -x "$PEERS/smtp-throughput.sh" ] && [ "$(id -u)" = 0 ]; then
  if "$PEERS/up.sh" >/dev/null 2>&1; then have_peers=1; else echo "# peers: up.sh failed, pochta figures only"; fi
else
  echo "# peers: ../shared/peers not available, pochta figures only"
fi
for r in 1 2; do
  round_a "$r"
  if [ -n "$have_peers" ]; then round_s "$r"; round_b; fi
done
