#!/usr/bin/env bats
# pochta-send: local delivery, retries, bounces, remote calls, limits, signals.
# Stand-ins for other programs live in $SB (a test-only PATH directory);
# everything else is the real program.
load helpers

setup() {
  instance_new
  SB=$BATS_TEST_TMPDIR/sb
  mkdir -p "$SB"
  echo 1 >"$POCHTA_CONF/retrymin"
  export SB REAL_DELIVER="$POCHTA_BIN/pochta-deliver"
}
teardown() { [ -f "$BATS_TEST_TMPDIR/send.log" ] && tail -20 "$BATS_TEST_TMPDIR/send.log"; stop_all; }

# Start the runner with the stand-ins first in PATH.
# A pochta-deliver stand-in replaces the built-in local delivery (POCHTA_DELIVER).
runner() {
  local d=; [ -x "$SB/pochta-deliver" ] && d=$SB/pochta-deliver
  PATH="$SB:$PATH" POCHTA_DELIVER=$d bg send pochta-send
  wait_for 20 grep -q event=start "$BATS_TEST_TMPDIR/send.log"
}
slog() { cat "$BATS_TEST_TMPDIR/send.log"; }
# n_mail ADDR N: ADDR's Maildir holds N messages (for wait_for).
n_mail() { [ "$(count_mail "$(maildir_of "$1")")" = "$2" ]; }

# A bounce stand-in that records each call: sender, then fd 3.
bounce_recorder() {
  q_standin "$SB" pochta-bounce "{ echo \"CALL sender=<\$1>\"; cat <&3; } >>\"$BATS_TEST_TMPDIR/bounces\""
}

@test "send: a local message arrives at once (trigger), byte for byte, and leaves the queue" {
  runner
  printf 'Subject: hello\n\nbody line\n' >"$BATS_TEST_TMPDIR/m"
  pochta-queue <"$BATS_TEST_TMPDIR/m" 1< <(printf 'Fbob@example.test\0Talice@example.test\0\0')
  md=$(maildir_of alice@example.test)
  wait_for 30 n_mail alice@example.test 1
  f=$(find "$md/new" -type f)
  { printf 'Return-Path: <bob@example.test>\nDelivered-To: alice@example.test\n'; cat "$BATS_TEST_TMPDIR/m"; } >"$BATS_TEST_TMPDIR/want"
  cmp "$BATS_TEST_TMPDIR/want" "$f"
  wait_for 20 queue_empty
  [ "$(q_files)" = 0 ]
  grep -q 'event=delivery id=[0-9a-f]* rcpt=alice@example.test kind=local result=ok' "$BATS_TEST_TMPDIR/send.log"
}

@test "send: messages queued while it was down are delivered when it starts" {
  for i in $(seq 1 50); do q_enqueue 'Fbob@example.test\0Talice@example.test\0Tbob@example.test\0\0' "Subject: $i"$'\n\nx\n'; done
  runner
  wait_for 40 n_mail bob@example.test 50
  wait_for 30 n_mail alice@example.test 50
  wait_for 20 queue_empty
}

