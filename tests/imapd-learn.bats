#!/usr/bin/env bats
# The classifier learns from what the user does over IMAP (pochta-spam(5),
# spam_learn): COPY/MOVE into the \Junk folder or +FLAGS $Junk trains spam;
# out of Junk (not into Trash) or +FLAGS $NotJunk trains ham; APPEND nothing.
# Driven by Python's imaplib against pochta-imapd under tcpserver; the counts
# are read back with pochta spam user, and the last test delivers through the
# real runner to see the trained classifier file mail.

load helpers
load spam/lib

setup() {
  imapd_instance
  for i in $(seq 1 12); do
    printf 'From: x%d@deals.test\nSubject: cheap pills offer %d\nMessage-ID: <s%d@deals.test>\n\nbuy cheap pills now, best offer on pills, order today %d\n' $i $i $i $i | put_mail "$MD"
  done
}
teardown() { stop_all; }

# learned: what the token database holds, "S spam, H ham"
learned() { pochta spam user alice@example.test | sed -n 's/^learned \([0-9]*\) spam, \([0-9]*\) ham,.*/\1 spam, \2 ham/p'; }

# imap PYTHON: run statements with m logged in as alice (imaplib), ok() checks a reply
imap() {
  python3 - "$IMAP_PORT" <<EOF
import imaplib, sys
m = imaplib.IMAP4('127.0.0.1', int(sys.argv[1]))
m.login('alice@example.test', 'secret')
def ok(r):
    assert r[0] == 'OK', r
    return r[1]
$1
m.logout()
EOF
}

@test "imapd learning: MOVE and COPY into Junk train spam, out of Junk ham, into Trash nothing" {
  run learned; assert_output "0 spam, 0 ham"
  imap "ok(m.select('INBOX')); ok(m.uid('MOVE', '1:10', 'Junk'))"
  run learned; assert_output "10 spam, 0 ham"
  grep -q 'event=learn user=alice@example.test spam=10 ham=0' "$BATS_TEST_TMPDIR/imapd.log"
  # back out of Junk: what was learned as spam moves to ham; into Trash: nothing
  imap "ok(m.select('Junk')); ok(m.uid('MOVE', '1:2', 'INBOX')); ok(m.uid('MOVE', '3', 'Trash')); ok(m.copy('1', 'Archive'))"
  run learned; assert_output "7 spam, 3 ham"
  # COPY into Junk of one never learned (INBOX 1, uid 11), a copy within INBOX
  # trains nothing
  imap "ok(m.select('INBOX')); ok(m.copy('1', 'Junk')); ok(m.copy('2', 'INBOX'))"
  run learned; assert_output "8 spam, 3 ham"
  # one learned as ham (moved back out of Junk: INBOX 3) moves to spam, once
  imap "ok(m.select('INBOX')); ok(m.copy('3', 'Junk')); ok(m.copy('3', 'Junk'))"
  run learned; assert_output "9 spam, 2 ham"
  # APPEND into Junk trains nothing
  imap "ok(m.append('Junk', None, None, b'From: a@b.test\r\nSubject: appended\r\n\r\nan uploaded message\r\n'))"
  run learned; assert_output "9 spam, 2 ham"
}

@test "imapd learning: +FLAGS \$Junk trains spam, \$NotJunk ham; a folder made \\Junk by CREATE (SPECIAL-USE) counts" {
  imap "ok(m.select('INBOX')); ok(m.store('1:3', '+FLAGS', '(\$Junk)'))"
  run learned; assert_output "3 spam, 0 ham"
  # the keyword set already, or taken away: nothing
  imap "ok(m.select('INBOX')); ok(m.store('1:3', '+FLAGS', '(\$Junk)')); ok(m.store('1:3', '-FLAGS', '(\$Junk)'))"
  run learned; assert_output "3 spam, 0 ham"
  imap "ok(m.select('INBOX')); ok(m.store('2:4', '+FLAGS.SILENT', '(\$NotJunk)'))"
  run learned; assert_output "1 spam, 3 ham"
  # both at once says nothing
  imap "ok(m.select('INBOX')); ok(m.store('5', '+FLAGS', '(\$Junk \$NotJunk)'))"
  run learned; assert_output "1 spam, 3 ham"
  # a folder of another name given \Junk when created
  imap "ok(m._simple_command('CREATE', 'Spam', '(USE (\\\\Junk))')); ok(m.select('INBOX')); ok(m.uid('MOVE', '10:12', 'Spam'))"
  run learned; assert_output "4 spam, 3 ham"
}

