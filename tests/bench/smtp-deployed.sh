#!/usr/bin/env bash
# smtp-deployed.sh [-m MESSAGES] [-r RUNS] [-s "10 50"]: pochta's mail path measured
# as deployed, beside Postfix in the same minutes (A B A B):
#   accept   smtp-source, one 2 KiB message per connection, into tcpserver ->
#            pochta-tlsd -> pochta-smtpd (STARTTLS offered, sessions in clear),
#            the runner delivering meanwhile; delivered = the last message in the
#            Maildir (Postfix: smtpd -> cleanup -> qmgr -> virtual, STARTTLS offered)
#   queue    MESSAGES queued while delivery is held, then released: time until all
#            are in the Maildir (pochta-send's worker; Postfix's qmgr + virtual)
#   rss      memory of one idle SMTP connection (pochta-tlsd + pochta-smtpd;
#            Postfix's smtpd), from ../shared/peers/conn-rss.py
# CHECKS=on measures pochta with its sender checks (DNS from a dnsmasq of the
# benchmark's own on loopback; Postfix has no milter then); the default is off.
# BENCH_DIR=DIR puts both servers' queues and Maildirs on DIR's file system (default
# /tmp): the file system decides much (see README, Benchmarks).
# SPAM=off measures pochta without the spam score (it is on by default, as deployed). Needs ../shared/peers (the steering
# checkout) for Postfix; without it only pochta is measured. Prints figures, asserts
# nothing. Root, loopback only.
set -uo pipefail
M=2000 R=3 SESS="10 50" L=2048
while getopts "m:r:s:" o; do
  case $o in m) M=$OPTARG ;; r) R=$OPTARG ;; s) SESS=$OPTARG ;; *) exit 2 ;; esac
done
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.bash"
top=$(cd "$here/../.." && pwd)
BIN=${POCHTA_BIN:-$top/build/bin}
export PATH="$BIN:$PATH"
peers=$(cd "$top/.." && pwd)/shared/peers
[ "$(id -u)" = 0 ] || { echo "smtp-deployed: run as root"; exit 0; }
SRC=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$SRC" ] || { echo "smtp-deployed: smtp-source not found (Debian package postfix)"; exit 0; }

tmp=$(mktemp -d "${BENCH_DIR:-/tmp}/smtp-deployed.XXXXXX")
chmod 755 "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}" ${runner:-}; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${pf:-}" ] && "$peers/down.sh" "$pfdir" >/dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
export POCHTA_CONF=$tmp/etc
pochta -C "$POCHTA_CONF" init --queue "$tmp/queue" --mail "$tmp/mail" --state "$tmp/state" \
  --hostname mx.example.test --owner "$(id -u):$(id -g)" >/dev/null
pochta -C "$POCHTA_CONF" domain add example.test >/dev/null
printf 'secret\n' | pochta -C "$POCHTA_CONF" user add alice@example.test >/dev/null 2>&1
mkdir -p "$POCHTA_CONF/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$POCHTA_CONF/tls/key.pem" \
  -out "$POCHTA_CONF/tls/cert.pem" -days 2 -subj /CN=mx.example.test 2>/dev/null
MD=$tmp/mail/example.test/alice/Maildir
bench_settings "$tmp"
# the checks ask a dnsmasq of our own on loopback, never the system's resolver
if [ "${CHECKS:-off}" != off ]; then bench_local_dns "$tmp" || exit 0; pids+=("$BENCH_DNS_PID"); fi

tcpserver -1 -HR -c 300 -b 1024 -l mx.example.test 127.0.0.1 0 pochta-tlsd pochta-smtpd >"$tmp/port" 2>"$tmp/smtpd.log" &
pids+=($!); tcpserver_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(tr -d '[:space:]' <"$tmp/port")
# (its stdout is not ours: a $(...) around a caller would wait for the runner's end)
runner_start() { pochta-send >/dev/null 2>>"$tmp/send.log" & runner=$!; }
runner_stop() { kill "$runner" 2>/dev/null; wait "$runner" 2>/dev/null; }
runner_start

pf= pfdir=${BENCH_DIR:-/tmp}/peers-bench
if [ -x "$peers/up.sh" ]; then
  # ports of our own, beside any peers another session runs
  if PEER_TLS=1 SMTP_PORT=2725 IMAP_PORT=2743 POP3_PORT=2710 SUBMIT_PORT=2787 SMTPS_PORT=2765 \
      IMAPS_PORT=2793 POP3S_PORT=2795 "$peers/up.sh" "$pfdir" >"$tmp/peers.log" 2>&1; then
    pf=$(sed -n 's/^SMTP=.*://p' "$pfdir/peers.env")
    PFMD=$pfdir/mail/alice/Maildir
  else
    echo "# ../shared/peers did not start: $(tail -1 "$tmp/peers.log")"
  fi
fi

# (a round that timed out says so, and is left out of the median)
median() { grep -E '^[0-9.]+$' | sort -g | awk '{a[NR]=$1} END {if (!NR) print "n/a"; else if (NR%2) printf "%.1f", a[(NR+1)/2]; else printf "%.1f", (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 > 0) printf "%.2f", a/b; else print "n/a" }'; }

