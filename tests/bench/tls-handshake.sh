#!/bin/bash
# tls-handshake.sh: TLS figures for pochta-tlsd. Prints, asserts nothing.
#  - full handshakes per second on one implicit-TLS port (openssl s_time -new,
#    1 and 4 clients in parallel), RSA-2048 and EC P-256 certificates;
#  - the extra time a TLS session costs over plaintext (connect, greeting, QUIT);
#  - the RSS of pochta-tlsd + daemon against the daemon alone.
# The daemon is pochta-smtpd -s. Env: POCHTA_BIN (default ./build/bin), SECS (5).
# Optional: TESTSSL=1 also runs testssl.sh against the port (takes minutes).
set -u
cd "$(dirname "$0")/../.."
BIN=${POCHTA_BIN:-$PWD/build/bin}
export PATH="$BIN:$PATH"
SECS=${SECS:-5}
tmp=$(mktemp -d /tmp/tls-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

export POCHTA_CONF=$tmp/etc
mkdir -p "$POCHTA_CONF/tls"
echo mx.example.test >"$POCHTA_CONF/me"
# connection limits above the load, with lock files of our own (pochta-config(5))
mkdir -p "$tmp/run"; echo "$tmp/run" >"$POCHTA_CONF/rundir"
printf '%s 1000 1000\n' smtp submission pop3 imap >"$POCHTA_CONF/connlimits"
mkcert() {
  local key=(-newkey rsa:2048)
  [ "$1" = ec ] && key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
  openssl req -x509 "${key[@]}" -nodes -keyout "$POCHTA_CONF/tls/key.pem" -out "$POCHTA_CONF/tls/cert.pem" \
    -days 2 -subj /CN=mx.example.test 2>/dev/null
}

# serve VAR CMD...: tcpserver on a free loopback port
serve() {
  local var=$1; shift
  rm -f "$tmp/port"
  # -l: no DNS lookup of the local name per connection (it would be timed too)
  tcpserver -1 -HR -l localhost -c 400 127.0.0.1 0 "$@" >"$tmp/port" 2>>"$tmp/log" &
  pids+=($!)
  local i=0
  while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
  printf -v "$var" '%s' "$(head -n1 "$tmp/port" | tr -d '[:space:]')"
  SERVER_PID=$!
}

hs_rate() { # port clients -> handshakes/s (sum over clients)
  local port=$1 n=$2 i
  for i in $(seq "$n"); do
    openssl s_time -connect "127.0.0.1:$port" -new -time "$SECS" 2>/dev/null \
      | sed -n 's/.*connections in .* \([0-9.]*\) connections\/user sec.*//; s/^\([0-9]*\) connections in \([0-9.]*\) real seconds.*/\1 \2/p' >"$tmp/st.$i" &
  done
  wait
  awk '{ c += $1; if ($2 > t) t = $2 } END { if (t > 0) printf "%.0f", c / t; else print "n/a" }' "$tmp"/st.*
  rm -f "$tmp"/st.*
}

# CPU time (ms) that the finished children of a tcpserver used: cutime + cstime
child_cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.0f", ($16 + $17) * 1000 / hz }' "/proc/$1/stat"; }

session_ms() { # mode port count -> mean ms per session (connect, greeting, QUIT)
  python3 - "$@" <<'PY'
import socket, ssl, sys, time
mode, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
t0 = time.monotonic()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    if mode == "tls":
        s = ctx.wrap_socket(s, server_hostname="mx.example.test")
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"QUIT\r\n")
    f.readline()
    s.close()
print("%.2f" % ((time.monotonic() - t0) * 1000 / n))
PY
}

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# hold_session mode port: open a session and keep it; prints "engine_kb daemon_kb"
hold_rss() {
  local mode=$1 port=$2 srv=$3
  python3 - "$mode" "$port" <<'PY' &
import socket, ssl, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
if mode == "tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
    s = ctx.wrap_socket(s, server_hostname="mx.example.test")
s.recv(1000); s.sendall(b"EHLO bench.test\r\n"); s.recv(1000)
time.sleep(8)
PY
  local cl=$!
  local child= eng=0 dmn=0 i=0
  # wait until the session is up (the daemon has greeted: its child exists)
  while [ $i -lt 50 ]; do
    child=$(pgrep -P "$srv" | head -1)
    if [ -n "$child" ] && { [ "$mode" = plain ] || [ -n "$(pgrep -P "$child")" ]; }; then break; fi
    sleep 0.2; i=$((i+1))
  done
  sleep 1
  if [ "$mode" = tls ]; then
    eng=$(rss_kb "$child"); dmn=$(rss_kb "$(pgrep -P "$child" | head -1)")
  else
    dmn=$(rss_kb "$child")
  fi
  wait $cl
  echo "${eng:-0} ${dmn:-0}"
}

