#!/usr/bin/env bats
# pochta-imapd against clients that would hold a slot or burn CPU (issue 10: 2, 3,
# 8, 12; issue 11: 4). The deadline tests run pochta-imapd with -t 2 -T 2.
load helpers

setup() { imapd_instance; }
teardown() { stop_all; }

lim() { run timeout 60 python3 "$TESTS_DIR/imapd/limits.py" "$1" "$IMAP_PORT" "$MD" "${@:2}"; echo "$output"; [ "$status" -eq 0 ]; }
short() { stop imapd; start_imapd -t 2 -T 2; }

@test "imapd-limits: LIST wildcards cost pattern x name, never exponential" { lim list_wildcards; }

@test "imapd-limits: a client that stops reading before login is dropped on the timeout" {
  short
  lim slow_reader pre
  wait_for 10 grep -q 'event=timeout user=-' "$BATS_TEST_TMPDIR/imapd.log"
}

@test "imapd-limits: a client that stops reading after login is dropped on the timeout" {
  short
  lim slow_reader post
  wait_for 10 grep -q 'event=timeout user=alice@example.test' "$BATS_TEST_TMPDIR/imapd.log"
}

@test "imapd-limits: a command trickling in is closed on its deadline (before login)" { short; lim trickle pre; }
@test "imapd-limits: a command trickling in is closed on its deadline (after login)" { short; lim trickle post; }
@test "imapd-limits: an APPEND literal below the minimum rate is closed, nothing stored" { short; lim append_rate; }

@test "imapd-limits: a deflate bomb ends the session" {
  lim compress_bomb
  grep -q 'event=compress error="inflates too much"' "$BATS_TEST_TMPDIR/imapd.log"
}

@test "imapd-limits: three failed logins on a connection, then BYE" { lim login_limit; }

@test "imapd-limits: a planted symbolic link or FIFO is never read as a message" {
  printf 'From: x\nSubject: TOP SECRET\n\nTOP SECRET\n' >"$BATS_TEST_TMPDIR/secret"
  # a first login makes the Maildir
  printf 'a LOGIN alice@example.test secret\r\nb LOGOUT\r\n' | python3 "$TESTS_DIR/imapd/raw.py" "$IMAP_PORT" >/dev/null
  lim planted_link "$BATS_TEST_TMPDIR/secret"
}