@test "send: a temporary failure is retried and then delivered" {
  q_standin "$SB" pochta-deliver "
n=\$(cat \"$BATS_TEST_TMPDIR/calls\" 2>/dev/null || echo 0); echo \$((n+1)) >\"$BATS_TEST_TMPDIR/calls\"
if [ \$n -lt 2 ]; then echo '4.2.2 mailbox busy' >&2; exit 111; fi
exec \"\$REAL_DELIVER\" \"\$@\""
  bounce_recorder
  runner
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  wait_for 30 n_mail alice@example.test 1
  [ "$(cat "$BATS_TEST_TMPDIR/calls")" = 3 ]
  grep -q 'result=defer attempts=1 next=1 msg="4.2.2 mailbox busy"' "$BATS_TEST_TMPDIR/send.log"
  grep -q 'result=defer attempts=2 next=5 ' "$BATS_TEST_TMPDIR/send.log"
  wait_for 20 queue_empty
  [ ! -e "$BATS_TEST_TMPDIR/bounces" ]
}

@test "send: a deferred message shows attempts, next try and last error in list" {
  echo 3600 >"$POCHTA_CONF/retrymin"
  q_standin "$SB" pochta-deliver "echo '4.3.0 disk on fire' >&2; exit 111"
  runner
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  wait_for 30 grep -q result=defer "$BATS_TEST_TMPDIR/send.log"
  wait_for 20 bash -c 'pochta-queuectl list | grep -q attempts=1'
  run pochta-queuectl list
  assert_output --regexp 'todo=1 attempts=1 next=3[0-9]{3}s error="4.3.0 disk on fire"$'
}

@test "send: permanent failures give exactly one bounce covering all of them" {
  bounce_recorder
  runner
  q_enqueue 'Fbob@example.test\0Talice@example.test\0Tnobody@example.test\0Tghost@example.test\0\0'
  wait_for 30 test -s "$BATS_TEST_TMPDIR/bounces"
  wait_for 20 queue_empty
  sleep 1
  run cat "$BATS_TEST_TMPDIR/bounces"
  assert_output "$(printf 'CALL sender=<bob@example.test>\nnobody@example.test\tD\t5.1.1 no such user here\nghost@example.test\tD\t5.1.1 no such user here')"
  [ "$(count_mail "$(maildir_of alice@example.test)")" = 1 ]
}

@test "send: a failing pochta-deliver (exit 100) bounces with its reason" {
  q_standin "$SB" pochta-deliver "echo '5.2.2 over quota for good' >&2; exit 100"
  bounce_recorder
  runner
  q_enqueue 'F\0Talice@example.test\0\0'
  wait_for 30 test -s "$BATS_TEST_TMPDIR/bounces"
  wait_for 20 queue_empty
  run cat "$BATS_TEST_TMPDIR/bounces"
  assert_output "$(printf 'CALL sender=<>\nalice@example.test\tD\t5.2.2 over quota for good')"
}

@test "send: temporary failures until queuelifetime expire into one bounce (Z)" {
  echo 3 >"$POCHTA_CONF/queuelifetime"
  q_standin "$SB" pochta-deliver "echo '4.2.1 try later' >&2; exit 111"
  bounce_recorder
  runner
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  wait_for 40 test -s "$BATS_TEST_TMPDIR/bounces"
  wait_for 20 queue_empty
  run cat "$BATS_TEST_TMPDIR/bounces"
  assert_output "$(printf 'CALL sender=<bob@example.test>\nalice@example.test\tZ\t4.2.1 try later')"
  grep -q 'result=expired' "$BATS_TEST_TMPDIR/send.log"
}

@test "send: a missing pochta-bounce keeps the message, with a log line" {
  mkdir -p "$BATS_TEST_TMPDIR/only"
  ln -s "$POCHTA_BIN/pochta-deliver" "$BATS_TEST_TMPDIR/only/"
  PATH="$BATS_TEST_TMPDIR/only:/usr/bin:/bin" bg send "$POCHTA_BIN/pochta-send"
  q_enqueue 'Fbob@example.test\0Tnobody@example.test\0\0'
  wait_for 30 grep -q 'event=bounce .*result=missing' "$BATS_TEST_TMPDIR/send.log"
  run pochta-queuectl list
  assert_output --partial 'rcpts=nobody@example.test todo=0 attempts=1 next=bounce error="5.1.1 no such user here"'
}

@test "send: without pochta-remote, remote recipients stay queued with a clear status" {
  mkdir -p "$BATS_TEST_TMPDIR/only"
  ln -s "$POCHTA_BIN/pochta-deliver" "$BATS_TEST_TMPDIR/only/"
  PATH="$BATS_TEST_TMPDIR/only:/usr/bin:/bin" bg send "$POCHTA_BIN/pochta-send"
  q_enqueue 'Fbob@example.test\0Talice@example.test\0Tfar@remote.test\0\0'
  wait_for 30 n_mail alice@example.test 1
  wait_for 30 grep -q 'event=missing .*rcpt=far@remote.test program=pochta-remote' "$BATS_TEST_TMPDIR/send.log"
  wait_for 20 bash -c 'pochta-queuectl list | grep -q "not installed"'
  run pochta-queuectl list
  assert_output --regexp 'rcpts=alice@example.test,far@remote.test todo=1 attempts=0 next=[0-9]+s error="pochta-remote is not installed: waiting for it"'
}

@test "send: pochta-remote is called once per message per domain; K, Z and D records are honoured" {
  q_standin "$SB" pochta-remote "
echo \"CALL \$*\" >>\"$BATS_TEST_TMPDIR/remote\"
cat >/dev/null
d=\$1; shift 2
for r in \"\$@\"; do
  case \$r in
    ok*) printf 'K%s\t250 2.0.0 ok\n' \"\$r\" ;;
    later*) if grep -q 'CALL.*later' \"$BATS_TEST_TMPDIR/remote.2\" 2>/dev/null; then printf 'K%s\t250 ok\n' \"\$r\"; else printf 'Z%s\t451 4.3.0 greylisted\n' \"\$r\"; fi ;;
    bad*) printf 'D%s\t550 5.1.1 unknown\n' \"\$r\" ;;
    silent*) ;;
  esac
