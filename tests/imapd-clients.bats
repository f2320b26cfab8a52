#!/usr/bin/env bats
# pochta-imapd with real clients: mbsync (isync) two-way sync, mutt in batch mode.
load helpers

setup() { imapd_instance; }
teardown() { stop_all; }

step() { run python3 "$TESTS_DIR/imapd/mbsync.py" "$1" "$IMAP_PORT" "$BATS_TEST_TMPDIR/local"; echo "$output"; [ "$status" -eq 0 ]; }

@test "imapd: mbsync two-way sync, twice, with changes on both sides" {
  command -v mbsync >/dev/null || skip "mbsync (isync) not installed"
  mkdir -p "$BATS_TEST_TMPDIR/local"
  cat >"$BATS_TEST_TMPDIR/mbsyncrc" <<RC
IMAPAccount pochta
Host 127.0.0.1
Port $IMAP_PORT
User alice@example.test
Pass secret
SSLType None
AuthMechs PLAIN

IMAPStore remote
Account pochta

MaildirStore local
Path $BATS_TEST_TMPDIR/local/
Inbox $BATS_TEST_TMPDIR/local/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
Sync All
RC
  step seed
  run mbsync -c "$BATS_TEST_TMPDIR/mbsyncrc" -a; echo "$output"; [ "$status" -eq 0 ]
  [ -d "$BATS_TEST_TMPDIR/local/Work" ] && [ -d "$BATS_TEST_TMPDIR/local/Sent" ]
  step change1
  run mbsync -c "$BATS_TEST_TMPDIR/mbsyncrc" -a; echo "$output"; [ "$status" -eq 0 ]
  step check1
  step change2
  run mbsync -c "$BATS_TEST_TMPDIR/mbsyncrc" -a; echo "$output"; [ "$status" -eq 0 ]
  step check2
  # a third run changes nothing
  run mbsync -c "$BATS_TEST_TMPDIR/mbsyncrc" -a; [ "$status" -eq 0 ]
  step check2
}

@test "imapd: mutt reads a message over IMAP in batch mode" { mutt_reads_over_imap; }
