#!/usr/bin/env bats
# pochta learn and the learning library calls pochta-imapd will make: counts,
# a message learned twice, moved from one class to the other, forgotten; many
# learners and deliveries at once on one user's database.

load helpers
load spam/lib

setup() {
  instance_new
  MD=$(maildir_of alice@example.test)
  HOME_A=$(dirname "$MD")
}
teardown() { stop_all; }

# put N messages of a class into a folder: put_msgs DIR CLASS FROM TO
put_msgs() {
  local d=$1 cls=$2 i
  for i in $(seq "$3" "$4"); do
    printf 'From: %s%d@x.test\nSubject: %s subject %d\nMessage-ID: <%s%d@x.test>\n\n%s words number %d\n' \
      "$cls" "$i" "$cls" "$i" "$cls" "$i" "$cls" "$i" >"$d/cur/$cls$i:2,S"
  done
}

db() { "$SPAMTEST" db "$HOME_A/pochta-bayes"; }

@test "learn: counts; the same message twice counts once; the other class moves it; forget takes it out" {
  put_msgs "$MD/.Junk" spam 1 5
  put_msgs "$MD" ham 1 3
  run pochta learn spam alice@example.test
  assert_success
  assert_output --regexp '^spam: 5 learned, 0 known already, 0 unreadable; the database holds 5 spam, 0 ham, [0-9]+ tokens$'
  run pochta learn spam alice@example.test Junk
  assert_output --partial "spam: 0 learned, 5 known already"
  run pochta learn ham alice@example.test
  assert_output --partial "the database holds 5 spam, 3 ham"
  # the user moves two spam messages to INBOX: learned as ham they move
  mv "$MD/.Junk/cur/spam1:2,S" "$MD/.Junk/cur/spam2:2,S" "$MD/cur/"
  run pochta learn ham alice@example.test INBOX
  assert_output --partial "ham: 2 learned, 3 known already"
  assert_output --partial "the database holds 3 spam, 5 ham"
  run db
  assert_output --regexp '^spam=3 ham=5 tokens=[0-9]+ seen=8$'
  run pochta learn forget alice@example.test INBOX
  assert_output --partial "forget: 5 learned"
  assert_output --partial "the database holds 3 spam, 0 ham"
  run pochta spam user alice@example.test
  assert_line "junk 5.0 (default)"
  assert_line --regexp '^learned 3 spam, 0 ham, [0-9]+ tokens \(too few for an opinion\)$'
  # the files are the Maildir owner's, mode 0600
  run stat -c '%a' "$HOME_A/pochta-bayes"
  assert_output 600
}

@test "learn: folder names as IMAP has them; bad names and users refused" {
  mkdir -p "$MD/.Archive.2025/cur" "$MD/.Archive.2025/new" "$MD/.Archive.2025/tmp"
  put_msgs "$MD/.Archive.2025" ham 1 2
  run pochta learn ham alice@example.test Archive/2025
  assert_output --partial "ham: 2 learned"
  run pochta learn ham alice@example.test Nope
  assert_failure 100
  assert_output --partial "not a Maildir folder"
  run pochta learn ham alice@example.test ../../etc
  assert_failure 100
  run pochta learn ham nobody@example.test
  assert_failure 100
  assert_output --partial "no such user"
  run pochta learn forget alice@example.test
  assert_failure 100
  run pochta learn maybe alice@example.test
  assert_failure 100
  # a symlink or a FIFO in a folder is not read
  ln -s /etc/passwd "$MD/cur/link"
  mkfifo "$MD/cur/fifo"
  run pochta learn ham alice@example.test
  assert_output --partial "2 unreadable"
}

@test "learn: eight learners and deliveries at once lose no update" {
  for k in 1 2 3 4 5 6 7 8; do
    mkdir -p "$MD/.F$k/cur" "$MD/.F$k/new" "$MD/.F$k/tmp"
    if [ $((k % 2)) = 0 ]; then put_msgs "$MD/.F$k" "s${k}x" 1 40; else put_msgs "$MD/.F$k" "h${k}x" 1 40; fi
  done
  # deliveries read the database meanwhile
  for i in $(seq 1 20); do scored_msg 1 "during $i" >"$BATS_TEST_TMPDIR/m$i"; enqueue "$BATS_TEST_TMPDIR/m$i" alice@example.test; done
  start_send
  pids=
  for k in 1 2 3 4 5 6 7 8; do
    if [ $((k % 2)) = 0 ]; then cls=spam; else cls=ham; fi
    pochta learn $cls alice@example.test F$k >"$BATS_TEST_TMPDIR/learn$k.out" 2>&1 &
    pids="$pids $!"
  done
  for p in $pids; do wait "$p"; done
  cat "$BATS_TEST_TMPDIR"/learn*.out
  run db
  assert_output --regexp '^spam=160 ham=160 tokens=[0-9]+ seen=320$'
  wait_for 20 queue_empty
  # every delivery read the database whole: INBOX or Junk, as the learning done by
  # then decided (a delivery between the spam and the ham learners may see a
  # spammy database), never a problem
  run grep -cE "event=spam .*spam=(inbox|junk) " "$BATS_TEST_TMPDIR/send.log"
  assert_output 20
  run grep -c "event=spam .*problem=" "$BATS_TEST_TMPDIR/send.log"
  assert_output 0
  [ "$(grep -l '^Subject: during ' "$MD"/new/* "$MD"/.Junk/new/* 2>/dev/null | wc -l)" = 20 ]
  [ ! -e "$HOME_A/pochta-bayes.new" ]
}

@test "learn: the database stays within bayes-tokens (pruned), and still classifies" {
  echo "bayes-tokens 1000" >"$POCHTA_CONF/spam"
  for i in $(seq 1 300); do
    printf 'Subject: s%d\nMessage-ID: <p%d@x>\n\nuniq%da uniq%db uniq%dc uniq%dd\n' $i $i $i $i $i $i >"$MD/cur/p$i"
  done
  run pochta learn ham alice@example.test
  assert_success
  run db
  tokens=$(echo "$output" | sed 's/.*tokens=\([0-9]*\).*/\1/')
  echo "tokens=$tokens"
  [ "$tokens" -le 1000 ] && [ "$tokens" -ge 800 ]
}
