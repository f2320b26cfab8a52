#!/usr/bin/env bash
# smtp-burst.sh [-s SENDERS] [-m MESSAGES]: SENDERS concurrent SMTP clients (Python
# smtplib threads, 10 s to connect), MESSAGES messages in all, one per connection,
# against pochta-smtpd under tcpserver with tcpserver's default listen backlog (20)
# and with -b 1024 (what the man pages and test helpers use). Prints, for each:
# messages accepted and failed, wall time, and how many times the kernel's listen
# queue overflowed meanwhile (TcpExtListenOverflows, for the whole host).
# Prints figures only; asserts nothing. Loopback only.
set -uo pipefail
S=300 M=3000
while getopts "s:m:" o; do
  case $o in s) S=$OPTARG ;; m) M=$OPTARG ;; *) exit 2 ;; esac
done
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BIN=${POCHTA_BIN:-$top/build/bin}
export PATH="$BIN:$PATH"
command -v pochta-smtpd >/dev/null || { echo "smtp-burst: pochta-smtpd not built ($BIN)"; exit 0; }

tmp=$(mktemp -d /tmp/smtp-burst.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export POCHTA_CONF=$tmp/etc
pochta -C "$POCHTA_CONF" init --queue "$tmp/queue" --mail "$tmp/mail" --hostname mx.example.test >/dev/null 2>&1
pochta -C "$POCHTA_CONF" domain add example.test >/dev/null
pochta -C "$POCHTA_CONF" user add alice@example.test --password secret >/dev/null
# connection limits above the load, with lock files of our own (pochta-config(5))
mkdir -p "$tmp/run"; echo "$tmp/run" >"$POCHTA_CONF/rundir"
printf '%s 1000 1000\n' smtp submission pop3 imap >"$POCHTA_CONF/connlimits"
# the stand-in queue: the burst measures the listener, not the disk
printf '#!/bin/sh\ncat >/dev/null; cat <&1 >/dev/null; exit 0\n' >"$tmp/q"; chmod +x "$tmp/q"
export POCHTA_QUEUE=$tmp/q

overflows() {
  awk '/^TcpExt:/ { if (!seen) { n = split($0, h); seen = 1; next } split($0, v)
                    for (i = 1; i <= n; i++) if (h[i] == "ListenOverflows") print v[i] }' /proc/net/netstat
}

echo "# smtp-burst: senders=$S messages=$M cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%FT%TZ)"
for backlog in default 1024; do
  b=(); [ "$backlog" = default ] || b=(-b "$backlog")
  rm -f "$tmp/port"
  tcpserver -1 -HR "${b[@]}" -c 400 -l localhost 127.0.0.1 0 pochta-smtpd >"$tmp/port" 2>/dev/null &
  tp=$!; pids+=($tp)
  for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
  port=$(tr -d '[:space:]' <"$tmp/port")
  o0=$(overflows)
  python3 - "$port" "$S" "$M" "$backlog" "$o0" <<'PY'
import smtplib, sys, threading, time
port, senders, total, backlog = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
lock = threading.Lock(); left = [total]; ok = [0]; bad = [0]
def worker():
    while True:
        with lock:
            if not left[0]: return
            left[0] -= 1
        try:
            with smtplib.SMTP("127.0.0.1", port, local_hostname="c.test", timeout=10) as s:
                s.sendmail("x@remote.test", ["alice@example.test"], b"Subject: burst\r\n\r\nx\r\n")
            with lock: ok[0] += 1
        except Exception:
            with lock: bad[0] += 1
t0 = time.time()
ts = [threading.Thread(target=worker) for _ in range(senders)]
for t in ts: t.start()
for t in ts: t.join()
print("backlog=%s accepted=%d failed=%d seconds=%.1f" % (backlog, ok[0], bad[0], time.time() - t0), end="")
PY
  echo " listen-overflows=$(( $(overflows) - o0 ))"
  kill "$tp" 2>/dev/null; wait "$tp" 2>/dev/null
done