done
echo \"CALL \$*\" >>\"$BATS_TEST_TMPDIR/remote.2\"
exit 0"
  bounce_recorder
  runner
  q_enqueue 'Fbob@example.test\0Tok1@a.test\0Tlater@a.test\0Tbad@B.test\0Tok2@a.test\0Tsilent@c.test\0\0'
  wait_for 40 grep -q 'rcpt=later@a.test kind=remote result=ok attempts=1' "$BATS_TEST_TMPDIR/send.log"
  wait_for 30 grep -q 'rcpt=silent@c.test kind=remote result=defer attempts=2' "$BATS_TEST_TMPDIR/send.log"
  run sort "$BATS_TEST_TMPDIR/remote"
  # First round: one call per domain (a.test gathers three); then retries.
  assert_line 'CALL a.test bob@example.test ok1@a.test later@a.test ok2@a.test'
  assert_line 'CALL b.test bob@example.test bad@B.test'
  assert_line 'CALL a.test bob@example.test later@a.test'
  assert_line 'CALL c.test bob@example.test silent@c.test'
  grep -q 'rcpt=silent@c.test kind=remote result=defer attempts=1 next=1 msg="4.4.0 no result from pochta-remote (exit 0)"' "$BATS_TEST_TMPDIR/send.log"
  grep -q 'rcpt=bad@B.test kind=remote result=fail attempts=1 msg="550 5.1.1 unknown"' "$BATS_TEST_TMPDIR/send.log"
  # Delivered and failed recipients are never tried again.
  [ "$(grep -c 'ok1@a.test' "$BATS_TEST_TMPDIR/remote")" = 1 ]
  [ "$(grep -c 'bad@B.test' "$BATS_TEST_TMPDIR/remote")" = 1 ]
  run pochta-queuectl show "$(find "$QUEUE/state" -type f -printf "%f\n" | head -1)"
  assert_line 'rcpt: ok1@a.test status=delivered attempts=0'
  assert_line 'rcpt: bad@B.test status=failed attempts=1 error="550 5.1.1 unknown"'
}

@test "send: concurrency limits: local, remote overall and per domain" {
  echo 2 >"$POCHTA_CONF/concurrencylocal"
  echo 3 >"$POCHTA_CONF/concurrencyremote"
  echo 1 >"$POCHTA_CONF/concurrencydomain"
  mkdir -p "$BATS_TEST_TMPDIR/run"
  q_standin "$SB" pochta-deliver "
touch \"$BATS_TEST_TMPDIR/run/l.\$\$\"; ls \"$BATS_TEST_TMPDIR/run\" | grep -c '^l\\.' >>\"$BATS_TEST_TMPDIR/lmax\"
sleep 0.3; rm \"$BATS_TEST_TMPDIR/run/l.\$\$\"; exec \"\$REAL_DELIVER\" \"\$@\""
  q_standin "$SB" pochta-remote "
touch \"$BATS_TEST_TMPDIR/run/r.\$1.\$\$\"
ls \"$BATS_TEST_TMPDIR/run\" | grep -c '^r\\.' >>\"$BATS_TEST_TMPDIR/rmax\"
ls \"$BATS_TEST_TMPDIR/run\" | grep -c \"^r\\.\$1\\.\" >>\"$BATS_TEST_TMPDIR/dmax\"
sleep 0.3; rm \"$BATS_TEST_TMPDIR/run/r.\$1.\$\$\"
d=\$1; shift 2; for r in \"\$@\"; do printf 'K%s\tok\n' \"\$r\"; done"
  for i in $(seq 1 6); do
    q_enqueue 'Fbob@example.test\0Talice@example.test\0Tx@a.test\0Ty@b.test\0Tz@c.test\0Tw@d.test\0\0'
  done
  runner
  wait_for 30 n_mail alice@example.test 6
  wait_for 30 queue_empty
  [ "$(sort -n "$BATS_TEST_TMPDIR/lmax" | tail -1)" -le 2 ]
  [ "$(sort -n "$BATS_TEST_TMPDIR/rmax" | tail -1)" -le 3 ]
  [ "$(sort -n "$BATS_TEST_TMPDIR/dmax" | tail -1)" -le 1 ]
  [ "$(wc -l <"$BATS_TEST_TMPDIR/rmax")" = 24 ]
}

