#!/usr/bin/env bats
# A local mistake in the configuration is a temporary failure everywhere, loudly
# logged: nothing is bounced, refused with 5xx or delivered as root, and everything
# queued arrives once it is mended (issue: never lose mail to a local mistake).
load helpers

setup() {
  instance_new
  echo 1 >"$POCHTA_CONF/retrymin"
}
teardown() {
  stop_all
  if [ -f "$BATS_TEST_TMPDIR/cleanup-dir" ]; then rm -rf "$(cat "$BATS_TEST_TMPDIR/cleanup-dir")"; fi
}

runner() { bg send pochta-send; wait_for 20 grep -q event=start "$BATS_TEST_TMPDIR/send.log"; }
# stop_runner: stop it and wait until it is gone (it holds the queue's lock until then)
stop_runner() {
  local pid
  [ -f "$BATS_TEST_TMPDIR/send.pid" ] || return 0
  pid=$(cat "$BATS_TEST_TMPDIR/send.pid")
  stop send
  wait_for 10 bash -c "! kill -0 $pid 2>/dev/null"
  : >"$BATS_TEST_TMPDIR/send.log"
}
slog() { cat "$BATS_TEST_TMPDIR/send.log"; }

# break_users HOW: missing, empty, zeros, truncated, foreign
break_users() {
  local f=$POCHTA_CONF/users.cdb
  case $1 in
    missing) rm -f "$f" ;;
    empty) : >"$f" ;;
    zeros) head -c 4096 /dev/zero >"$f" ;;
    truncated) head -c "$(($(stat -c %s "$f") / 2))" "$f" >"$f.t" && mv "$f.t" "$f" ;;
    foreign) python3 -c '
import struct, sys
# a valid cdb with one record that pochta compile never writes
k, v = b"u:alice@example.test", b"/nonexistent"
rec = struct.pack("<II", len(k), len(v)) + k + v
h = 5381
for c in k: h = ((h << 5) + h ^ c) & 0xffffffff
pos = 2048 + len(rec)
tables = [b""] * 256
tables[h & 255] = struct.pack("<II", h, 2048) + struct.pack("<II", 0, 0)
head = b""; off = pos
for t in tables:
    head += struct.pack("<II", off, len(t) // 8); off += len(t)
sys.stdout.buffer.write(head + rec + b"".join(tables))' >"$f" ;;
  esac
}

@test "faults: a missing, empty, zero-filled, truncated or foreign users.cdb: queued local mail waits, then arrives" {
  n=0
  for how in missing empty zeros truncated foreign; do
    n=$((n + 1))
    stop_runner
    q_enqueue "Fbob@example.test\0Talice@example.test\0\0" "Subject: $how"$'\n\nx\n'
    cp "$POCHTA_CONF/users.cdb" "$BATS_TEST_TMPDIR/good.cdb"
    break_users "$how"
    runner
    wait_for 10 grep -q 'event=config file=users.cdb result=fault' "$BATS_TEST_TMPDIR/send.log"
    sleep 2
    # nothing delivered, nothing failed, nothing bounced; said once, loudly
    run slog
    refute_output --partial 'kind=remote'
    refute_output --partial 'result=fail'
    refute_output --partial 'event=bounce'
    [ "$(grep -c 'result=fault' "$BATS_TEST_TMPDIR/send.log")" = 1 ]
    pochta compile
    wait_for 20 user_has alice@example.test "$n"
    grep -q 'event=config file=users.cdb result=ok' "$BATS_TEST_TMPDIR/send.log"
  done
  wait_for 10 queue_empty
}

# greeting PORT: what the server says first (it closes at once after a 421)
greeting() {
  python3 -c 'import socket, sys; s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 10); print(s.recv(1000).decode())' "$1"
}

