#!/usr/bin/env bats
# The delivery side: pochta-send's delivery worker adds the user's Bayes opinion to
# the score pochta-smtpd wrote above its Received field and files the message into
# INBOX or .Junk, per recipient, keyed and crash-safe. Messages are queued as
# pochta-smtpd queues them (pochta-queue), delivered by the real runner.

load helpers
load spam/lib

setup() { instance_new; }
teardown() { stop_all; }

inbox_has() { maildir_has "$(maildir_of "$1")" "$2"; }
junk_has() { maildir_has "$(junk_of "$1")" "$2"; }
delivered() { inbox_has "$1" "$2" && junk_has "$1" "$3"; }

@test "deliver: over the threshold into .Junk, under it into INBOX, per recipient" {
  scored_msg 7.5 "cheap offer" >"$BATS_TEST_TMPDIR/high"
  scored_msg 1.0 "lunch" >"$BATS_TEST_TMPDIR/low"
  scored_msg 5.0 "exactly at" >"$BATS_TEST_TMPDIR/at"
  enqueue "$BATS_TEST_TMPDIR/high" alice@example.test
  enqueue "$BATS_TEST_TMPDIR/low" alice@example.test
  enqueue "$BATS_TEST_TMPDIR/at" alice@example.test
  # bob's own threshold is higher: the same message is not Junk for him
  pochta spam user bob@example.test junk 8 >/dev/null
  enqueue "$BATS_TEST_TMPDIR/high" bob@example.test
  start_send
  wait_for 20 queue_empty
  wait_for 5 delivered alice@example.test 1 2
  grep -l "Subject: cheap offer" "$(junk_of alice@example.test)"/new/*
  grep -l "Subject: exactly at" "$(junk_of alice@example.test)"/new/*
  grep -l "Subject: lunch" "$(maildir_of alice@example.test)"/new/*
  delivered bob@example.test 1 0
  # the Junk copy carries the fixed-length Bayes field below Delivered-To
  f=$(grep -l "Subject: cheap offer" "$(junk_of alice@example.test)"/new/*)
  run sed -n 3p "$f"
  assert_output "X-Spam-Bayes: 0.5000 +00.00"
  grep -q 'event=spam key=.* rcpt="alice@example.test" spam=junk score=7.5 bayes=+0.00 p=0.5000 threshold=5.0' "$BATS_TEST_TMPDIR/send.log"
  grep -q 'rcpt="bob@example.test" spam=inbox score=7.5 .* threshold=8.0' "$BATS_TEST_TMPDIR/send.log"
}

@test "deliver: a score that is not ours (behind a field of the message, behind another Received field, or no Received at all) is never believed" {
  printf 'Received: from mail.sender.test by mx.example.test\nSubject: forged\nX-Spam-Score: 50\nX-Pochta-Junk: yes\n\nb\n' >"$BATS_TEST_TMPDIR/after"
  printf 'Received: from mail.sender.test by mx.example.test\nReceived: from elsewhere\nX-Spam-Score: 50\nSubject: forged\n\nb\n' >"$BATS_TEST_TMPDIR/second"
  printf 'X-Spam-Score: 50\nX-Pochta-Junk: yes\nSubject: no received\n\nb\n' >"$BATS_TEST_TMPDIR/none"
  enqueue "$BATS_TEST_TMPDIR/after" alice@example.test
  enqueue "$BATS_TEST_TMPDIR/second" alice@example.test
  enqueue "$BATS_TEST_TMPDIR/none" alice@example.test
  start_send
  wait_for 20 queue_empty
  wait_for 5 delivered alice@example.test 3 0
  # and nothing about spam was said (unscored mail is none of its business)
  run grep -c "event=spam" "$BATS_TEST_TMPDIR/send.log"
  assert_output 0
}

@test "deliver: X-Pochta-Junk (DMARC quarantine) files into Junk whatever the score; a user's 'junk off' keeps everything in INBOX" {
  scored_msg -3.0 "quarantined" "X-Pochta-Junk: dmarc=quarantine" >"$BATS_TEST_TMPDIR/forced"
  # the checks alone, without a spam score, too
  printf 'Received: from x by mx.example.test\nAuthentication-Results: mx.example.test; dmarc=fail\nX-Pochta-Junk: dmarc=quarantine\nSubject: q\n\nb\n' >"$BATS_TEST_TMPDIR/checksonly"
  enqueue "$BATS_TEST_TMPDIR/checksonly" alice@example.test
  scored_msg 40 "very spammy" >"$BATS_TEST_TMPDIR/spammy"
  enqueue "$BATS_TEST_TMPDIR/forced" alice@example.test bob@example.test
  pochta spam user bob@example.test junk off >/dev/null
  enqueue "$BATS_TEST_TMPDIR/spammy" bob@example.test
  start_send
  wait_for 20 queue_empty
  wait_for 5 delivered alice@example.test 0 2
  delivered bob@example.test 2 0
}

@test "deliver: a missing .Junk folder is made (a Maildir++ folder) and the message is in it" {
  rm -rf "$(junk_of alice@example.test)"
  scored_msg 9 "x" >"$BATS_TEST_TMPDIR/m"
  enqueue "$BATS_TEST_TMPDIR/m" alice@example.test
  start_send
  wait_for 20 queue_empty
  wait_for 5 junk_has alice@example.test 1
  [ -f "$(junk_of alice@example.test)/maildirfolder" ]
  [ -d "$(junk_of alice@example.test)/tmp" ] && [ -d "$(junk_of alice@example.test)/cur" ]
}

@test "deliver: the user's classifier decides what the score alone does not" {
  md=$(maildir_of alice@example.test)
  for i in $(seq 1 15); do
    printf 'From: x%d@deals.test\nSubject: cheap pills offer %d\nMessage-ID: <s%d@deals.test>\n\nbuy cheap pills now, best offer on pills, order today %d\n' $i $i $i $i >"$md/.Junk/cur/s$i"
    printf 'From: anna@work.test\nSubject: project meeting %d\nMessage-ID: <h%d@work.test>\n\nthe project meeting agenda: budget review and schedule %d\n' $i $i $i >"$md/cur/h$i"
  done
  run pochta learn spam alice@example.test
  assert_success
  assert_output --regexp '^spam: 15 learned, 0 known already, 0 unreadable; the database holds 15 spam, 0 ham, [0-9]+ tokens$'
  run pochta learn ham alice@example.test
  assert_output --partial "ham: 15 learned"
  # score 0 from smtpd: the classifier alone files the spammy one
  printf 'Received: from x by mx.example.test\nX-Spam-Score: 0.0\nFrom: y@deals.test\nSubject: cheap pills offer\nMessage-ID: <new1@deals.test>\n\nbest offer: buy cheap pills now\n' >"$BATS_TEST_TMPDIR/spammy"
  printf 'Received: from x by mx.example.test\nX-Spam-Score: 0.0\nFrom: anna@work.test\nSubject: project meeting\nMessage-ID: <new2@work.test>\n\nagenda of the project meeting: schedule and budget\n' >"$BATS_TEST_TMPDIR/hammy"
  enqueue "$BATS_TEST_TMPDIR/spammy" alice@example.test
  enqueue "$BATS_TEST_TMPDIR/hammy" alice@example.test
  start_send
  wait_for 20 queue_empty
  wait_for 5 delivered alice@example.test 16 16
  grep -q 'spam=junk score=6.0 bayes=+6.00 p=1.0000' "$BATS_TEST_TMPDIR/send.log"
  grep -q 'spam=inbox score=-3.0 bayes=-3.00 p=0.0000' "$BATS_TEST_TMPDIR/send.log"
  # a user who turned the classifier off: the score alone
  pochta spam user alice@example.test bayes off >/dev/null
  sed -i 's/new1@/new3@/' "$BATS_TEST_TMPDIR/spammy"
  enqueue "$BATS_TEST_TMPDIR/spammy" alice@example.test
  wait_for 20 queue_empty
  wait_for 5 delivered alice@example.test 17 16
}

@test "deliver: a broken token database or user file is no opinion, and the mail is delivered" {
  home=$(dirname "$(maildir_of alice@example.test)")
  head -c 1000 /dev/urandom >"$home/pochta-bayes"
  printf 'junk banana\nnonsense\n' >"$home/pochta-spam"
  scored_msg 6 "x" >"$BATS_TEST_TMPDIR/m"
  enqueue "$BATS_TEST_TMPDIR/m" alice@example.test
  start_send
  wait_for 20 queue_empty
  wait_for 5 junk_has alice@example.test 1
  grep -q 'spam=junk score=6.0 .*problem="pochta-bayes is not a database"' "$BATS_TEST_TMPDIR/send.log" ||
    grep -q 'spam=junk score=6.0 .*problem="pochta-spam: 2 lines not understood"' "$BATS_TEST_TMPDIR/send.log"
  # learning sets the broken database aside and starts anew
  run pochta learn ham alice@example.test
  assert_success
  [ -f "$home/pochta-bayes.corrupt" ]
  run "$SPAMTEST" db "$home/pochta-bayes"
  assert_output --partial "spam=0 ham=0"
}

@test "deliver: a broken spam settings file defers delivery (a configuration fault), mended it delivers" {
  echo "junk lots" >"$POCHTA_CONF/spam"
  scored_msg 1 "x" >"$BATS_TEST_TMPDIR/m"
  enqueue "$BATS_TEST_TMPDIR/m" alice@example.test
  start_send
  wait_for 10 grep -q 'result=defer.*spam line 1: junk wants a number' "$BATS_TEST_TMPDIR/send.log"
  inbox_has alice@example.test 0
  echo "junk 4" >"$POCHTA_CONF/spam"
  pochta-queuectl retry >/dev/null 2>&1 || true
  stop send
  start_send
  wait_for 20 queue_empty
  inbox_has alice@example.test 1
}

# repeat_after_crash FILE THRESHOLD: deliver FILE to alice, put the queue back as a
# runner that died before it recorded the delivery leaves it, change alice's
# threshold so that the decision is the other folder, and let the runner try again.
repeat_after_crash() {
  enqueue "$1" alice@example.test
  cp -a "$QUEUE" "$BATS_TEST_TMPDIR/queue.before"
  start_send
  wait_for 20 queue_empty
  stop send
  rm -rf "$QUEUE" && cp -a "$BATS_TEST_TMPDIR/queue.before" "$QUEUE" && rm -rf "$BATS_TEST_TMPDIR/queue.before"
  pochta spam user alice@example.test junk "$2" >/dev/null
  start_send
  wait_for 20 queue_empty
  stop send
}

@test "deliver: a delivery repeated after the runner died finds the first one in the other folder (no duplicate)" {
  scored_msg 7 "first Junk" >"$BATS_TEST_TMPDIR/m"
  repeat_after_crash "$BATS_TEST_TMPDIR/m" 20
  delivered alice@example.test 0 1
  pochta spam user alice@example.test junk default >/dev/null
  scored_msg 7 "first INBOX" >"$BATS_TEST_TMPDIR/m2"
  pochta spam user alice@example.test junk 20 >/dev/null
  repeat_after_crash "$BATS_TEST_TMPDIR/m2" 2
  delivered alice@example.test 1 1
  grep -q "Subject: first INBOX" "$(maildir_of alice@example.test)"/new/*
}

@test "deliver: the admin's delivery program (POCHTA_DELIVER) is given the folder spam filing chose" {
  cat >"$BATS_TEST_TMPDIR/mydeliver" <<EOS
#!/bin/sh
for last; do :; done
echo "\$last" >>"$BATS_TEST_TMPDIR/dirs"
exec pochta-deliver "\$@"
EOS
  chmod +x "$BATS_TEST_TMPDIR/mydeliver"
  scored_msg 9 "x" >"$BATS_TEST_TMPDIR/m"
  enqueue "$BATS_TEST_TMPDIR/m" alice@example.test
  POCHTA_DELIVER="$BATS_TEST_TMPDIR/mydeliver" start_send
  wait_for 20 queue_empty
  run cat "$BATS_TEST_TMPDIR/dirs"
  assert_output "$(junk_of alice@example.test)"
  junk_has alice@example.test 1
}
