#!/usr/bin/env bash
# smtp-accept.sh [-m MESSAGES] [-l BYTES] [-r RUNS]: messages accepted per second by
# pochta-smtpd under tcpserver (real pochta-queue, pochta-send delivering meanwhile
# when built), with 10 and 50 concurrent sessions, one message per connection,
# driven by Postfix's smtp-source. When ../shared/peers exists (the steering
# checkout), Postfix itself is measured the same way, interleaved A B A B, and the
# ratio is printed. Prints figures only; asserts nothing. Loopback only.
set -uo pipefail
M=2000 L=2048 R=2
while getopts "m:l:r:" o; do
  case $o in m) M=$OPTARG ;; l) L=$OPTARG ;; r) R=$OPTARG ;; *) exit 2 ;; esac
done
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
BIN=${POCHTA_BIN:-$top/build/bin}
export PATH="$BIN:$PATH"
SRC=$(command -v smtp-source || echo /usr/sbin/smtp-source)
[ -x "$SRC" ] || { echo "smtp-accept: smtp-source not found (Debian package postfix)"; exit 0; }
command -v pochta-smtpd >/dev/null || { echo "smtp-accept: pochta-smtpd not built ($BIN)"; exit 0; }
peers=$(cd "$top/.." && pwd)/shared/peers

tmp=$(mktemp -d /tmp/smtp-accept.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
export POCHTA_CONF=$tmp/etc
pochta -C "$POCHTA_CONF" init --queue "$tmp/queue" --mail "$tmp/mail" --hostname mx.example.test >/dev/null
pochta -C "$POCHTA_CONF" domain add example.test >/dev/null
pochta -C "$POCHTA_CONF" user add alice@example.test --password secret >/dev/null
# connection limits above the load, with lock files of our own (pochta-config(5))
mkdir -p "$tmp/run"; echo "$tmp/run" >"$POCHTA_CONF/rundir"
printf '%s 1000 1000\n' smtp submission pop3 imap >"$POCHTA_CONF/connlimits"
tcpserver -1 -HR -c 300 -b 1024 -l localhost 127.0.0.1 0 pochta-smtpd >"$tmp/port" 2>"$tmp/smtpd.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
port=$(tr -d '[:space:]' <"$tmp/port")
if command -v pochta-send >/dev/null; then pochta-send 2>"$tmp/send.log" & pids+=($!); fi

# ours PORT SESSIONS -> msg/s (accept only)
rate() {
  local t0 t1
  t0=$(date +%s.%N)
  timeout 300 "$SRC" -s "$2" -m "$M" -l "$L" -f a@example.test -t alice@example.test "127.0.0.1:$1" >/dev/null 2>&1 || { echo fail; return; }
  t1=$(date +%s.%N)
  awk -v n="$M" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", n/(b-a)}'
}
median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) printf "%.1f", a[(NR+1)/2]; else printf "%.1f", (a[NR/2]+a[NR/2+1])/2}'; }

pf=
if [ -x "$peers/up.sh" ] && [ "$(id -u)" = 0 ]; then
  "$peers/up.sh" >/dev/null 2>&1 && pf=${SMTP_PORT_PEER:-2525}
fi
echo "# smtp-accept: messages=$M size=$L runs=$R cpus=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%FT%TZ)"
for s in 10 50; do
  ours=() theirs=()
  for r in $(seq "$R"); do
    x=$(rate "$port" "$s"); ours+=("$x"); echo "sessions=$s run=$r pochta=$x msg/s"
    if [ -n "$pf" ]; then
      y=$(rate "$pf" "$s"); theirs+=("$y"); echo "sessions=$s run=$r postfix=$y msg/s"
    fi
  done
  a=$(printf '%s\n' "${ours[@]}" | grep -v fail | median)
  if [ -n "$pf" ]; then
    b=$(printf '%s\n' "${theirs[@]}" | grep -v fail | median)
    echo "sessions=$s median pochta=$a postfix=$b ratio=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.2f", b ? a/b : 0}')"
  else
    echo "sessions=$s median pochta=$a (no ../shared/peers: Postfix not measured)"
  fi
done