@test "faults: pochta-smtpd answers 421, never 5xx, when users.cdb or the whole configuration is missing" {
  start_smtpd
  for how in missing zeros foreign; do
    cp "$POCHTA_CONF/users.cdb" "$BATS_TEST_TMPDIR/good.cdb"
    break_users "$how"
    run greeting "$SMTP_PORT"
    assert_output --partial "421 4.3.0"
    cp "$BATS_TEST_TMPDIR/good.cdb" "$POCHTA_CONF/users.cdb"
  done
  grep -q 'what="cannot use users.cdb" .*error="not written by pochta compile' "$BATS_TEST_TMPDIR/smtpd.log"
  grep -q 'error="missing' "$BATS_TEST_TMPDIR/smtpd.log"
  stop smtpd
  POCHTA_CONF=$BATS_TEST_TMPDIR/nowhere start_smtpd
  run greeting "$SMTP_PORT"
  assert_output --partial "421 4.3.0"
  # and with it mended, the same recipient is taken
  stop smtpd
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'EHLO x\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nQUIT\r\n'
  assert_output --partial "250 2.1.5"
  refute_output --regexp '^5[0-9][0-9]'
}

@test "faults: pochta-bounce and pochta-sendmail fail temporarily without a usable users.cdb" {
  break_users zeros
  printf 'alice@example.test\tD\t5.1.1 gone\n' >"$BATS_TEST_TMPDIR/f3"
  run pochta-bounce bob@example.test <<<"Subject: x" 3<"$BATS_TEST_TMPDIR/f3"
  assert_failure 111
  assert_output --partial "not written by pochta compile"
  run pochta-sendmail alice@example.test <<<"Subject: x"
  assert_failure 75
  assert_output --partial "users.cdb"
  POCHTA_CONF=$BATS_TEST_TMPDIR/nowhere run pochta-sendmail alice@example.test <<<"Subject: x"
  assert_failure 75
}

@test "faults: without an owner file nothing is delivered as root; mail waits and arrives once it is back" {
  [ "$(id -u)" = 0 ] || skip "needs root: the point is what root does"
  # an instance other accounts can reach (the test's own directory is root's alone)
  local top; top=$(mktemp -d /tmp/pochta-cf.XXXXXX)
  chmod 755 "$top"
  echo "$top" >"$BATS_TEST_TMPDIR/cleanup-dir"
  instance_new "$top/inst"
  # a queue that is not root's, as in the documented install (an unprivileged
  # account owns it), so that the runner is not a root test instance
  chown -R nobody:nogroup "$QUEUE"
  id -g nobody >"$POCHTA_CONF/group"   # users.cdb readable by the queue's account
  pochta compile
  mv "$POCHTA_CONF/owner" "$BATS_TEST_TMPDIR/owner"
  # a Maildir the delivery could write as root if it ran as root
  q_enqueue "Fbob@example.test\0Talice@example.test\0\0"
  chown -R nobody:nogroup "$QUEUE"
  touch "$BATS_TEST_TMPDIR/mark"
  runner
  wait_for 10 grep -q 'event=config file=owner result=fault' "$BATS_TEST_TMPDIR/send.log"
  wait_for 10 grep -q 'result=defer.*local delivery is off: no owner file' "$BATS_TEST_TMPDIR/send.log"
  [ "$(count_mail "$(maildir_of alice@example.test)")" = 0 ]
  run find "$MAILROOT" -user root -newer "$BATS_TEST_TMPDIR/mark"
  assert_output ""
  # the runner did give up root: it runs as the queue's account
  pid=$(cat "$BATS_TEST_TMPDIR/send.pid")
  [ "$(stat -c %U /proc/$pid)" = nobody ]
  # mended: give the Maildirs to an account, put the owner back, restart
  chown -R nobody:nogroup "$MAILROOT"
  echo "$(id -u nobody):$(id -g nobody)" >"$POCHTA_CONF/owner"
  stop_runner
  runner
  pochta-queuectl retry   # the deferral said 60 s
  wait_for 20 user_has alice@example.test 1
  run find "$(maildir_of alice@example.test)" -type f -user root
  assert_output ""
}
