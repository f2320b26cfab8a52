#!/usr/bin/env bats
# Spam and virus filtering as pochta-smtpd does it, through the real server under
# tcpserver and real clients (swaks): GTUBE and over-threshold mail refused at
# DATA, scores written behind our Received field and believed by the delivery
# (Junk), forged spam fields dropped on every port, greylisting at RCPT, clamd at
# the end of DATA, a broken configuration a 451 (pochta-spam(5)).

load helpers
load spam/lib

setup() { instance_new; }
teardown() { stop_all; }

queued() { find "$QUEUE/mess" -type f 2>/dev/null | wc -l; }
only_queued() { find "$QUEUE/mess" -type f | head -n1; }
# to_alice [SWAKS-ARGS...]: a message from a stranger to alice over port 25
to_alice() {
  run swaks --server 127.0.0.1 --port "$SMTP_PORT" --helo mail.sender.test --from a@sender.test \
    --to alice@example.test "$@"
}

@test "spam: GTUBE is refused at the end of DATA with 550 5.7.1, nothing queued; an ordinary message is scored" {
  start_smtpd
  to_alice --header "Subject: test" --body "$GTUBE"
  assert_failure
  assert_output --regexp '<\*\* 550 5\.7\.1 Message refused as spam \(score [0-9.]+\)'
  [ "$(queued)" = 0 ]
  grep -q 'event=spam .*GTUBE' "$BATS_TEST_TMPDIR/smtpd.log"
  to_alice --header "Subject: lunch" --body "see you at noon"
  assert_success
  # our fields right behind our Received field: the delivery believes only those
  f=$(only_queued)
  awk 'NR == 1 { next } /^[ \t]/ && !seen { next } { seen = 1; print }' "$f" | head -n2 >"$BATS_TEST_TMPDIR/ours"
  run cat "$BATS_TEST_TMPDIR/ours"
  assert_line --index 0 --regexp '^X-Spam-Score: -?[0-9]+\.[0-9]$'
  assert_line --index 1 --regexp '^X-Spam-Status: No, score=-?[0-9.]+ required=[0-9.]+'
}

