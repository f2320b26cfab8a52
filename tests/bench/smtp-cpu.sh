#!/usr/bin/env bash
# smtp-cpu.sh [-m MESSAGES] [-s SESSIONS]: CPU time per message of the whole mail
# path (accept and local delivery), pochta beside Postfix, counted by a cpuacct
# cgroup around each server's process tree. On a machine other work shares, CPU per
# message is steadier than messages per second, which other processes' load moves
# by 10-25 %. pochta as deployed: tcpserver -> pochta-tlsd -> pochta-smtpd (STARTTLS
# offered), pochta-send and its worker; Postfix: master, smtpd, cleanup, qmgr,
# virtual (../shared/peers). CHECKS=on adds pochta's sender checks (DNS from a
# dnsmasq of its own on loopback), SPAM=off takes its spam score away; PEER=off leaves
# Postfix out (pochta alone, to profile it); TLS=1 does STARTTLS in every session
# (smtp-tls-client.py instead of smtp-source; Postfix offers STARTTLS); NOTLSD=1 leaves
# pochta-tlsd out (to see what it costs). Prints figures,
# asserts nothing. Root, cgroup v1 cpuacct, loopback only.
set -uo pipefail
M=2000 S=10 L=2048
while getopts "m:s:" o; do case $o in m) M=$OPTARG ;; s) S=$OPTARG ;; *) exit 2 ;; esac; done
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.bash"
top=$(cd "$here/../.." && pwd)
BIN=${POCHTA_BIN:-$top/build/bin}
export PATH="$BIN:$PATH"
peers=$(cd "$top/.." && pwd)/shared/peers
CG=/sys/fs/cgroup/cpuacct
SRC=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ "$(id -u)" = 0 ] && [ -d "$CG" ] && [ -x "$SRC" ] || { echo "smtp-cpu: needs root, $CG and smtp-source"; exit 0; }

tmp=$(mktemp -d /tmp/smtp-cpu.XXXXXX)
chmod 755 "$tmp"
cg=$CG/pochta-bench-$$
mkdir -p "$cg/pochta" "$cg/postfix"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -n "${pf:-}" ] && "$peers/down.sh" /tmp/peers-cpu >/dev/null 2>&1
  for d in "$cg/pochta" "$cg/postfix"; do cat "$d/cgroup.procs" 2>/dev/null | while read -r p; do echo "$p" >"$CG/cgroup.procs"; done; rmdir "$d" 2>/dev/null; done
  rmdir "$cg" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

export POCHTA_CONF=$tmp/etc
pochta init --queue "$tmp/queue" --mail "$tmp/mail" --state "$tmp/state" --hostname mx.example.test --owner 0:0 >/dev/null 2>&1
pochta domain add example.test >/dev/null
printf 'secret\n' | pochta user add alice@example.test >/dev/null 2>&1
bench_settings "$tmp"
if [ "${CHECKS:-off}" != off ]; then bench_local_dns "$tmp" || exit 0; pids+=("$BENCH_DNS_PID"); fi
mkdir -p "$POCHTA_CONF/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$POCHTA_CONF/tls/key.pem" \
  -out "$POCHTA_CONF/tls/cert.pem" -days 2 -subj /CN=mx.example.test 2>/dev/null
MD=$tmp/mail/example.test/alice/Maildir
front=(pochta-tlsd); [ -n "${NOTLSD:-}" ] && front=()
# the server tree starts inside the cgroup: a subshell moves itself there, then execs
( echo $BASHPID >"$cg/pochta/cgroup.procs"; exec tcpserver -1 -HR -c 300 -b 1024 -l mx.example.test 127.0.0.1 0 \
    "${front[@]}" pochta-smtpd >"$tmp/port" 2>"$tmp/smtpd.log" ) &
pids+=($!)
( echo $BASHPID >"$cg/pochta/cgroup.procs"; exec pochta-send >/dev/null 2>"$tmp/send.log" ) &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(tr -d '[:space:]' <"$tmp/port")

pf=
if [ "${PEER:-on}" != off ] && [ -x "$peers/up.sh" ] && SMTP_PORT=2825 IMAP_PORT=2843 POP3_PORT=2810 PEER_TLS=1 SUBMIT_PORT=2887 SMTPS_PORT=2865 \
    IMAPS_PORT=2893 POP3S_PORT=2895 "$peers/up.sh" /tmp/peers-cpu >"$tmp/peers.log" 2>&1; then
  pf=2825
  pm=$(cat /tmp/peers-cpu/pids/postfix.pid 2>/dev/null)
  # the master and what runs under it now (qmgr, pickup); what it starts later follows it
  for p in $pm $(pgrep -P "$pm"); do echo "$p" >"$cg/postfix/cgroup.procs"; done
fi

count() { find "$1/new" "$1/cur" -type f 2>/dev/null | wc -l; }
# run NAME PORT MAILDIR: CPU ms per message (accept and deliver), wall msg/s
run() {
  local name=$1 p=$2 md=$3 n0 u0 u1 t0 t1
  n0=$(count "$md"); u0=$(cat "$cg/$name/cpuacct.usage"); t0=$(date +%s.%N)
  if [ -n "${TLS:-}" ]; then python3 "$here/smtp-tls-client.py" 127.0.0.1 "$p" "$M" "$S" "$L" >"$tmp/client.out" 2>&1
  else "$SRC" -s "$S" -m "$M" -l "$L" -f a@example.test -t alice@example.test "127.0.0.1:$p" >/dev/null 2>&1; fi
  for _ in $(seq 6000); do [ "$(count "$md")" -ge $((n0 + M)) ] && break; sleep 0.05; done
  sleep 0.3   # the last deliveries' bookkeeping
  t1=$(date +%s.%N); u1=$(cat "$cg/$name/cpuacct.usage")
  awk -v n="$M" -v u="$((u1 - u0))" -v a="$t0" -v b="$t1" -v w="$name" \
    'BEGIN { printf "%s cpu=%.3f ms/msg rate=%.1f msg/s\n", w, u / 1e6 / n, n / (b - a) }'
  if [ -n "${TLS:-}" ]; then echo "# $name client: $(tail -n 1 "$tmp/client.out")"; fi
}
echo "# smtp-cpu: bin=$BIN checks=${CHECKS:-off} spam=${SPAM:-on} tls=${TLS:-off} messages=$M sessions=$S load=$(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%FT%TZ)"
for r in 1 2; do
  run pochta "$port" "$tmp/mail/example.test/alice/Maildir"
  [ -n "$pf" ] && run postfix "$pf" /tmp/peers-cpu/mail/alice/Maildir
done
