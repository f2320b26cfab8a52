#!/usr/bin/env bats
# pochta-queuectl and pochta-send's signals: delete, retry, check, TERM, KILL.
load helpers

setup() {
  instance_new
  SB=$BATS_TEST_TMPDIR/sb
  mkdir -p "$SB"
  echo 1 >"$POCHTA_CONF/retrymin"
  export SB REAL_DELIVER="$POCHTA_BIN/pochta-deliver"
}
teardown() { [ -f "$BATS_TEST_TMPDIR/send.log" ] && tail -20 "$BATS_TEST_TMPDIR/send.log"; stop_all; }

# A pochta-deliver stand-in replaces the built-in local delivery (POCHTA_DELIVER).
runner() {
  local d=; [ -x "$SB/pochta-deliver" ] && d=$SB/pochta-deliver
  PATH="$SB:$PATH" POCHTA_DELIVER=$d bg send pochta-send
  wait_for 20 grep -q event=start "$BATS_TEST_TMPDIR/send.log"
}
n_mail() { [ "$(count_mail "$(maildir_of "$1")")" = "$2" ]; }
qid() { find "$QUEUE/new" "$QUEUE/state" -type f -printf '%f\n' | head -1; }
# A pochta-deliver that says when it starts, then waits for a release file.
slow_deliver() {
  q_standin "$SB" pochta-deliver "
echo \$\$ >\"$BATS_TEST_TMPDIR/started\"
while [ ! -e \"$BATS_TEST_TMPDIR/release\" ]; do sleep 0.05; done
exec \"\$REAL_DELIVER\" \"\$@\""
}

@test "queuectl: usage errors and unknown ids" {
  run pochta-queuectl
  [ "$status" -eq 100 ]
  run pochta-queuectl frobnicate
  [ "$status" -eq 100 ]
  run pochta-queuectl show 12345
  [ "$status" -eq 100 ]
  assert_output --partial 'not a queue id'
  run pochta-queuectl show ../../etc/passwd
  [ "$status" -eq 100 ]
  run pochta-queuectl delete 0123456789abcdef
  [ "$status" -eq 100 ]
  assert_output --partial 'no such message'
  run pochta-queuectl list
  assert_success
  assert_output ''
}

@test "queuectl: show prints envelope, status and the message" {
  q_enqueue 'Fbob@example.test\0Talice@example.test\0Tfar@remote.test\0\0' $'Subject: show me\n\nhello\n'
  run pochta-queuectl show "$(qid)"
  assert_success
  assert_line 'from: bob@example.test'
  assert_line 'rcpt: alice@example.test status=todo attempts=0 next=now'
  assert_line 'rcpt: far@remote.test status=todo attempts=0 next=now'
  assert_line 'Subject: show me'
  assert_line 'hello'
}

@test "queuectl: delete without a runner removes every file" {
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  run pochta-queuectl delete "$(qid)"
  assert_success
  assert_output deleted
  [ "$(q_files)" = 0 ]
}

@test "queuectl: delete while pochta-send delivers it: removed once the delivery ends" {
  slow_deliver
  runner
  q_enqueue 'Fbob@example.test\0Talice@example.test\0Tbob@example.test\0\0'
  id=$(qid)
  wait_for 30 test -s "$BATS_TEST_TMPDIR/started"
  ( sleep 1; touch "$BATS_TEST_TMPDIR/release" ) &
  run pochta-queuectl delete "$id"
  assert_success
  assert_output deleted
  [ "$(q_files)" = 0 ]
  grep -q "event=delete id=$id running=" "$BATS_TEST_TMPDIR/send.log"
  # The runner goes on working.
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  wait_for 30 queue_empty
}

@test "queuectl: retry makes a deferred message due now (runner running, and not)" {
  echo 3600 >"$POCHTA_CONF/retrymin"
  q_standin "$SB" pochta-deliver "
n=\$(cat \"$BATS_TEST_TMPDIR/calls\" 2>/dev/null || echo 0); echo \$((n+1)) >\"$BATS_TEST_TMPDIR/calls\"
if [ \$n -lt 1 ]; then echo '4.2.2 busy' >&2; exit 111; fi
exec \"\$REAL_DELIVER\" \"\$@\""
  runner
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  wait_for 30 grep -q result=defer "$BATS_TEST_TMPDIR/send.log"
  run pochta-queuectl retry "$(qid)"
  assert_success
  wait_for 30 n_mail alice@example.test 1
  wait_for 20 queue_empty
  # Offline: the state file is rewritten, the next start delivers at once.
  stop send
  wait_for 20 grep -q event=exit "$BATS_TEST_TMPDIR/send.log"
  rm -f "$BATS_TEST_TMPDIR/calls"
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  runner
  wait_for 30 bash -c "grep -c result=defer '$BATS_TEST_TMPDIR/send.log' | grep -qx 2"
  stop send
  wait_for 20 bash -c "grep -c event=exit '$BATS_TEST_TMPDIR/send.log' | grep -qx 2"
  run pochta-queuectl retry
  assert_output --partial 'not running'
  run pochta-queuectl list
  assert_output --partial 'next=now'
  runner
  wait_for 30 n_mail alice@example.test 2
}

@test "queuectl: check finds and repairs what crashes leave" {
  POCHTA_QIDFD=3 q_enqueue 'Fbob@example.test\0Talice@example.test\0\0' 3>"$BATS_TEST_TMPDIR/ids"
  POCHTA_QIDFD=3 q_enqueue 'Fbob@example.test\0Tbob@example.test\0\0' 3>>"$BATS_TEST_TMPDIR/ids"
  POCHTA_QIDFD=3 q_enqueue 'Fbob@example.test\0Tbob@example.test\0\0' 3>>"$BATS_TEST_TMPDIR/ids"
  ids=($(cat "$BATS_TEST_TMPDIR/ids"))
  a=${ids[0]} b=${ids[1]} c=${ids[2]}
  # Runner died between writing state and removing the fresh envelope.
  cp "$QUEUE/new/$a" "$QUEUE/state/${a:0:2}/$a"
  # Envelope whose data vanished.
  rm "$QUEUE/mess/${b:0:2}/$b"
  # Malformed envelope.
  printf 'garbage' >"$QUEUE/new/$c"
  # Old debris: a tmp file and message data whose enqueue died.
  touch -d '3 days ago' "$QUEUE/tmp/1111111111111111"
  touch -d '3 days ago' "$QUEUE/mess/22/2222222222222222"
  # Young data without envelope: an enqueue may be running; left alone.
  touch "$QUEUE/mess/33/3333333333333333"
  # A stray name.
  touch "$QUEUE/new/not-an-id"
  run pochta-queuectl check
  assert_success
  assert_line "check: path=new/$a problem=\"fresh envelope beside its state file\" repaired=yes"
  assert_line "check: path=new/$b problem=\"envelope without message data\" repaired=yes"
  assert_line "check: path=new/$c problem=\"malformed envelope\" repaired=yes"
  assert_line "check: path=tmp/1111111111111111 problem=\"stale temporary file\" repaired=yes"
  assert_line "check: path=mess/22/2222222222222222 problem=\"message data without envelope (enqueue died)\" repaired=yes"
  assert_line "check: path=new/not-an-id problem=\"not a queue file name\" repaired=yes"
  assert_line 'check: messages=1 problems=6 repaired=6'
  [ -e "$QUEUE/mess/33/3333333333333333" ]
  [ -e "$QUEUE/bad/$b.new" ] && [ -e "$QUEUE/bad/$c.new" ]
  run pochta-queuectl check
  assert_line 'check: messages=1 problems=0 repaired=0'
  # And the surviving message is delivered.
  bg send pochta-send
  wait_for 30 n_mail alice@example.test 1
}

@test "queuectl: check only reports while pochta-send runs" {
  bg send pochta-send
  wait_for 20 grep -q event=start "$BATS_TEST_TMPDIR/send.log"
  run pochta-queuectl check
  assert_success
  assert_line --partial 'reporting only'
}

@test "send: a second pochta-send on the same queue refuses to start" {
  bg send pochta-send
  wait_for 20 grep -q event=start "$BATS_TEST_TMPDIR/send.log"
  run pochta-send
  [ "$status" -eq 111 ]
  assert_output --partial 'another pochta-send runs on this queue'
}

@test "send: SIGTERM stops taking work, waits for its children, records their results" {
  slow_deliver
  runner
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  wait_for 30 test -s "$BATS_TEST_TMPDIR/started"
  pid=$(cat "$BATS_TEST_TMPDIR/send.pid")
  kill -TERM "$pid"
  sleep 0.5
  kill -0 "$pid"                       # still waiting for its child
  q_enqueue 'Fbob@example.test\0Tbob@example.test\0\0'   # not taken any more
  touch "$BATS_TEST_TMPDIR/release"
  wait_for 30 bash -c "! kill -0 $pid 2>/dev/null"
  grep -q 'event=exit' "$BATS_TEST_TMPDIR/send.log"
  n_mail alice@example.test 1
  n_mail bob@example.test 0
  run pochta-queuectl list
  assert_output --partial 'rcpts=bob@example.test'
  refute_output --partial 'alice'
}

@test "send: SIGKILL mid-delivery, restart: picks the message up again" {
  q_standin "$SB" pochta-deliver "
case \"\$*\" in *alice@*)
  n=\$(cat \"$BATS_TEST_TMPDIR/calls\" 2>/dev/null || echo 0); echo \$((n+1)) >\"$BATS_TEST_TMPDIR/calls\"
  if [ \$n -lt 1 ]; then echo \$\$ >\"$BATS_TEST_TMPDIR/started\"; sleep 60; fi ;;
esac
exec \"\$REAL_DELIVER\" \"\$@\""
  runner
  q_enqueue 'Fbob@example.test\0Talice@example.test\0Tbob@example.test\0\0'
  wait_for 30 test -s "$BATS_TEST_TMPDIR/started"
  kill -9 "$(cat "$BATS_TEST_TMPDIR/send.pid")"
  kill -9 "$(cat "$BATS_TEST_TMPDIR/started")"   # the orphaned delivery dies too
  runner
  wait_for 30 n_mail alice@example.test 1
  wait_for 30 n_mail bob@example.test 1
  wait_for 20 queue_empty
}

@test "send: SIGALRM makes deferred messages due now" {
  echo 3600 >"$POCHTA_CONF/retrymin"
  q_standin "$SB" pochta-deliver "
n=\$(cat \"$BATS_TEST_TMPDIR/calls\" 2>/dev/null || echo 0); echo \$((n+1)) >\"$BATS_TEST_TMPDIR/calls\"
if [ \$n -lt 1 ]; then echo '4.2.2 busy' >&2; exit 111; fi
exec \"\$REAL_DELIVER\" \"\$@\""
  runner
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  wait_for 30 grep -q result=defer "$BATS_TEST_TMPDIR/send.log"
  kill -ALRM "$(cat "$BATS_TEST_TMPDIR/send.pid")"
  wait_for 30 n_mail alice@example.test 1
}

@test "send: the trigger FIFO survives garbage commands" {
  runner
  printf 'Xjunk\nD123\nRzz\n%s\n' "$(head -c 300 /dev/zero | tr '\0' A)" >"$QUEUE/trigger"
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  wait_for 30 n_mail alice@example.test 1
  grep -q 'event=command error="unknown command"' "$BATS_TEST_TMPDIR/send.log"
}