@test "send: with the real pochta-bounce, a failed recipient's DSN reaches the sender" {
  command -v pochta-bounce >/dev/null || skip "pochta-bounce not built"
  runner
  q_enqueue 'Fbob@example.test\0Talice@example.test\0Tnobody@example.test\0\0' $'Subject: will half fail\n\nhello\n'
  wait_for 40 n_mail bob@example.test 1
  wait_for 30 queue_empty
  n_mail alice@example.test 1
  f=$(find "$(maildir_of bob@example.test)/new" -type f)
  grep -q 'nobody@example.test' "$f"
  grep -qi 'message/delivery-status' "$f"
  grep -q 'Return-Path: <>' "$f"
  [ "$(grep -c 'event=bounce .*result=queued' "$BATS_TEST_TMPDIR/send.log")" = 1 ]
}

@test "send: a bounce that fails goes to postmaster, and a double bounce is never bounced again" {
  command -v pochta-bounce >/dev/null || skip "pochta-bounce not built"
  runner
  # Null sender: the DSN goes to postmaster (an alias of the first user).
  q_enqueue 'F\0Tnobody@example.test\0\0' $'Subject: from the void\n\nhello\n'
  wait_for 40 bash -c "grep -q 'event=bounce .*result=queued' '$BATS_TEST_TMPDIR/send.log'"
  wait_for 30 queue_empty
  # Double-bounce sender: pochta-bounce drops it; the queue ends empty, no loop.
  q_enqueue 'F#@[]\0Tnobody@example.test\0\0' $'Subject: double\n\nhello\n'
  wait_for 40 bash -c "[ \$(grep -c 'event=bounce .*result=queued' '$BATS_TEST_TMPDIR/send.log') -ge 2 ]"
  wait_for 30 queue_empty
}