echo "tls-handshake: $(nproc) CPUs, $SECS s per figure, daemon pochta-smtpd -s"
for kt in rsa ec; do
  mkcert $kt
  serve TPORT pochta-tlsd -i pochta-smtpd -s; TSRV=$SERVER_PID
  if [ $kt = ec ]; then
    c0=$(child_cpu_ms "$TSRV"); t=$(session_ms tls "$TPORT" 200); sleep 0.5; c1=$(child_cpu_ms "$TSRV")
    echo "[$kt] TLS session: wall clock $t ms, server CPU $(awk -v a=$c0 -v b=$c1 'BEGIN{printf "%.2f", (b-a)/200}') ms"
  fi
  echo "[$kt] handshakes/s, 1 client:  $(hs_rate "$TPORT" 1)"
  echo "[$kt] handshakes/s, 4 clients: $(hs_rate "$TPORT" 4)"
  if [ $kt = rsa ]; then
    serve PPORT pochta-smtpd -s; PSRV=$SERVER_PID
    c0=$(child_cpu_ms "$PSRV"); p=$(session_ms plain "$PPORT" 200); sleep 0.5; c1=$(child_cpu_ms "$PSRV")
    c2=$(child_cpu_ms "$TSRV"); t=$(session_ms tls "$TPORT" 200); sleep 0.5; c3=$(child_cpu_ms "$TSRV")
    echo "[$kt] session (connect, greeting, QUIT), wall clock: plaintext $p ms, TLS $t ms, TLS costs $(awk -v a="$t" -v b="$p" 'BEGIN{printf "%.2f", a-b}') ms more"
    echo "[$kt] server CPU per session (user+sys, all server processes): plaintext $(awk -v a=$c0 -v b=$c1 'BEGIN{printf "%.2f", (b-a)/200}') ms, TLS $(awk -v a=$c2 -v b=$c3 'BEGIN{printf "%.2f", (b-a)/200}') ms"
    read -r _ pd < <(hold_rss plain "$PPORT" "$PSRV")
    read -r te td < <(hold_rss tls "$TPORT" "$TSRV")
    echo "[$kt] RSS: daemon alone ${pd} kB; TLS: pochta-tlsd ${te} kB + daemon ${td} kB; TLS costs $((te + td - pd)) kB"
  fi
  if [ "${TESTSSL:-}" = 1 ] && [ $kt = rsa ]; then
    echo "[$kt] testssl.sh against 127.0.0.1:$TPORT (implicit TLS, SMTP daemon behind)"
    "$(command -v testssl || command -v testssl.sh)" --quiet --color 0 --warnings off --sneaky "127.0.0.1:$TPORT" 2>&1 | tee "$tmp/testssl.out" \
      | grep -E "^ (SSLv|TLS |TLS1|NPN|ALPN)|offered|VULNERABLE|not vulnerable|Overall Grade|Rating|Cipher order|Forward Secrecy|Grade cap" | head -80
  fi
  kill "$TSRV" 2>/dev/null
done
