#!/usr/bin/env bats
# pochta-imapd with several sessions and programs on one mailbox (issue 15, 1-4):
# no flag change lost, UIDVALIDITY never reused, expunged messages are no reason
# for NO, \Recent in exactly one session.
load helpers

setup() { imapd_instance; }
teardown() { stop_all; }

cc() { run python3 "$TESTS_DIR/imapd/concur.py" "$1" "$IMAP_PORT" "$MD" "${@:2}"; echo "$output"; [ "$status" -eq 0 ]; }

@test "imapd-concurrency: a STORE from a stale view keeps another session's change" { cc store_stale; }
@test "imapd-concurrency: a STORE keeps what a Maildir program renamed meanwhile" { cc store_outside; }
@test "imapd-concurrency: two sessions and an outside program on the same flags lose nothing" { cc concurrent_flags; }
@test "imapd-concurrency: DELETE+CREATE and RENAME onto a name give a new UIDVALIDITY" { cc uidvalidity; }
@test "imapd-concurrency: expunged or renamed messages get OK [EXPUNGEISSUED], COPY all or nothing" { cc expunged; }

@test "imapd-concurrency: \\Recent for APPEND, COPY, MOVE and delivery, in one session only" {
  printf 'From: bob@example.test\nSubject: delivered\n\nhello\n' >"$BATS_TEST_TMPDIR/m"
  cc recent "pochta-deliver '%s' <'$BATS_TEST_TMPDIR/m'"
}