@test "send: a finished message loses its envelope, then the envelope's directory is fsynced, then its data goes (into trash/, freed by the janitor)" {
  command -v strace >/dev/null || skip "strace missing"
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  id=$(find "$QUEUE/new" -type f -printf '%f\n')
  # only the runner itself (no -f): its unlinks and fsyncs, descriptors shown as paths
  PATH="$SB:$PATH" ASAN_OPTIONS=detect_leaks=0 strace -y -o "$BATS_TEST_TMPDIR/trace" -e trace=unlink,unlinkat,rename,fsync \
    pochta-send 2>>"$BATS_TEST_TMPDIR/send.log" &
  echo $! >"$BATS_TEST_TMPDIR/strace.pid"
  wait_for 30 n_mail alice@example.test 1
  wait_for 20 bash -c "[ \$(find '$QUEUE/new' '$QUEUE/state' '$QUEUE/mess' -type f | wc -l) = 0 ]"
  # this runner only (other tests' runners may be running beside it)
  kill -TERM "$(grep -o 'event=start .*pid=[0-9]*' "$BATS_TEST_TMPDIR/send.log" | grep -o '[0-9]*$')"
  wait_for 20 grep -q event=exit "$BATS_TEST_TMPDIR/send.log"
  run awk -v id="$id" '
    index($0, "\"new/" id "\"") && / = 0$/ && !env { env = NR; dir = "/new>" }
    index($0, "\"state/") && index($0, "/" id "\"") && / = 0$/ { env = NR; match($0, /"state\/[0-9a-f][0-9a-f]/); dir = "/" substr($0, RSTART + 1, RLENGTH - 1) ">" }
    /^fsync\(/ && env && !sync && index($0, dir) { sync = NR }
    index($0, "\"mess/") && index($0, "/" id "\"") { data = NR }
    END { print (env && sync > env && data > sync) ? "ordered" : "env=" env " sync=" sync " data=" data }' "$BATS_TEST_TMPDIR/trace"
  assert_output ordered
  # what was removed stays in trash/ for the next enqueues to take over; the runner
  # at its start frees all of it
  inodes=$(ls -i "$QUEUE/trash" | awk '{print $1}' | sort | tr '\n' ' ')
  [ -n "$inodes" ]
  # a shorter message is written over one of them: the old contents never show
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0' $'Subject: t\n\nb\n'
  f=$(find "$QUEUE/mess" -type f)
  [ "$(printf 'Subject: t\n\nb\n')" = "$(cat "$f")" ]
  [ "$(stat -c %s "$f")" = 14 ]
  case " $inodes" in *" $(stat -c %i "$f") "*) ;; *) echo "not taken over: $(stat -c %i "$f") not in $inodes"; false ;; esac
  e=$(find "$QUEUE/new" -type f)
  case " $inodes" in *" $(stat -c %i "$e") "*) ;; *) echo "envelope not taken over"; false ;; esac
  [ "$(find "$QUEUE/trash" -type f | wc -l)" = 0 ]
  # and it is delivered whole
  runner
  wait_for 30 n_mail alice@example.test 2
  grep -lx 'b' "$(maildir_of alice@example.test)"/new/* >/dev/null
}

@test "send: the janitor keeps only small files in trash/ and frees the rest" {
  runner
  # a large message (over 64 KiB) and a small one pass through the queue
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0' "Subject: big"$'\n\n'"$(head -c 100000 /dev/zero | tr '\0' x)"$'\n'
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0' $'Subject: small\n\nx\n'
  wait_for 30 n_mail alice@example.test 2
  wait_for 20 queue_empty
  # at most 64 KiB each: the big data file is freed, the envelopes and the small one kept
  wait_for 20 bash -c "[ \$(find '$QUEUE/trash' -type f -size +64k | wc -l) = 0 ]"
  [ "$(find "$QUEUE/trash" -type f | wc -l)" -le 256 ]
}

# The built-in local delivery runs in the delivery worker's long-lived processes,
# one delivery after another: no process per delivery.
delivery_procs() {
  local send w
  send=$(cat "$BATS_TEST_TMPDIR/send.pid" 2>/dev/null || pgrep -xo pochta-send)
  for w in $(pgrep -P "$send" || true); do pgrep -P "$w" || true; done
}

@test "send: built-in deliveries reuse the worker's delivery processes; one that hangs is killed at jobtimeout and the message delivered by another" {
  echo 10 >"$POCHTA_CONF/jobtimeout"
  runner
  for i in 1 2 3; do q_enqueue 'Fbob@example.test\0Talice@example.test\0\0' "Subject: $i"$'\n\nx\n'; done
  wait_for 30 n_mail alice@example.test 3
  before=$(delivery_procs | sort | tr '\n' ' ')
  [ -n "$before" ]
  # one at a time: with two at once, the worker may rightly start one more process
  for i in 4 5 6; do
    q_enqueue 'Fbob@example.test\0Talice@example.test\0\0' "Subject: $i"$'\n\nx\n'
    wait_for 30 n_mail alice@example.test "$i"
  done
  # the same processes made them (none is started per delivery)
  [ "$(delivery_procs | sort | tr '\n' ' ')" = "$before" ]
  # they keep users.cdb open, yet see a user added since (pochta compile renamed a
  # new file into place), and no longer one removed since
  pochta -C "$POCHTA_CONF" user add carol@example.test --password secret >/dev/null
  q_enqueue 'Fbob@example.test\0Tcarol@example.test\0\0' $'Subject: new user\n\nx\n'
  wait_for 30 n_mail carol@example.test 1
  pochta -C "$POCHTA_CONF" user del carol@example.test >/dev/null
  q_enqueue 'Fbob@example.test\0Tcarol@example.test\0\0' $'Subject: gone\n\nx\n'
  wait_for 30 grep -q 'rcpt=carol@example.test kind=local result=fail.*5.1.1' "$BATS_TEST_TMPDIR/send.log"
  # (its bounce to bob made and delivered first: pochta-bounce is the runner's child
  # too, and delivery_procs would count its children)
  wait_for 30 queue_empty
  [ "$(delivery_procs | sort | tr '\n' ' ')" = "$before" ]
  # stop them all: the next delivery hangs in one of them
  kill -STOP $before
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0' $'Subject: stuck\n\nx\n'
  sleep 3
  n_mail alice@example.test 6
  wait_for 40 n_mail alice@example.test 7
  grep -q 'killed by signal 9' "$BATS_TEST_TMPDIR/send.log"
  kill -CONT $before 2>/dev/null || true
  wait_for 20 queue_empty
  # delivered once, whole
  [ "$(grep -l '^Subject: stuck$' "$(maildir_of alice@example.test)"/new/* | wc -l)" = 1 ]
}
