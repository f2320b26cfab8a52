#!/usr/bin/env bats
# pochta-sendmail: the sendmail command line. Envelope and message are checked
# through a recording queue program (POCHTA_QUEUE), and end to end through
# pochta-queue and pochta-send into the Maildir.

load helpers

setup() {
  instance_new
  unset POCHTA_QUEUE QMAILQUEUE
  FAKEQ=$BATS_TEST_TMPDIR/fakeq
  cat >"$FAKEQ" <<'SH'
#!/bin/sh
# records what the enqueue interface hands over: message (fd 0), envelope (fd 1)
cat >"$FAKEQ_DIR/msg"
cat <&1 >"$FAKEQ_DIR/env"
exit "${FAKEQ_EXIT:-0}"
SH
  chmod +x "$FAKEQ"
  export FAKEQ_DIR=$BATS_TEST_TMPDIR
}
teardown() { stop_all; }

# env_list: the recorded envelope, one item per line.
env_list() { tr '\0' '\n' <"$BATS_TEST_TMPDIR/env"; }

fake() { POCHTA_QUEUE=$FAKEQ "$@"; }

@test "adds Date, Message-Id and From; keeps the body; CRLF becomes LF" {
  printf 'Subject: hello\r\n\r\nline one\r\nline two\r\n' | fake pochta-sendmail -f alice@example.test bob@example.test
  run cat "$BATS_TEST_TMPDIR/msg"
  assert_line --index 0 "Subject: hello"
  assert_line --regexp '^Date: [A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} [+-][0-9]{4}$'
  assert_line --regexp '^Message-Id: <[0-9]+\.[0-9]+\.[0-9a-f]{16}@mx\.example\.test>$'
  assert_line "From: <alice@example.test>"
  run tail -n 3 "$BATS_TEST_TMPDIR/msg"
  assert_output "
line one
line two"
  run grep -c $'\r' "$BATS_TEST_TMPDIR/msg"
  assert_output 0
  run env_list
  assert_output "Falice@example.test
Tbob@example.test"
  run sh -c "tail -c 2 '$BATS_TEST_TMPDIR/env' | od -An -c | tr -d ' '"
  assert_output '\0\0'
}

@test "keeps existing Date, Message-Id and From" {
  printf 'From: A <a@x.test>\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <x@y>\n\nb\n' | fake pochta-sendmail bob@example.test
  run grep -c -i -E '^(date|message-id|from):' "$BATS_TEST_TMPDIR/msg"
  assert_output 3
}

@test "-t takes To, Cc and Bcc; Bcc is removed; arguments are added" {
  printf 'To: "Bob, B." <Bob@Example.test>, x@remote.test (comment, with comma)\nCc: team: carol@remote.test, Dave@Remote.test;\nBcc: alice@example.test\nSubject: s\n\nbody\n' \
    | fake pochta-sendmail -t -f alice@example.test extra@remote.test
  run env_list
  assert_output "Falice@example.test
Tbob@example.test
Tx@remote.test
Tcarol@remote.test
TDave@remote.test
Talice@example.test
Textra@remote.test"
  run grep -ci '^bcc:' "$BATS_TEST_TMPDIR/msg"
  assert_output 0
  run grep -c '^To: "Bob, B." <Bob@Example.test>' "$BATS_TEST_TMPDIR/msg"
  assert_output 1
}

@test "a line with a single dot ends the message unless -i or -oi" {
  printf 'Subject: d\n\nbefore\n.\nafter\n' | fake pochta-sendmail bob@example.test
  run grep -c after "$BATS_TEST_TMPDIR/msg"
  assert_output 0
  for o in -i -oi; do
    printf 'Subject: d\n\nbefore\n.\nafter\n' | fake pochta-sendmail $o bob@example.test
    run tail -n 2 "$BATS_TEST_TMPDIR/msg"
    assert_output ".
after"
  done
}

@test "aliases are expanded before enqueue; duplicates dropped" {
  pochta alias add team@example.test alice@example.test bob@example.test
  printf 'Subject: a\n\nx\n' | fake pochta-sendmail -f root@example.test team@example.test bob@example.test
  run env_list
  assert_output "Froot@example.test
Talice@example.test
Tbob@example.test"
}

@test "a bare name gets @me; -f <> is the null sender; -F names the sender" {
  printf 'Subject: n\n\nx\n' | fake pochta-sendmail -f '<>' postmaster@example.test
  run env_list
  assert_line --index 0 "F"
  printf 'Subject: n\n\nx\n' | fake pochta-sendmail -F 'Al "the" Ice' -f alice@example.test root
  run env_list
  # root@<me> goes to the postmaster, here the first user of the first domain
  assert_line "Talice@example.test"
  run grep '^From:' "$BATS_TEST_TMPDIR/msg"
  assert_output 'From: "Al the Ice" <alice@example.test>'
}

