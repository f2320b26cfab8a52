#!/usr/bin/env bats
# Real POP3 clients against pochta-pop3d under tcpserver (plainauth=loopback):
# fetchmail and getmail6, with and without keep.
load helpers

setup() {
  pop3_instance
  start_pop3d
  DEST="$BATS_TEST_TMPDIR/dest/Maildir"
  mkdir -p "$DEST"/{tmp,new,cur}
  for i in 1 2 3 4 5; do
    printf 'From: sender@example.org\nTo: alice@example.test\nSubject: client test %s\nMessage-Id: <%s@example.org>\n\nbody %s\n.starts with a dot\n' "$i" "$i" "$i" | put_mail "$MD_ALICE"
  done
}
teardown() { stop_all; }

fetchmail_rc() {
  local keep=$1
  mkdir -p "$BATS_TEST_TMPDIR/fm"
  cat >"$BATS_TEST_TMPDIR/fm/rc" <<EOF2
set no bouncemail
set no syslog
poll 127.0.0.1 service $POP3_PORT protocol pop3 uidl auth password
  user "alice@example.test" there with password "secret" is "$(id -un)" here
  $keep sslproto ''
  mda "pochta-deliver $DEST"
EOF2
  chmod 600 "$BATS_TEST_TMPDIR/fm/rc"
}

run_fetchmail() {
  FETCHMAILHOME="$BATS_TEST_TMPDIR/fm" fetchmail -f "$BATS_TEST_TMPDIR/fm/rc" \
    --idfile "$BATS_TEST_TMPDIR/fm/ids" --pidfile "$BATS_TEST_TMPDIR/fm/pid" --nodetach "$@"
}

@test "clients: fetchmail with keep downloads everything, twice only once (UIDL), leaves the mailbox" {
  command -v fetchmail >/dev/null || skip "no fetchmail"
  fetchmail_rc keep
  run run_fetchmail
  [ "$status" -eq 0 ]
  [ "$(count_mail "$DEST")" -eq 5 ]
  [ "$(count_mail "$MD_ALICE")" -eq 5 ]
  for i in 1 2 3 4 5; do grep -lx "body $i" "$DEST"/new/* >/dev/null; done
  grep -l '^\.starts with a dot$' "$DEST"/new/* | wc -l | grep -qx 5
  # the second run sees the same UIDLs and fetches nothing (exit 1: no mail)
  run run_fetchmail
  [ "$status" -eq 1 ]
  [ "$(count_mail "$DEST")" -eq 5 ]
}

@test "clients: fetchmail without keep downloads and deletes" {
  command -v fetchmail >/dev/null || skip "no fetchmail"
  fetchmail_rc 'no keep'
  run run_fetchmail
  [ "$status" -eq 0 ]
  [ "$(count_mail "$DEST")" -eq 5 ]
  [ "$(count_mail "$MD_ALICE")" -eq 0 ]
  grep -q 'event=logout user=alice@example.test ip=127.0.0.1 deleted=5 failed=0' "$BATS_TEST_TMPDIR/pop3d.log"
}

getmail_rc() {
  mkdir -p "$BATS_TEST_TMPDIR/gm"
  cat >"$BATS_TEST_TMPDIR/gm/rc" <<EOF2
[retriever]
type = SimplePOP3Retriever
server = 127.0.0.1
port = $POP3_PORT
username = alice@example.test
password = secret

[destination]
type = MDA_external
path = $(command -v pochta-deliver)
arguments = ("$DEST",)
allow_root_commands = true

[options]
delete = $1
read_all = false
verbose = 0
EOF2
}

@test "clients: getmail6 keeping mail, then only new mail on the next run" {
  command -v getmail >/dev/null || skip "no getmail6"
  getmail_rc false
  run getmail --getmaildir="$BATS_TEST_TMPDIR/gm" --rcfile=rc
  assert_success
  [ "$(count_mail "$DEST")" -eq 5 ]
  [ "$(count_mail "$MD_ALICE")" -eq 5 ]
  printf 'Subject: sixth\n\nbody 6\n' | put_mail "$MD_ALICE"
  run getmail --getmaildir="$BATS_TEST_TMPDIR/gm" --rcfile=rc
  assert_success
  [ "$(count_mail "$DEST")" -eq 6 ]
  grep -lx 'body 6' "$DEST"/new/* >/dev/null
}

@test "clients: getmail6 deleting mail" {
  command -v getmail >/dev/null || skip "no getmail6"
  getmail_rc true
  run getmail --getmaildir="$BATS_TEST_TMPDIR/gm" --rcfile=rc
  assert_success
  [ "$(count_mail "$DEST")" -eq 5 ]
  [ "$(count_mail "$MD_ALICE")" -eq 0 ]
  # getmail writes the message as it got it: our body, unstuffed
  grep -l '^\.starts with a dot$' "$DEST"/new/* | wc -l | grep -qx 5
}
