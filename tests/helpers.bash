# Shared helpers for the bats suites. Load with: load helpers
# Every test gets its own instance under $BATS_TEST_TMPDIR; nothing leaves loopback.

bats_load_library bats-support
bats_load_library bats-assert

: "${POCHTA_BIN:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)/build/bin}"
export PATH="$POCHTA_BIN:$PATH"
TESTS_DIR="$BATS_TEST_DIRNAME"

# instance_new [DIR]: a fresh instance: domain example.test, users alice and bob
# (password "secret"), queue and mail store inside DIR. Sets and exports
# INST, POCHTA_CONF, QUEUE, MAILROOT.
instance_new() {
  INST=${1:-$BATS_TEST_TMPDIR/inst}
  export POCHTA_CONF="$INST/etc"
  QUEUE="$INST/queue"; MAILROOT="$INST/mail"
  pochta -C "$POCHTA_CONF" init --queue "$QUEUE" --mail "$MAILROOT" --hostname mx.example.test >/dev/null
  pochta -C "$POCHTA_CONF" domain add example.test >/dev/null
  pochta -C "$POCHTA_CONF" user add alice@example.test --password secret >/dev/null
  pochta -C "$POCHTA_CONF" user add bob@example.test --password secret >/dev/null
  export INST QUEUE MAILROOT
}

# maildir_of ADDR: the user's Maildir path.
maildir_of() {
  local u=${1%@*} d=${1#*@}
  echo "$MAILROOT/$d/$u/Maildir"
}

# bg NAME CMD...: start CMD in the background, remember its pid for teardown.
bg() {
  local name=$1; shift
  "$@" 2>>"$BATS_TEST_TMPDIR/$name.log" &
  echo $! >"$BATS_TEST_TMPDIR/$name.pid"
}

# start_tcpserver NAME VAR CMD...: run CMD under tcpserver on a free loopback port;
# the port lands in variable VAR. tcpserver -1 prints the port it bound.
start_tcpserver() {
  local name=$1 var=$2; shift 2
  local portfile="$BATS_TEST_TMPDIR/$name.port"
  rm -f "$portfile"
  tcpserver -1 -HR -c 100 -l localhost 127.0.0.1 0 "$@" >"$portfile" 2>>"$BATS_TEST_TMPDIR/$name.log" &
  echo $! >"$BATS_TEST_TMPDIR/$name.pid"
  local i=0
  while [ ! -s "$portfile" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
  printf -v "$var" '%s' "$(head -n1 "$portfile" | tr -d '[:space:]')"
  export "$var"
}

# start_smtpd [ARGS...]: pochta-smtpd under tcpserver; port in SMTP_PORT.
start_smtpd() { start_tcpserver smtpd SMTP_PORT pochta-smtpd "$@"; }

# start_send: the runner in the background.
start_send() { bg send pochta-send; }

# stop NAME: kill a background program started by bg/start_tcpserver.
stop() {
  local f="$BATS_TEST_TMPDIR/$1.pid"
  [ -f "$f" ] || return 0
  kill "$(cat "$f")" 2>/dev/null || true
  rm -f "$f"
}

# stop_all: for teardown.
stop_all() {
  local f
  for f in "$BATS_TEST_TMPDIR"/*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}

# wait_for N CMD...: retry CMD every 0.1 s, at most N seconds.
wait_for() {
  local n=$(( $1 * 10 )); shift
  while [ $n -gt 0 ]; do
    "$@" && return 0
    sleep 0.1; n=$((n-1))
  done
  "$@"
}

# count_new MAILDIR: number of messages in new/ and cur/.
count_mail() {
  local d=$1
  find "$d/new" "$d/cur" -type f 2>/dev/null | wc -l
}

# queue_empty: no message left in the queue (pochta-queuectl list prints nothing).
queue_empty() { [ -z "$(pochta-queuectl list 2>/dev/null)" ]; }

# allow_plain_auth: password logins without TLS from loopback (most protocol tests).
allow_plain_auth() { echo loopback >"$POCHTA_CONF/plainauth"; }
