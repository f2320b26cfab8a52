#!/usr/bin/env bats
# tools/demo-run (what ./build.sh run starts): the instance it makes, the
# --check round trip through SMTP, queue, runner and Maildir, and a clean stop.

load helpers

setup() {
  TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  export POCHTA_DEMO_DIR="$BATS_TEST_TMPDIR/run" POCHTA_DEMO_PORTBASE=0 POCHTA_BIN
  unset POCHTA_CONF
}
teardown() { stop_all; }

@test "demo-run --check: one message from swaks lands in the demo Maildir" {
  command -v swaks >/dev/null || skip "swaks missing"
  [ -x "$POCHTA_BIN/pochta-smtpd" ] && [ -x "$POCHTA_BIN/pochta-send" ] || skip "smtpd or send not built yet"
  run sh "$TOP/tools/demo-run" --check
  assert_success
  assert_output --partial "demo-run: OK: message delivered to $POCHTA_DEMO_DIR/mail/example.test/demo/Maildir/new/"
  # the instance it made
  [ -s "$POCHTA_DEMO_DIR/demo-password" ]
  [ -s "$POCHTA_DEMO_DIR/etc/tls/cert.pem" ]
  run stat -c %a "$POCHTA_DEMO_DIR/etc/tls/key.pem"
  assert_output 600
  [ ! -e "$POCHTA_DEMO_DIR/etc/plainauth" ]
  run openssl x509 -in "$POCHTA_DEMO_DIR/etc/tls/cert.pem" -noout -subject
  assert_output --partial "CN = mx.example.test"
  # nothing left running: every port file's port is closed again
  for f in "$POCHTA_DEMO_DIR"/log/*.port; do
    run python3 -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0)' "$(cat "$f")"
    assert_success
  done
}

@test "demo-run keeps its password and instance across runs" {
  command -v swaks >/dev/null || skip "swaks missing"
  [ -x "$POCHTA_BIN/pochta-smtpd" ] && [ -x "$POCHTA_BIN/pochta-send" ] || skip "smtpd or send not built yet"
  sh "$TOP/tools/demo-run" --check
  local pw; pw=$(cat "$POCHTA_DEMO_DIR/demo-password")
  run sh "$TOP/tools/demo-run" --check
  assert_success
  [ "$(cat "$POCHTA_DEMO_DIR/demo-password")" = "$pw" ]
  # the kept password logs in
  printf '%s\0%s\0x\0' demo@example.test "$pw" >"$BATS_TEST_TMPDIR/fd3"
  POCHTA_CONF="$POCHTA_DEMO_DIR/etc" run pochta-checkpassword true 3<"$BATS_TEST_TMPDIR/fd3"
  assert_success
  run sh -c "ls '$POCHTA_DEMO_DIR/mail/example.test/demo/Maildir/new' | wc -l"
  assert_output 2
}

@test "demo-run prints how to connect, and TERM stops every child" {
  [ -x "$POCHTA_BIN/pochta-smtpd" ] || skip "smtpd not built yet"
  sh "$TOP/tools/demo-run" >"$BATS_TEST_TMPDIR/demo.out" 2>&1 &
  local pid=$!
  echo $pid >"$BATS_TEST_TMPDIR/demo.pid"
  wait_for 20 grep -q "Ctrl-C stops everything" "$BATS_TEST_TMPDIR/demo.out"
  run cat "$BATS_TEST_TMPDIR/demo.out"
  assert_line --partial "user:      demo@example.test"
  assert_line --partial "password:  $(cat "$POCHTA_DEMO_DIR/demo-password")"
  assert_output --partial "swaks --server 127.0.0.1 --port $(cat "$POCHTA_DEMO_DIR/log/smtp.port" | tr -d '[:space:]')"
  local kids; kids=$(pgrep -P $pid | tr '\n' ' ')
  [ -n "$kids" ]
  # the SMTP listener answers
  run python3 -c 'import smtplib,sys; s=smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10); print(s.noop()[0]); s.quit()' "$(cat "$POCHTA_DEMO_DIR/log/smtp.port")"
  assert_output 250
  kill -TERM $pid
  wait $pid || true
  rm -f "$BATS_TEST_TMPDIR/demo.pid"
  for k in $kids; do
    wait_for 5 sh -c "! kill -0 $k 2>/dev/null"
  done
}

@test "demo-run refuses a bad port base and a missing build" {
  POCHTA_DEMO_PORTBASE=abc run sh "$TOP/tools/demo-run" --check
  assert_failure 100
  POCHTA_BIN=$BATS_TEST_TMPDIR/nothing run sh "$TOP/tools/demo-run" --check
  assert_failure 111
  run sh "$TOP/tools/demo-run" --frobnicate
  assert_failure 100
}