@test "imapd learning: two sessions and pochta learn train at once; no update is lost" {
  for i in $(seq 1 12); do
    printf 'From: anna@work.test\nSubject: project meeting %d\nMessage-ID: <h%d@work.test>\n\nthe project meeting agenda: budget review and schedule %d\n' $i $i $i | put_mail "$MD/.Archive"
  done
  # session A moves INBOX's 12 one by one into Junk, session B flags Archive's
  # 12 $NotJunk one by one, while pochta learn trains Archive as ham too (the
  # same messages: they count once) and then Junk as spam
  imap "
ok(m.select('INBOX'))
for u in range(1, 13): ok(m.uid('MOVE', str(u), 'Junk'))" &
  a=$!
  imap "
ok(m.select('Archive'))
for u in range(1, 13): ok(m.uid('STORE', str(u), '+FLAGS', '(\$NotJunk)'))" &
  b=$!
  for _ in 1 2 3; do pochta learn ham alice@example.test Archive >/dev/null; done
  wait $a; wait $b
  run learned; assert_output "12 spam, 12 ham"
  pochta learn spam alice@example.test Junk >/dev/null
  run learned; assert_output "12 spam, 12 ham"
}

@test "imapd learning: trained over IMAP, the classifier files the next spam into Junk and ham into INBOX" {
  for i in $(seq 1 12); do
    printf 'From: anna@work.test\nSubject: project meeting %d\nMessage-ID: <h%d@work.test>\n\nthe project meeting agenda: budget review and schedule %d\n' $i $i $i | put_mail "$MD/.Junk"
  done
  # the user sorts: the pills into Junk, the meetings out of it
  imap "ok(m.select('INBOX')); ok(m.uid('MOVE', '1:*', 'Junk'))
ok(m.select('Junk')); t, d = m.uid('SEARCH', 'SUBJECT', 'meeting'); ok((t, d)); ok(m.uid('MOVE', b','.join(d[0].split()).decode(), 'INBOX'))"
  run learned; assert_output "12 spam, 12 ham"
  printf 'Received: from x by mx.example.test\nX-Spam-Score: 0.0\nFrom: y@deals.test\nSubject: cheap pills offer\nMessage-ID: <new1@deals.test>\n\nbest offer: buy cheap pills now\n' >"$BATS_TEST_TMPDIR/spammy"
  printf 'Received: from x by mx.example.test\nX-Spam-Score: 0.0\nFrom: anna@work.test\nSubject: project meeting\nMessage-ID: <new2@work.test>\n\nagenda of the project meeting: schedule and budget\n' >"$BATS_TEST_TMPDIR/hammy"
  enqueue "$BATS_TEST_TMPDIR/spammy" alice@example.test
  enqueue "$BATS_TEST_TMPDIR/hammy" alice@example.test
  start_send
  wait_for 20 queue_empty
  wait_for 5 maildir_has "$MD/.Junk" 13
  wait_for 5 maildir_has "$MD" 13
  grep -rq 'new1@deals.test' "$MD/.Junk/new" "$MD/.Junk/cur"
  grep -rq 'new2@work.test' "$MD/new" "$MD/cur"
}

@test "imapd learning: a token database that cannot be written fails no command, and is logged" {
  home=$(dirname "$MD")
  mkdir "$home/pochta-bayes.lock"   # not a file: the learner cannot lock it
  imap "ok(m.select('INBOX')); ok(m.uid('MOVE', '1:3', 'Junk'))"
  [ "$(count_mail "$MD/.Junk")" -eq 3 ]
  grep -q 'event=learn result=error user=alice@example.test error="token database' "$BATS_TEST_TMPDIR/imapd.log"
}