@test "spam: incoming X-Spam-* and X-Virus-Status fields are dropped, on port 25 and on submission" {
  allow_plain_auth
  start_smtpd
  to_alice --header "Subject: forged" --add-header "X-Spam-Score: -100" --add-header "X-Spam-Flag: NO" \
    --add-header "X-Virus-Status: Clean" --body "b"
  assert_success
  [ "$(grep -c '^X-Spam-Score:' "$(only_queued)")" = 1 ]   # ours alone
  run grep -c -e '^X-Spam-Score: -100' -e '^X-Spam-Flag' -e '^X-Virus-Status' "$(only_queued)"
  assert_output 0
  rm -f "$QUEUE"/mess/*/*
  start_tcpserver sub SUB_PORT pochta-smtpd -s
  run swaks --server 127.0.0.1 --port "$SUB_PORT" --auth PLAIN --auth-user alice@example.test --auth-password secret \
    --from alice@example.test --to bob@example.test --header "From: <alice@example.test>" --add-header "X-Spam-Score: -100" --body "b"
  assert_success
  run grep -c '^X-Spam-' "$(only_queued)"
  assert_output 0   # dropped, and submitted mail is not scored
}

@test "spam: a score under the reject threshold goes through, and the delivery files it into Junk" {
  printf 'header CHEAP 7 Subject *cheap*\n' >"$POCHTA_CONF/spamrules"
  start_smtpd
  to_alice --header "Subject: cheap watches" --body "buy"
  assert_success
  to_alice --header "Subject: minutes" --body "of the meeting"
  assert_success
  start_send
  wait_for 20 queue_empty
  wait_for 10 sh -c "grep -l 'Subject: cheap watches' '$(maildir_of alice@example.test)'/.Junk/new/* >/dev/null 2>&1"
  grep -l 'Subject: minutes' "$(maildir_of alice@example.test)"/new/*
  run grep -h '^X-Spam-Status' "$(maildir_of alice@example.test)"/.Junk/new/*
  assert_output --partial "CHEAP"
  # over the reject threshold it is refused instead
  printf 'header CHEAP 20 Subject *cheap*\n' >"$POCHTA_CONF/spamrules"
  to_alice --header "Subject: cheap again" --body "buy"
  assert_failure
  assert_output --partial "550 5.7.1 Message refused as spam"
}

@test "spam: greylisting at RCPT answers 451 4.7.1 to a new triplet and lets its retry through" {
  printf 'greylist-delay 1\n' >"$POCHTA_CONF/spam"
  printf 'example.test\n' >"$POCHTA_CONF/greylist"
  start_smtpd
  to_alice --body "first try"
  assert_failure
  assert_output --partial "451 4.7.1 Greylisted"
  [ "$(queued)" = 0 ]
  sleep 2
  to_alice --body "the retry"
  assert_success
  [ "$(queued)" = 1 ]
  # a logged-in user is never greylisted
  allow_plain_auth
  start_tcpserver sub SUB_PORT pochta-smtpd -s
  run swaks --server 127.0.0.1 --port "$SUB_PORT" --auth PLAIN --auth-user bob@example.test --auth-password secret \
    --from bob@example.test --to alice@example.test --header "From: <bob@example.test>" --body "b"
  assert_success
}

@test "spam: clamd at the end of DATA: an infected attachment 554 5.7.1, a clean one marked; clamd down, 451" {
  start_clamd
  echo "clamd unix:$CLAMD_SOCK" >"$POCHTA_CONF/spam"
  attachment_msg infected | sed 's/$/\r/' >"$BATS_TEST_TMPDIR/infected"
  attachment_msg clean | sed 's/$/\r/' >"$BATS_TEST_TMPDIR/clean"
  start_smtpd
  to_alice --data "$BATS_TEST_TMPDIR/infected"
  assert_failure
  assert_output --partial "554 5.7.1 Message refused: it contains a virus (Pochta.Test.Signature.UNOFFICIAL)"
  [ "$(queued)" = 0 ]
  to_alice --data "$BATS_TEST_TMPDIR/clean"
  assert_success
  grep -q '^X-Virus-Status: Clean' "$(only_queued)"
  stop clamd
  to_alice --data "$BATS_TEST_TMPDIR/clean"
  assert_failure
  assert_output --partial "451 4.3.0"
}

@test "spam: a broken spam configuration is a 451 4.3.0 (at the first RCPT), never a pass and never a 5xx" {
  printf 'reject banana\n' >"$POCHTA_CONF/spam"
  start_smtpd
  to_alice --body "b"
  assert_failure
  assert_output --partial "RCPT TO:<alice@example.test>"$'\n'"<** 451 4.3.0"
  [ "$(queued)" = 0 ]
  grep -q 'event=spam .*error=' "$BATS_TEST_TMPDIR/smtpd.log"
  printf 'reject 15\n' >"$POCHTA_CONF/spam"
  to_alice --body "b"
  assert_success
}

@test "spam: score off: no rules and no X-Spam-Score, GTUBE goes through; clamd still scans" {
  start_clamd
  printf 'score off\nclamd unix:%s\n' "$CLAMD_SOCK" >"$POCHTA_CONF/spam"
  start_smtpd
  to_alice --header "Subject: test" --body "$GTUBE"
  assert_success
  run grep -c '^X-Spam-' "$(only_queued)"
  assert_output 0
  grep -q '^X-Virus-Status: Clean' "$(only_queued)"
  attachment_msg infected | sed 's/$/\r/' >"$BATS_TEST_TMPDIR/infected"
  to_alice --data "$BATS_TEST_TMPDIR/infected"
  assert_failure
  assert_output --partial "554 5.7.1"
}
