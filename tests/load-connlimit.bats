#!/usr/bin/env bats
# Connection limits (lib/connlimit.h, connlimits in pochta-config(5)): a full
# service answers at once (421 4.7.0, -ERR) instead of leaving clients in the
# listen backlog, one source cannot take every slot, and a session that ends in
# any way (kill -9 included) frees its slot.

load helpers

setup() {
  instance_new
  allow_plain_auth
  smtpd_fakeq
  HOLD="$TESTS_DIR/connhold.py"
}

teardown() { stop_all; }

# hold NAME PORT N [ARGS]: N connections held open in the background; what each
# was told first lands in NAME.out
hold() {
  local name=$1; shift
  python3 "$HOLD" "$@" --hold 120 >"$BATS_TEST_TMPDIR/$name.out" 2>>"$BATS_TEST_TMPDIR/$name.log" &
  echo $! >"$BATS_TEST_TMPDIR/$name.pid"
}
held() { [ "$(wc -l <"$BATS_TEST_TMPDIR/$1.out")" -ge "$2" ]; }

@test "connlimit smtpd: the per-source limit answers 421 at once; another source is served; kill -9 frees the slot" {
  echo 'smtp 50 2' >"$POCHTA_CONF/connlimits"
  start_smtpd
  hold two "$SMTP_PORT" 2
  wait_for 10 held two 2
  run cat "$BATS_TEST_TMPDIR/two.out"
  assert_output "220 mx.example.test ESMTP pochta
220 mx.example.test ESMTP pochta"
  run python3 "$HOLD" "$SMTP_PORT" 3 --wait 5
  assert_output "421 4.7.0 mx.example.test Error: too many connections from your address, try again later
421 4.7.0 mx.example.test Error: too many connections from your address, try again later
421 4.7.0 mx.example.test Error: too many connections from your address, try again later"
  grep -q 'event=connlimit .*ip=127.0.0.1 result=source-full' "$BATS_TEST_TMPDIR/smtpd.log"
  # 127.0.0.2 is another source
  run python3 "$HOLD" "$SMTP_PORT" 2 --src 127.0.0.2 --wait 5
  assert_output "220 mx.example.test ESMTP pochta
220 mx.example.test ESMTP pochta"
  # a session killed with SIGKILL leaves no slot taken
  victim=$(pgrep -P "$(cat "$BATS_TEST_TMPDIR/smtpd.pid")" -x pochta-smtpd | head -n1)
  [ -n "$victim" ]
  kill -9 "$victim"
  wait_for 10 eval '! kill -0 '"$victim"' 2>/dev/null'
  run python3 "$HOLD" "$SMTP_PORT" 1 --wait 5
  assert_output "220 mx.example.test ESMTP pochta"
}

@test "connlimit smtpd: a full service answers every client at once; submission and relay clients count apart" {
  echo 'smtp 20 0
submission 1 1' >"$POCHTA_CONF/connlimits"
  start_smtpd
  hold twenty "$SMTP_PORT" 20
  wait_for 20 held twenty 20
  [ "$(grep -c '^220 ' "$BATS_TEST_TMPDIR/twenty.out")" = 20 ]
  # 60 more at once: every one gets its answer, none waits in the backlog
  run python3 "$HOLD" "$SMTP_PORT" 60 --wait 10
  [ "$(grep -c '^421 4.7.0 mx.example.test Error: too many connections, try again later$' <<<"$output")" = 60 ]
  grep -q 'event=connlimit .*result=full' "$BATS_TEST_TMPDIR/smtpd.log"
  # submission has slots of its own
  start_tcpserver sub SUB_PORT pochta-smtpd -s
  run python3 "$HOLD" "$SUB_PORT" 2 --wait 5
  [ "$(grep -c '^220 mx.example.test ESMTP pochta$' <<<"$output")" = 1 ]
  [ "$(grep -c '^421 4.7.0 mx.example.test Error: too many connections from your address, try again later$' <<<"$output")" = 1 ]
  # clients allowed to relay (RELAYCLIENT, as Postfix's mynetworks) have no per-source limit
  RELAYCLIENT= start_tcpserver relay RELAY_PORT pochta-smtpd -s
  stop sub
  echo 'submission 5 1' >"$POCHTA_CONF/connlimits"
  run python3 "$HOLD" "$RELAY_PORT" 3 --wait 5
  [ "$(grep -c '^220 ' <<<"$output")" = 3 ]
}