@test "unknown local user: exit 67, nothing queued" {
  run sh -c "printf 'x\n' | POCHTA_QUEUE=$FAKEQ pochta-sendmail nobody@example.test"
  assert_failure 67
  assert_output --partial "no such local user"
  [ ! -e "$BATS_TEST_TMPDIR/env" ]
}

@test "no recipients: exit 64; bad options: exit 64" {
  run sh -c "printf 'x\n' | POCHTA_QUEUE=$FAKEQ pochta-sendmail"
  assert_failure 64
  run sh -c "printf 'To: \n\nx\n' | POCHTA_QUEUE=$FAKEQ pochta-sendmail -t"
  assert_failure 64
  run sh -c "printf 'x\n' | POCHTA_QUEUE=$FAKEQ pochta-sendmail -Z bob@example.test"
  assert_failure 64
  run sh -c "printf 'x\n' | POCHTA_QUEUE=$FAKEQ pochta-sendmail -bs"
  assert_failure 64
  [ ! -e "$BATS_TEST_TMPDIR/env" ]
}

@test "hostile recipients and senders are refused with exit 65, nothing queued" {
  for r in "|/bin/sh" "a b@example.test" $'bob@example.test\nTevil@x.test' "<bob@example.test>" "@x.test" \
           "$(head -c 400 /dev/zero | tr '\0' a)@remote.test"; do
    run sh -c 'printf "x\n" | POCHTA_QUEUE=$0 pochta-sendmail -- "$1"' "$FAKEQ" "$r"
    assert_failure 65
  done
  run sh -c 'printf "x\n" | POCHTA_QUEUE=$0 pochta-sendmail -f "$1" bob@example.test' "$FAKEQ" $'a@b.test\nTevil@x.test'
  assert_failure 65
  run sh -c 'printf "To: \"x\" <a\001b@remote.test>\n\nx\n" | POCHTA_QUEUE=$0 pochta-sendmail -t' "$FAKEQ"
  assert_failure 65
  # a NUL inside a To address must not cut it into two recipients
  run sh -c 'printf "To: evil@remote.test\000bob@example.test\n\nx\n" | POCHTA_QUEUE=$0 pochta-sendmail -t' "$FAKEQ"
  assert_failure 65
  [ ! -e "$BATS_TEST_TMPDIR/env" ]
}

@test "NUL bytes, long lines and 8-bit text in the message pass unchanged" {
  { printf 'Subject: \xc3\xa9t\xc3\xa9\n\n'; head -c 5000 /dev/zero | tr '\0' x; printf '\n\0mid\n\xff\n'; } >"$BATS_TEST_TMPDIR/in"
  fake pochta-sendmail -f a@example.test bob@example.test <"$BATS_TEST_TMPDIR/in"
  run cmp <(tail -c 5008 "$BATS_TEST_TMPDIR/in") <(tail -c 5008 "$BATS_TEST_TMPDIR/msg")
  assert_success
}

@test "a message over databytes is refused with exit 65" {
  echo 100 >"$POCHTA_CONF/databytes"
  run sh -c "head -c 200 /dev/zero | tr '\0' x | POCHTA_QUEUE=$FAKEQ pochta-sendmail bob@example.test"
  assert_failure 65
  [ ! -e "$BATS_TEST_TMPDIR/env" ]
}

@test "queue exit codes: permanent -> 69, temporary -> 75, no queue program -> 75" {
  run sh -c "printf 'x\n' | FAKEQ_EXIT=31 POCHTA_QUEUE=$FAKEQ pochta-sendmail bob@example.test"
  assert_failure 69
  run sh -c "printf 'x\n' | FAKEQ_EXIT=71 POCHTA_QUEUE=$FAKEQ pochta-sendmail bob@example.test"
  assert_failure 75
  run sh -c "printf 'x\n' | POCHTA_QUEUE=$BATS_TEST_TMPDIR/none pochta-sendmail bob@example.test"
  assert_failure 75
  run sh -c "printf 'x\n' | QMAILQUEUE=$FAKEQ pochta-sendmail bob@example.test"
  assert_success
}

@test "end to end: pochta-queue and pochta-send deliver into the Maildir" {
  [ -x "$POCHTA_BIN/pochta-queue" ] && [ -x "$POCHTA_BIN/pochta-send" ] || skip "queue not built yet"
  start_send
  printf 'Subject: e2e\nBcc: bob@example.test\n\nhello from sendmail\n' | pochta-sendmail -t -f alice@example.test alice@example.test
  wait_for 60 user_has alice@example.test 1
  wait_for 60 user_has bob@example.test 1
  local f; f=$(find "$(maildir_of bob@example.test)/new" -type f)
  run cat "$f"
  assert_line "Return-Path: <alice@example.test>"
  assert_line "Subject: e2e"
  assert_line "hello from sendmail"
  refute_line --partial "Bcc:"
}
