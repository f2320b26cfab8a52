#!/bin/sh
# pop3-download.sh [N] [SIZE]: download speed of pochta-pop3d (prints figures,
# asserts nothing). Builds a mailbox of N messages (default 10000) of about
# SIZE body octets (default 2048) in a scratch instance, serves it with
# pochta-pop3d under tcpserver on loopback, and times a pipelined client that
# RETRieves every message (keep) : messages/s and MB/s; then a 100 x 1 MB
# mailbox for bulk MB/s; then the RSS of logged-in idle connections.
# With the reference peers up (../shared/peers/up.sh), also Dovecot's POP3 RSS.
set -eu
N=${1:-10000}
SIZE=${2:-2048}
top=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${POCHTA_BIN:-$top/build/bin}
PATH="$BIN:$PATH"; export PATH
work=$(mktemp -d /tmp/pop3-bench.XXXXXX)
pids=
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT INT TERM

POCHTA_CONF=$work/etc; export POCHTA_CONF
pochta -C "$POCHTA_CONF" init --queue "$work/queue" --mail "$work/mail" --hostname mx.example.test >/dev/null
# connection limits above the load, with lock files of our own (pochta-config(5))
mkdir -p "$work/run"; echo "$work/run" >"$POCHTA_CONF/rundir"
printf '%s 1000 1000\n' smtp submission pop3 imap >"$POCHTA_CONF/connlimits"
pochta -C "$POCHTA_CONF" domain add example.test >/dev/null
pochta -C "$POCHTA_CONF" user add alice@example.test --password secret >/dev/null 2>&1
for u in bob u3 u4 u5 u6 u7 u8 u9 u10; do
  pochta -C "$POCHTA_CONF" user add $u@example.test --password secret >/dev/null 2>&1
done
echo loopback >"$POCHTA_CONF/plainauth"
MA=$work/mail/example.test/alice/Maildir
MB=$work/mail/example.test/bob/Maildir

# Fill: files named as pochta-deliver names them (with S= and W=), written
# directly to save N fsyncs.
fill() {
python3 - "$1" "$2" "$3" <<'PY'
import os, sys, time
md, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
t = int(time.time()) - n
line = b"The quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.\n"
for i in range(n):
    body = (b"From: bench@example.org\nTo: alice@example.test\nSubject: bench %d\n"
            b"Message-ID: <b%d@example.org>\n\n" % (i, i)) + (line * (size // len(line) + 1))[:size]
    if not body.endswith(b"\n"): body += b"\n"
    w = len(body) + body.count(b"\n")
    name = "%d.M%dP%dQ%d.bench,S=%d,W=%d" % (t + i, i % 1000000, os.getpid(), i, len(body), w)
    with open(os.path.join(md, "new", name), "wb") as f: f.write(body)
PY
}

tcpserver -1 -HR -c 200 -l localhost 127.0.0.1 0 pochta-pop3d >"$work/port" 2>"$work/log" &
pids="$pids $!"; srv=$!
i=0; while [ ! -s "$work/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
PORT=$(head -n1 "$work/port" | tr -d '[:space:]')

download() {
python3 - "$PORT" "$1" <<'PY'
import socket, sys, time
port, label = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port), timeout=60)
f = s.makefile("rb")
f.readline()
t0 = time.time()
s.sendall(b"USER alice@example.test\r\nPASS secret\r\nSTAT\r\n")
f.readline(); f.readline()
n = int(f.readline().split()[1])
t1 = time.time()
got = 0; total = 0; tail = b""
batch = 200
sent = 0
while got < n:
    if sent < n and sent - got < batch:
        k = min(n, sent + batch)
        s.sendall(b"".join(b"RETR %d\r\n" % i for i in range(sent + 1, k + 1)))
        sent = k
    d = s.recv(1 << 20)
    if not d: break
    total += len(d)
    buf = tail + d
    got += buf.count(b"\r\n.\r\n") - tail.count(b"\r\n.\r\n")
    tail = buf[-4:]
t2 = time.time()
s.sendall(b"QUIT\r\n"); f.close(); s.close()
dt = t2 - t1
print("pop3-download: %-10s messages=%d octets=%d login+stat=%.3fs retr_all=%.3fs msg/s=%.0f MB/s=%.1f"
      % (label, n, total, t1 - t0, dt, n / dt, total / dt / 1e6))
PY
}

fill "$MA" "$N" "$SIZE"
download "small"
download "small-warm"
rm -f "$MA"/new/*
fill "$MA" 100 1000000
download "1MB-each"

# RSS per idle logged-in connection: both processes of a session (pre-login
# waiting + post-login session).
python3 - "$PORT" "$srv" <<'PY'
import os, socket, sys, time
port, srv = int(sys.argv[1]), int(sys.argv[2])
def tree(pid):
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit(): continue
        try:
            st = open("/proc/%s/stat" % p).read()
            ppid = int(st.rsplit(")", 1)[1].split()[1])
        except Exception: continue
        if ppid == pid: out += [int(p)] + tree(int(p))
    return out
def rss(pid):
    for l in open("/proc/%d/status" % pid):
        if l.startswith("VmRSS:"): return int(l.split()[1])
    return 0
def pss(pid):
    try:
        for l in open("/proc/%d/smaps_rollup" % pid):
            if l.startswith("Pss:"): return int(l.split()[1])
    except Exception: pass
    return 0
conns = []
for i in range(10):
    s = socket.create_connection(("127.0.0.1", port), timeout=10); f = s.makefile("rb"); f.readline()
    u = [b"alice", b"bob"][i] if i < 2 else b"u%d" % (i + 1)
    s.sendall(b"USER " + u + b"@example.test\r\nPASS secret\r\n")
    f.readline(); r = f.readline(); assert r.startswith(b"+OK"), r
    conns.append((s, f))
time.sleep(0.3)
ps = [p for p in tree(srv)]
names = {}
for p in ps:
    try: names.setdefault(open("/proc/%d/comm" % p).read().strip(), []).append(p)
    except Exception: pass
r = sum(rss(p) for p in ps); q = sum(pss(p) for p in ps)
print("pop3-rss: conns=10 processes=%d rss_total=%dkB rss_per_conn=%.0fkB pss_per_conn=%.0fkB (%s)"
      % (len(ps), r, r / 10, q / 10, ", ".join("%s x%d" % (k, len(v)) for k, v in names.items())))
for s, f in conns: s.sendall(b"QUIT\r\n")
PY

if [ -f /tmp/peers/peers.env ] && [ -f /tmp/peers/pids/dovecot.pid ] && [ -x "$top/../shared/peers/conn-rss.py" ]; then
  . /tmp/peers/peers.env 2>/dev/null || true
  echo "pop3-rss: Dovecot POP3 for comparison (conn-rss.py, bob, 10 idle logged-in connections):"
  python3 "$top/../shared/peers/conn-rss.py" pop3 "127.0.0.1:${POP3_PORT:-1110}" --user bob --password secret --conns 10 \
    --tree "$(cat /tmp/peers/pids/dovecot.pid)" 2>&1 | tail -6 || true
fi