@test "connlimit pop3d: a logged-in session keeps its slot (in pochta-wait); -ERR when full; logout frees it" {
  printf 'Subject: x\n\ny\n' | put_mail "$(maildir_of alice@example.test)"
  echo 'pop3 1 0' >"$POCHTA_CONF/connlimits"
  start_pop3d
  hold in "$POP3_PORT" 1 --login alice@example.test:secret
  wait_for 10 held in 1
  run cat "$BATS_TEST_TMPDIR/in.out"
  assert_output --regexp '^\+OK .* \| \+OK Logged in, 1 messages'
  run python3 "$HOLD" "$POP3_PORT" 2 --wait 5
  assert_output "-ERR [SYS/TEMP] Too many connections, try again later
-ERR [SYS/TEMP] Too many connections, try again later"
  grep -q 'event=connlimit .*result=full' "$BATS_TEST_TMPDIR/pop3d.log"
  stop in
  wait_for 10 eval 'python3 "$HOLD" "$POP3_PORT" 1 --wait 5 | grep -q "^+OK"'
}

@test "connlimit imapd: BYE when full or when the source has its share; a logged-in session keeps its slot (in pochta-wait); logout frees it" {
  echo 'imap 1 0' >"$POCHTA_CONF/connlimits"
  start_imapd
  hold in "$IMAP_PORT" 1 --login alice@example.test:secret
  wait_for 10 held in 1
  run cat "$BATS_TEST_TMPDIR/in.out"
  assert_output --regexp '^\* OK .* \| a OK '
  # the pre-login process became pochta-wait and still holds the slot
  run python3 "$HOLD" "$IMAP_PORT" 2 --wait 5
  assert_output "* BYE [UNAVAILABLE] Too many connections, try again later
* BYE [UNAVAILABLE] Too many connections, try again later"
  grep -q 'event=connlimit ip=127.0.0.1 result=full' "$BATS_TEST_TMPDIR/imapd.log"
  stop in
  wait_for 10 eval 'python3 "$HOLD" "$IMAP_PORT" 1 --wait 5 | grep -q "^\* OK"'
  # a per-source share: 127.0.0.1 may hold two, a third is told so (once the
  # probes above have ended: a session's slot goes when its process does)
  echo 'imap 10 2' >"$POCHTA_CONF/connlimits"
  three() {
    python3 "$HOLD" "$IMAP_PORT" 3 --wait 5 >"$BATS_TEST_TMPDIR/three.out"
    [ "$(grep -c '^\* OK ' "$BATS_TEST_TMPDIR/three.out")" = 2 ] &&
      grep -qxF "* BYE [UNAVAILABLE] Too many connections from your address, try again later" "$BATS_TEST_TMPDIR/three.out"
  }
  wait_for 10 three
  grep -q 'event=connlimit ip=127.0.0.1 result=source-full' "$BATS_TEST_TMPDIR/imapd.log"
}

@test "connlimit: a broken connlimits is a temporary failure; an unusable lock directory is served and logged" {
  echo 'smtp lots' >"$POCHTA_CONF/connlimits"
  start_smtpd
  start_pop3d
  run python3 "$HOLD" "$SMTP_PORT" 1 --wait 5
  assert_output "421 4.3.0 mx.example.test Error: configuration fault, try again later"
  run python3 "$HOLD" "$POP3_PORT" 1 --wait 5
  assert_output "-ERR [SYS/TEMP] Configuration fault, try again later"
  grep -q 'event=error .*connlimits: a line is not' "$BATS_TEST_TMPDIR/smtpd.log"
  echo 'smtp 10 abc' >"$POCHTA_CONF/connlimits"
  run python3 "$HOLD" "$SMTP_PORT" 1 --wait 5
  assert_output "421 4.3.0 mx.example.test Error: configuration fault, try again later"
  # a limit the admin set, a directory that is not there: mail still flows, and the log says why
  echo 'smtp 10 2' >"$POCHTA_CONF/connlimits"
  echo "$BATS_TEST_TMPDIR/nonexistent" >"$POCHTA_CONF/rundir"
  run python3 "$HOLD" "$SMTP_PORT" 3 --wait 5
  [ "$(grep -c '^220 ' <<<"$output")" = 3 ]
  grep -q 'event=warning .*what="cannot open .*/nonexistent/smtp.lock: No such file or directory; no connection limit enforced"' \
    "$BATS_TEST_TMPDIR/smtpd.log"
  echo "relative/dir" >"$POCHTA_CONF/rundir"
  run python3 "$HOLD" "$SMTP_PORT" 1 --wait 5
  assert_output "421 4.3.0 mx.example.test Error: configuration fault, try again later"
}
