# Helpers for tests/remote-*.bats (pochta-remote and pochta-bounce).
# Load after helpers: load helpers; load netns/remote-lib

NETNS_DIR="$TESTS_DIR/netns"

# start_fake NAME [fakesmtp options]: the scriptable SMTP peer on a loopback
# port; the port lands in FAKE_PORT, the transcript in $BATS_TEST_TMPDIR/NAME.smtp.
start_fake() {
  local name=$1; shift
  local pf="$BATS_TEST_TMPDIR/$name.port"
  rm -f "$pf"
  python3 "$NETNS_DIR/fakesmtp.py" --log "$BATS_TEST_TMPDIR/$name.smtp" "$@" >"$pf" 2>>"$BATS_TEST_TMPDIR/$name.log" &
  echo $! >"$BATS_TEST_TMPDIR/$name.pid"
  local i=0
  while [ ! -s "$pf" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
  FAKE_PORT=$(head -n1 "$pf")
  [ -n "$FAKE_PORT" ]
}

# remote_conf: a minimal configuration directory for pochta-remote alone.
remote_conf() {
  export POCHTA_CONF="$BATS_TEST_TMPDIR/rconf"
  mkdir -p "$POCHTA_CONF"
  echo mx.a.test >"$POCHTA_CONF/me"
  # short RFC 5321 timeouts so that a silent peer fails the test quickly
  export POCHTA_REMOTE_TIMEOUTS="connect=5 greeting=5 mail=5 rcpt=5 data=5 block=5 dot=5"
}

# make_cert DIR NAME: a self-signed EC certificate for NAME in DIR/cert.pem, DIR/key.pem
make_cert() {
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1/key.pem" -out "$1/cert.pem" -days 2 -subj "/CN=$2" \
    -addext "subjectAltName=DNS:$2" 2>/dev/null
}

# remote_to PORT ARGS...: run pochta-remote against 127.0.0.1:PORT (domain
# literal), message from $MSG; stdout in $output, the log in $BATS_TEST_TMPDIR/remote.err
remote_to() {
  local port=$1; shift
  POCHTA_REMOTE_PORT=$port run remote_quiet '[127.0.0.1]' "$@" <"$MSG"
}

# remote_quiet ARGS...: pochta-remote with its log kept apart from the records
remote_quiet() { pochta-remote "$@" 2>>"$BATS_TEST_TMPDIR/remote.err"; }

# fake_queue: POCHTA_QUEUE stand-in that keeps message and envelope in
# $BATS_TEST_TMPDIR/fq.msg and fq.env (NULs as newlines).
fake_queue() {
  cat >"$BATS_TEST_TMPDIR/fakeq" <<EOT
#!/bin/sh
cat >"$BATS_TEST_TMPDIR/fq.msg"
tr '\\000' '\\n' <&1 >"$BATS_TEST_TMPDIR/fq.env"
exit \${FAKEQ_EXIT:-0}
EOT
  chmod +x "$BATS_TEST_TMPDIR/fakeq"
  export POCHTA_QUEUE="$BATS_TEST_TMPDIR/fakeq"
}
