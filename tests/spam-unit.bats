#!/usr/bin/env bats
# spam/'s engines, one by one (spam-test unit: tokenizer, token database,
# classifier, configuration parsers, rules, HELO, Authentication-Results, headers,
# DNS lists with a fake resolver, greylisting and rate decisions, clamd answers,
# DNS packets, the SMTP-time calls with fake effects), then the same engines through
# pochta spam check on real messages.

load helpers
load spam/lib

setup() {
  [ -x "$SPAMTEST" ] || skip "spam-test not built (make check-progs)"
}
teardown() { stop_all; }

@test "spam unit: every engine test passes" {
  run "$SPAMTEST" unit
  echo "$output" | grep -v '^ok' || true
  assert_success
  assert_line --partial "# 0 of"
  [ "$(echo "$output" | grep -c '^ok')" -ge 190 ]
}

@test "spam check: GTUBE is refused with 550 5.7.1, whatever else the message is" {
  instance_new
  printf 'From: a@sender.test\nSubject: test\n\nThis is the GTUBE:\n%s\n' "$GTUBE" >"$BATS_TEST_TMPDIR/gtube"
  run pochta spam check --ip 192.0.2.1 --helo mail.sender.test <"$BATS_TEST_TMPDIR/gtube"
  assert_success
  assert_line --index 0 reject
  assert_line --index 1 --regexp '^550 5\.7\.1 Message refused as spam \(score 10[0-9][0-9]\.[0-9]\)$'
  assert_line --partial "tests=GTUBE"
  # in a quoted-printable text part, too
  printf 'From: a@sender.test\nSubject: t\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n%s=\n\n' "$GTUBE" >"$BATS_TEST_TMPDIR/qp"
  run pochta spam check --ip 192.0.2.1 <"$BATS_TEST_TMPDIR/qp"
  assert_line --index 0 reject
}

@test "spam check: an ordinary message is accepted with X-Spam-Score and X-Spam-Status" {
  instance_new
  printf 'From: a@sender.test\nTo: alice@example.test\nSubject: lunch\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <1@sender.test>\n\nAt noon?\n' >"$BATS_TEST_TMPDIR/m"
  run pochta spam check --ip 192.0.2.1 --helo desktop --authres 'mx.example.test; spf=fail smtp.mailfrom=sender.test; dkim=none' <"$BATS_TEST_TMPDIR/m"
  assert_success
  assert_line --index 0 accept
  assert_line "X-Spam-Score: 3.0"
  assert_line "X-Spam-Status: No, score=3.0 required=5.0 tests=HELO_NO_DOT=1.0,SPF_FAIL=2.0"
  # the administrator's rules count, and a weight can be changed
  printf 'body LUNCH 2.5 at noon\nscore HELO_NO_DOT 0\n' >"$POCHTA_CONF/spamrules"
  run pochta spam check --ip 192.0.2.1 --helo desktop <"$BATS_TEST_TMPDIR/m"
  assert_line "X-Spam-Score: 2.5"
  assert_line "X-Spam-Status: No, score=2.5 required=5.0 tests=LUNCH=2.5"
  # at the reject threshold: refused
  echo "reject 2.5" >"$POCHTA_CONF/spam"
  run pochta spam check --ip 192.0.2.1 --helo desktop <"$BATS_TEST_TMPDIR/m"
  assert_line --index 0 reject
}

@test "spam check: a bad configuration line is named, and is a temporary failure" {
  instance_new
  printf 'body OK 1 fine\nbody BAD x phrase\n' >"$POCHTA_CONF/spamrules"
  run pochta spam conf
  assert_failure 111
  assert_output --partial "spamrules line 2: a weight is a number from -10000 to 10000"
  run pochta spam check <<<"Subject: x"
  assert_failure 111
  printf 'body OK 1 fine\n' >"$POCHTA_CONF/spamrules"
  printf 'rejct 5\n' >"$POCHTA_CONF/spam"
  run pochta spam conf
  assert_failure 111
  assert_output --partial "spam line 1: unknown setting rejct"
  rm "$POCHTA_CONF/spam"
  run pochta spam conf
  assert_success
  assert_output --partial "ok:"
}
