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

@test "imapd: mutt reads a message over IMAP in batch mode" {
  command -v mutt >/dev/null || skip "mutt not installed"
  command -v script >/dev/null || skip "script (util-linux) not installed"
  python3 -c "
import imaplib; m = imaplib.IMAP4('127.0.0.1', $IMAP_PORT); m.login('alice@example.test', 'secret')
m.append('INBOX', None, None, b'From: bob@example.test\r\nSubject: for mutt\r\n\r\nmutt body text\r\n')"
  cat >"$BATS_TEST_TMPDIR/muttrc" <<RC
set imap_user=alice@example.test
set imap_pass=secret
set ssl_starttls=no
set ssl_force_tls=no
set folder=imap://127.0.0.1:$IMAP_PORT/
set spoolfile=+INBOX
set header_cache=
set message_cachedir=
set mbox_type=mbox
set confirmappend=no
set confirmcreate=no
set mail_check=0
set timeout=1
set quit=yes
set delete=no
set move=no
RC
  # mutt wants a terminal: script(1) gives it one; it copies message 1 to an mbox and quits
  TERM=dumb timeout 30 script -qec "mutt -n -F '$BATS_TEST_TMPDIR/muttrc' -e 'push \"<copy-message>$BATS_TEST_TMPDIR/saved.mbox<enter><quit>\"'" /dev/null >/dev/null 2>&1
  run cat "$BATS_TEST_TMPDIR/saved.mbox"
  echo "$output"
  [[ "$output" == *"Subject: for mutt"* ]]
  [[ "$output" == *"mutt body text"* ]]
}
