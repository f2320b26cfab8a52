#!/usr/bin/env bats
# Greylisting (RFC 6647) and per-client rate limits through their real state under
# <statedir>/spam, as pochta-smtpd would keep them: one process per check, many
# at once (as many parallel pochta-smtpd), no daemon.

load helpers
load spam/lib

setup() { instance_new; }
teardown() { stop_all; }

# grey ADDRESS RCPT: what RCPT would answer
grey() { pochta spam rcpt --ip "$1" --from sender@list.test "$2"; }
passes() { grey "$1" "$2" | grep -q ': accept'; }

@test "greylisting: off by default; per domain; a new triplet 451 4.7.1, after the delay it passes" {
  run grey 192.0.2.1 alice@example.test
  assert_output "alice@example.test: accept"
  printf 'greylist-delay 1\n' >"$POCHTA_CONF/spam"
  printf 'example.test\n' >"$POCHTA_CONF/greylist"
  run grey 192.0.2.1 alice@example.test
  assert_output --regexp '^alice@example.test: 451 4\.7\.1 Greylisted: please try again in 1 seconds \(grey=wait\)$'
  run pochta spam rcpt --ip 192.0.2.1 --from sender@list.test someone@other.test
  assert_output "someone@other.test: accept"
  wait_for 10 passes 192.0.2.1 alice@example.test
  run grey 192.0.2.1 alice@example.test
  assert_output "alice@example.test: accept (grey=known)"
  # the same /24 is the same client; another network, recipient or sender is not
  run grey 192.0.2.200 alice@example.test
  assert_output --partial "accept"
  run grey 198.51.100.1 alice@example.test
  assert_output --partial "451 4.7.1"
  run grey 192.0.2.1 bob@example.test
  assert_output --partial "451 4.7.1"
  # the state is files of the queue's account, one record per triplet
  grep -qE '^[0-9]+ [0-9]+ 1$' $(find "$INST/state/spam/grey" -type f -name 't*')
}

@test "greylisting: VERP and BATV senders are one triplet; exempt clients pass; a client that passed enough stops being greylisted" {
  printf 'greylist-delay 1\ngreylist-clients 2\n' >"$POCHTA_CONF/spam"
  printf '*\nexempt 203.0.113.0/24\n' >"$POCHTA_CONF/greylist"
  run pochta spam rcpt --ip 192.0.2.1 --from bounce-1234@list.test alice@example.test
  assert_output --partial "451"
  sleep 1.1
  run pochta spam rcpt --ip 192.0.2.1 --from prvs=0abc1234=bounce-9876@list.test alice@example.test
  assert_output --partial "accept (grey=pass)"
  run grey 203.0.113.9 alice@example.test
  assert_output "alice@example.test: accept (grey=exempt)"
  run grey 192.0.2.1 bob@example.test
  assert_output --partial "451"
  sleep 1.1
  run grey 192.0.2.1 bob@example.test
  assert_output --partial "grey=pass"
  run grey 192.0.2.1 carol@example.test
  assert_output "carol@example.test: accept (grey=client)"
}

@test "greylisting: thirty parallel checks of one triplet all wait, and leave one good record" {
  printf 'greylist-delay 2\n' >"$POCHTA_CONF/spam"
  printf 'example.test\n' >"$POCHTA_CONF/greylist"
  for i in $(seq 1 30); do grey 192.0.2.1 alice@example.test >"$BATS_TEST_TMPDIR/g$i" & done
  wait
  run cat "$BATS_TEST_TMPDIR"/g*
  [ "$(grep -c '451 4.7.1' <<<"$output")" = 30 ]
  run find "$INST/state/spam/grey" -type f -name 't*'
  [ "$(echo "$output" | wc -l)" = 1 ]
  grep -Eq '^[0-9]+ [0-9]+ 0$' "$output"
  run find "$INST/state/spam/grey" -name '.t*'
  assert_output ""
  wait_for 10 passes 192.0.2.1 alice@example.test
}

@test "greylisting: a broken state directory lets mail through (advisory), and says so" {
  printf 'example.test\n' >"$POCHTA_CONF/greylist"
  mkdir -p "$INST/state/spam"
  echo "not a directory" >"$INST/state/spam/grey"
  run grey 192.0.2.1 alice@example.test
  assert_output "alice@example.test: accept (grey=error)"
  rm "$INST/state/spam/grey"
  mkdir -p "$INST/state/spam/grey/00"
  head -c 100 /dev/urandom >"$INST/state/spam/grey/00/t00000000000000000000000000000000"
  run grey 192.0.2.1 alice@example.test
  assert_output --partial "451 4.7.1"
}

@test "rate limit: at most N messages per client per period, even from twenty processes at once" {
  printf 'ratelimit 5/3600\nratelimit-exempt 198.51.100.7\n' >"$POCHTA_CONF/spam"
  printf 'From: a@sender.test\nSubject: x\n\nbody\n' >"$BATS_TEST_TMPDIR/m"
  for i in $(seq 1 20); do pochta spam check --count --ip 192.0.2.77 <"$BATS_TEST_TMPDIR/m" >"$BATS_TEST_TMPDIR/r$i" & done
  wait
  run sh -c "head -qn1 '$BATS_TEST_TMPDIR'/r* | sort | uniq -c"
  echo "$output"
  assert_line --regexp '^ +5 accept$'
  assert_line --regexp '^ +15 tempfail$'
  run pochta spam check --count --ip 192.0.2.77 <"$BATS_TEST_TMPDIR/m"
  assert_line --index 1 "451 4.7.1 Too many messages from your address: please try again later"
  # another client, an exempt one, and a check without --count are not limited
  run pochta spam check --count --ip 192.0.2.78 <"$BATS_TEST_TMPDIR/m"
  assert_line --index 0 accept
  for i in 1 2 3 4 5 6 7; do
    run pochta spam check --count --ip 198.51.100.7 <"$BATS_TEST_TMPDIR/m"
    assert_line --index 0 accept
  done
  run pochta spam check --ip 192.0.2.77 <"$BATS_TEST_TMPDIR/m"
  assert_line --index 0 accept
}

@test "rate limit: the slot is changed under a lock: eight processes adding 2000 each lose nothing" {
  run "$SPAMTEST" rate-hammer 8 2000
  assert_output 16000
}

@test "rate limit: a zero-filled or short rate file is a fresh one" {
  printf 'ratelimit 2/3600\n' >"$POCHTA_CONF/spam"
  mkdir -p "$INST/state/spam"
  head -c 777 /dev/zero >"$INST/state/spam/rate"
  printf 'Subject: x\n\nb\n' >"$BATS_TEST_TMPDIR/m"
  run pochta spam check --count --ip 192.0.2.1 <"$BATS_TEST_TMPDIR/m"
  assert_line --index 0 accept
  run pochta spam check --count --ip 192.0.2.1 <"$BATS_TEST_TMPDIR/m"
  assert_line --index 0 accept
  run pochta spam check --count --ip 192.0.2.1 <"$BATS_TEST_TMPDIR/m"
  assert_line --index 0 tempfail
}
