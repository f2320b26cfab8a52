#!/bin/sh
# Messages per second delivered by pochta-remote to Postfix's smtp-sink on
# loopback, with 1, 10 and 50 deliveries at once. Each delivery is one
# pochta-remote process (one message, one recipient), as the runner starts
# them. No DNS: the domain is the literal [127.0.0.1], the port comes from
# POCHTA_REMOTE_PORT. Prints figures, asserts nothing.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${POCHTA_BIN:-$top/build/bin}
command -v smtp-sink >/dev/null || { echo "remote-sink: smtp-sink (postfix) missing, skipped"; exit 0; }
[ -x "$bin/pochta-remote" ] || { echo "remote-sink: $bin/pochta-remote not built"; exit 0; }
tmp=$(mktemp -d)
trap 'kill $sink 2>/dev/null || true; rm -rf "$tmp"' EXIT INT TERM
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# -c: count; 256 concurrent sessions; pipelining and 8BITMIME offered by default
smtp-sink -u nobody 127.0.0.1:$port 256 &
sink=$!
sleep 0.5
mkdir -p "$tmp/conf"; echo bench.test >"$tmp/conf/me"
{ printf 'From: a@bench.test\nTo: b@sink.test\nSubject: bench\n\n'; i=0; while [ $i -lt 100 ]; do echo "line $i of a 10 kB body xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; i=$((i+1)); done; } >"$tmp/msg"
export POCHTA_CONF="$tmp/conf" POCHTA_REMOTE_PORT=$port
total=${REMOTE_BENCH_N:-500}
for conc in 1 10 50; do
  start=$(date +%s.%N)
  # total deliveries, conc at a time, each a separate pochta-remote
  seq 1 "$total" | xargs -P "$conc" -I{} sh -c \
    "'$bin/pochta-remote' '[127.0.0.1]' a@bench.test b{}@sink.test <'$tmp/msg' 2>/dev/null | grep -c '^K' >/dev/null || echo fail" \
    >"$tmp/fails"
  end=$(date +%s.%N)
  fails=$(wc -l <"$tmp/fails")
  awk -v s="$start" -v e="$end" -v n="$total" -v c="$conc" -v f="$fails" \
    'BEGIN { printf "remote-sink: concurrency %2d: %d messages in %.2f s = %.0f msg/s (%d failed)\n", c, n, e-s, n/(e-s), f }'
done