# accept PORT SESSIONS MAILDIR -> "accepted delivered" msg/s (through peers' script)
accept() {
  local out
  out=$("$peers/smtp-throughput.sh" -m "$M" -s "$2" -l "$L" -w "$3" -p 1 "127.0.0.1:$1" 2>&1)
  echo "$(sed -n 's/^median accepted_msgs_per_s=\([0-9.]*\).*/\1/p' <<<"$out") $(sed -n 's/^median delivered_msgs_per_s=\([0-9.]*\).*/\1/p' <<<"$out")"
}
accept_plain() {   # without ../shared/peers
  local t0 t1
  t0=$(date +%s.%N)
  "$SRC" -s "$2" -m "$M" -l "$L" -f a@example.test -t alice@example.test "127.0.0.1:$1" >/dev/null 2>&1
  t1=$(date +%s.%N)
  awk -v n="$M" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f -", n/(b-a)}'
}
count() { find "$1/new" "$1/cur" -type f 2>/dev/null | wc -l; }

echo "# smtp-deployed: bin=$BIN ($(file -b "$BIN/pochta-smtpd" | grep -o 'static-pie linked' || echo '?'); $(strings "$BIN/pochta-smtpd" | grep -q 'Fatal glibc error' && echo glibc || echo musl)) checks=${CHECKS:-off} spam=${SPAM:-on} messages=$M runs=$R cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%FT%TZ)"
for s in $SESS; do
  oa=() od=() pa=() pd=()
  for r in $(seq "$R"); do
    if [ -n "$pf" ]; then
      read -r a d < <(accept "$port" "$s" "$MD")
      oa+=("$a"); od+=("$d"); echo "sessions=$s run=$r pochta accepted=$a delivered=$d msg/s"
      read -r a d < <(accept "$pf" "$s" "$PFMD")
      pa+=("$a"); pd+=("$d"); echo "sessions=$s run=$r postfix accepted=$a delivered=$d msg/s"
    else
      read -r a d < <(accept_plain "$port" "$s"); oa+=("$a"); echo "sessions=$s run=$r pochta accepted=$a msg/s"
    fi
  done
  A=$(printf '%s\n' "${oa[@]}" | median); D=$(printf '%s\n' "${od[@]:-}" | median)
  if [ -n "$pf" ]; then
    B=$(printf '%s\n' "${pa[@]}" | median); E=$(printf '%s\n' "${pd[@]}" | median)
    echo "sessions=$s median accept pochta=$A postfix=$B ratio=$(ratio "$A" "$B"); delivered pochta=$D postfix=$E ratio=$(ratio "$D" "$E")"
  else
    echo "sessions=$s median accept pochta=$A (no ../shared/peers)"
  fi
done

# queue -> Maildir: fill while delivery is held, then release and time it
# (these set QRATE rather than print it: in a $(...) the runner would be started in
# a subshell, and the next round's runner_stop could not stop it)
queue_pochta() {
  local n0 t0 t1
  runner_stop
  "$SRC" -s 20 -m "$M" -l "$L" -f a@example.test -t alice@example.test "127.0.0.1:$port" >/dev/null 2>&1
  n0=$(count "$MD")
  t0=$(date +%s.%N); runner_start
  for _ in $(seq 6000); do [ "$(count "$MD")" -ge $((n0 + M)) ] && break; sleep 0.05; done
  t1=$(date +%s.%N)
  QRATE=$(awk -v n="$(( $(count "$MD") - n0 ))" -v m="$M" -v a="$t0" -v b="$t1" 'BEGIN{ if (n < m) printf "timeout(%d/%d)", n, m; else printf "%.1f", n/(b-a)}')
}
queue_postfix() {
  local pc="$pfdir/postfix/etc" n0 t0 t1
  postconf -c "$pc" -e defer_transports=smtp,virtual >/dev/null; postfix -c "$pc" reload >/dev/null 2>&1
  "$SRC" -s 20 -m "$M" -l "$L" -f a@example.test -t alice@example.test "127.0.0.1:$pf" >/dev/null 2>&1
  for _ in $(seq 600); do [ "$(postqueue -c "$pc" -j 2>/dev/null | wc -l)" -ge "$M" ] && break; sleep 0.1; done
  n0=$(count "$PFMD")
  postconf -c "$pc" -e defer_transports=smtp >/dev/null
  t0=$(date +%s.%N)
  postfix -c "$pc" reload >/dev/null 2>&1; postqueue -c "$pc" -f
  for _ in $(seq 6000); do [ "$(count "$PFMD")" -ge $((n0 + M)) ] && break; sleep 0.05; done
  t1=$(date +%s.%N)
  QRATE=$(awk -v n="$(( $(count "$PFMD") - n0 ))" -v m="$M" -v a="$t0" -v b="$t1" 'BEGIN{ if (n < m) printf "timeout(%d/%d)", n, m; else printf "%.1f", n/(b-a)}')
}
oq=() pq=()
for r in $(seq "$R"); do
  queue_pochta; oq+=("$QRATE"); echo "queue run=$r pochta delivered=$QRATE msg/s"
  if [ -n "$pf" ]; then queue_postfix; pq+=("$QRATE"); echo "queue run=$r postfix delivered=$QRATE msg/s"; fi
done
A=$(printf '%s\n' "${oq[@]}" | median)
if [ -n "$pf" ]; then B=$(printf '%s\n' "${pq[@]}" | median); echo "queue median pochta=$A postfix=$B ratio=$(ratio "$A" "$B")"
else echo "queue median pochta=$A"; fi

if [ -n "$pf" ] && [ -x "$peers/conn-rss.py" ]; then
  echo "# rss of idle SMTP connections (EHLO done): pochta (tcpserver tree: pochta-tlsd + pochta-smtpd), then Postfix"
  python3 "$peers/conn-rss.py" smtp "127.0.0.1:$port" --conns 20 --tree "$tcpserver_pid" 2>&1 | tail -4
  python3 "$peers/conn-rss.py" smtp "127.0.0.1:$pf" --conns 20 --tree "$(cat "$pfdir/pids/postfix.pid" 2>/dev/null)" 2>&1 | tail -4
fi
