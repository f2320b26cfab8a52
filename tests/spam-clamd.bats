#!/usr/bin/env bats
# clamd: ClamAV's own daemon, started by the test with a signature database the
# test writes in ClamAV's format (never a download, never freshclam): an infected
# attachment refused with 554 5.7.1, a clean one accepted, clamd stopped gives the
# configured behaviour; over its unix socket and over TCP.

load helpers
load spam/lib

setup() {
  instance_new
  attachment_msg infected >"$BATS_TEST_TMPDIR/infected"
  attachment_msg clean >"$BATS_TEST_TMPDIR/clean"
}
teardown() { stop_all; }

@test "clamd: the client alone: infected, clean, over the unix socket and TCP" {
  start_clamd
  run "$SPAMTEST" clamd "unix:$CLAMD_SOCK" "$BATS_TEST_TMPDIR/infected"
  assert_output "infected Pochta.Test.Signature.UNOFFICIAL"
  run "$SPAMTEST" clamd "unix:$CLAMD_SOCK" "$BATS_TEST_TMPDIR/clean"
  assert_output clean
  run "$SPAMTEST" clamd "tcp:127.0.0.1:$CLAMD_PORT" "$BATS_TEST_TMPDIR/infected"
  assert_output "infected Pochta.Test.Signature.UNOFFICIAL"
  run "$SPAMTEST" clamd "tcp:localhost:$CLAMD_PORT" "$BATS_TEST_TMPDIR/clean"
  assert_output clean
  # a message larger than one INSTREAM chunk, the signature at its end
  { attachment_msg clean; head -c 300000 /dev/zero | tr '\0' 'a'; printf '\n%s\n' "$CLAMD_SIG"; } >"$BATS_TEST_TMPDIR/long"
  run "$SPAMTEST" clamd "unix:$CLAMD_SOCK" "$BATS_TEST_TMPDIR/long"
  assert_output "infected Pochta.Test.Signature.UNOFFICIAL"
}

@test "clamd: at the end of DATA an infected message gets 554 5.7.1, a clean one X-Virus-Status: Clean" {
  start_clamd
  echo "clamd unix:$CLAMD_SOCK" >"$POCHTA_CONF/spam"
  run pochta spam check --ip 192.0.2.1 --helo mail.sender.test <"$BATS_TEST_TMPDIR/infected"
  assert_line --index 0 virus
  assert_line --index 1 "554 5.7.1 Message refused: it contains a virus (Pochta.Test.Signature.UNOFFICIAL)"
  assert_line --partial "virus=Pochta.Test.Signature.UNOFFICIAL"
  run pochta spam check --ip 192.0.2.1 --helo mail.sender.test <"$BATS_TEST_TMPDIR/clean"
  assert_line --index 0 accept
  assert_line "X-Virus-Status: Clean"
  echo "clamd tcp:127.0.0.1:$CLAMD_PORT" >"$POCHTA_CONF/spam"
  run pochta spam check --ip 192.0.2.1 <"$BATS_TEST_TMPDIR/infected"
  assert_line --index 0 virus
}

@test "clamd: stopped, strict (the default) gives 451 4.3.0; lenient accepts and says so; never a silent pass" {
  start_clamd
  echo "clamd unix:$CLAMD_SOCK" >"$POCHTA_CONF/spam"
  run pochta spam check --ip 192.0.2.1 <"$BATS_TEST_TMPDIR/clean"
  assert_line --index 0 accept
  stop clamd
  wait_for 10 sh -c "! '$SPAMTEST' clamd 'unix:$CLAMD_SOCK' '$BATS_TEST_TMPDIR/clean' | grep -q '^clean'"
  run pochta spam check --ip 192.0.2.1 <"$BATS_TEST_TMPDIR/infected"
  assert_line --index 0 tempfail
  assert_line --index 1 "451 4.3.0 The virus scanner is not available: please try again later"
  assert_line --partial "clamd=error"
  printf 'clamd unix:%s\nclamd-failure accept\n' "$CLAMD_SOCK" >"$POCHTA_CONF/spam"
  run pochta spam check --ip 192.0.2.1 <"$BATS_TEST_TMPDIR/infected"
  assert_line --index 0 accept
  assert_line --regexp '^X-Virus-Status: Unscanned \(connect to clamd: (No such file or directory|Connection refused)\)$'
  # TCP, nobody listening
  printf 'clamd tcp:127.0.0.1:%s\n' "$CLAMD_PORT" >"$POCHTA_CONF/spam"
  run pochta spam check --ip 192.0.2.1 <"$BATS_TEST_TMPDIR/clean"
  assert_line --index 0 tempfail
}

@test "clamd: a peer that is not clamd (garbage, silence, a half answer) is an error within the timeout" {
  sock="$BATS_TEST_TMPDIR/fake.sock"
  for mode in garbage silent close half; do
    rm -f "$sock"
    python3 - "$sock" "$mode" 2>>"$BATS_TEST_TMPDIR/fake.log" <<'PY' &
import socket, sys, time
path, mode = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX)
s.bind(path); s.listen(1)
c, _ = s.accept()
c.recv(10)
if mode == "garbage": c.sendall(b"\xff\xfe stream: OK but not really" * 100)
elif mode == "silent": time.sleep(30)
elif mode == "half": c.sendall(b"stream: Some.Thing FOU")
c.close()
PY
    echo $! >"$BATS_TEST_TMPDIR/fake.pid"
    wait_for 5 test -S "$sock"
    run "$SPAMTEST" clamd "unix:$sock" "$BATS_TEST_TMPDIR/clean" 2
    echo "$mode: $output"
    assert_output --regexp '^error '
    stop fake
  done
}
