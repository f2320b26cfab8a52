#!/usr/bin/env bats
# pochta-imapd: CONDSTORE (RFC 7162 section 3.1) and its modseq log, pochta-modseq.
load helpers

setup() { imapd_instance; }
teardown() { stop_all; }

cs() { run python3 "$TESTS_DIR/imapd/condstore.py" "$1" "$IMAP_PORT" "${@:2}"; echo "$output"; [ "$status" -eq 0 ]; }

@test "condstore: CAPABILITY before and after login" { cs capability; }
@test "condstore: ENABLE CONDSTORE, HIGHESTMODSEQ only once enabled" { cs enable; }
@test "condstore: SELECT/EXAMINE (CONDSTORE) give HIGHESTMODSEQ, other parameters BAD" { cs select; }
@test "condstore: FETCH MODSEQ grows with each STORE, FLAGS carry MODSEQ" { cs fetch_store; }
@test "condstore: FETCH (CHANGEDSINCE n) returns only changed messages" { cs changedsince; }
@test "condstore: STORE (UNCHANGEDSINCE n) succeeds or answers [MODIFIED]" { cs unchangedsince; }
@test "condstore: SEARCH MODSEQ with (MODSEQ n), ESEARCH MODSEQ" { cs search; }
@test "condstore: STATUS and LIST-STATUS HIGHESTMODSEQ" { cs status; }
@test "condstore: a second session sees FETCH UID FLAGS MODSEQ after a STORE" { cs two_sessions; }
@test "condstore: a flag changed by renaming the file gets a higher modseq" { cs rename; }
@test "condstore: HIGHESTMODSEQ persists, never goes down after EXPUNGE or a lost log" { cs persist; }

@test "condstore: APPEND, pochta-deliver, COPY and MOVE give fresh modseqs" {
  printf 'From: bob@example.test\nSubject: delivered\n\nhello\n' >"$BATS_TEST_TMPDIR/m"
  cs new_messages "pochta-deliver '$MD' <'$BATS_TEST_TMPDIR/m'"
}

@test "condstore: the log is rewritten when it grows past twice the mailbox" { cs compact; }

@test "condstore: sessions storing at once get distinct, growing modseqs" { cs concurrent; }

@test "condstore: hostile modifiers and huge numbers answer BAD, the session goes on" { cs hostile; }

@test "condstore: the log is text, one line per change, appended; dovecot-uidlist has no new field" {
  cs fetch_store
  head -n1 "$MD/pochta-modseq" | grep -Eq '^P1 V[0-9]+ H[0-9]+$'
  # STOREs appended lines "uid modseq flags" after the rebuilt part
  tail -n1 "$MD/pochta-modseq" | grep -Eq '^[0-9]+ [0-9]+ [A-Za-z-]+$'
  [ "$(grep -c '^1 ' "$MD/pochta-modseq")" -ge 2 ]
  # the uid list keeps Dovecot's own fields only
  ! grep -q 'pochta\|M[0-9]' "$MD/dovecot-uidlist"
  [ -f "$MD/pochta-uidlist.lock" ]
}
