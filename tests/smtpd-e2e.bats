#!/usr/bin/env bats
# pochta-smtpd with the real pochta-queue (and, when present, pochta-send and
# pochta-deliver): the 250 id is the queue's id, the queued message is what was
# sent plus Received, and it ends in the Maildir byte for byte.

load helpers

setup() {
  command -v pochta-queue >/dev/null || skip "pochta-queue not built"
  instance_new
  unset POCHTA_QUEUE QMAILQUEUE
}

teardown() { stop_all; }

@test "smtpd e2e: the real pochta-queue takes the message; 250 names its id" {
  start_smtpd
  run swaks --server 127.0.0.1 --port "$SMTP_PORT" --from x@remote.test --to alice@example.test --helo c.test --body 'to the queue'
  assert_success
  id=$(sed -n 's/^<-  250 2.0.0 Ok: queued as \([0-9a-f]\{16\}\)$/\1/p' <<<"$output")
  [ ${#id} = 16 ]
  [ -n "$(find "$QUEUE" -type f -name "$id")" ]
}

@test "smtpd e2e: into the Maildir through pochta-send and pochta-deliver" {
  command -v pochta-send >/dev/null || skip "pochta-send not built"
  start_smtpd
  start_send
  python3 - "$SMTP_PORT" <<'EOF2'
import smtplib, sys
msg = b"From: x@remote.test\r\nTo: alice@example.test\r\nSubject: e2e\r\n\r\nend to end\r\n..dot\r\n"
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="c.test") as s:
    assert s.sendmail("x@remote.test", ["alice@example.test", "bob@example.test"], msg) == {}
EOF2
  md=$(maildir_of alice@example.test)
  wait_for 20 maildir_has "$md" 1
  wait_for 20 user_has bob@example.test 1
  f=$(find "$md/new" "$md/cur" -type f | head -n1)
  grep -q '^Received: from c.test (\[127.0.0.1\])$' "$f"
  printf 'From: x@remote.test\nTo: alice@example.test\nSubject: e2e\n\nend to end\n..dot\n' >"$BATS_TEST_TMPDIR/want"
  sed -n '/^Received: from c.test/,$p' "$f" | without_ours | cmp - "$BATS_TEST_TMPDIR/want"
}

@test "smtpd e2e: without POCHTA_QUEUE the queue is written in-process (no exec per message), durably" {
  command -v strace >/dev/null || skip "strace not installed"
  q_enqueue 'Fa@b.test\0Talice@example.test\0\0'   # the queue's layout is made once, by its first writer
  start_tcpserver smtpd SMTP_PORT strace -f -qq -e trace=execve,fsync,rename -o "$BATS_TEST_TMPDIR/trace" pochta-smtpd
  run swaks --server 127.0.0.1 --port "$SMTP_PORT" --from x@remote.test --to alice@example.test --body in-process
  assert_success
  id=$(sed -n 's/^<-  250 2.0.0 Ok: queued as \([0-9a-f]\{16\}\)$/\1/p' <<<"$output")
  [ -n "$(find "$QUEUE/new" -name "$id")" ]
  stop smtpd
  run grep -c 'execve(' "$BATS_TEST_TMPDIR/trace"
  assert_output 1   # pochta-smtpd itself, nothing after it
  # the stages of pochta-queue(5): data and envelope fsynced, the data's directory,
  # the rename into new/ (the commit), new/ fsynced
  run grep -oE 'fsync|rename\("tmp/[0-9a-f]+", "new/[0-9a-f]+"\)' "$BATS_TEST_TMPDIR/trace"
  assert_output "$(printf 'fsync\nfsync\nfsync\nrename("tmp/%s", "new/%s")\nfsync' "$id" "$id")"
}

@test "smtpd e2e: a POCHTA_QUEUE filter chain still works: one rewrites a header, one refuses" {
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  cat >"$BATS_TEST_TMPDIR/bin/rewrite" <<'SH'
#!/bin/sh
# a filter in front of pochta-queue: the message on 0, the envelope on 1
sed 's/^Subject: .*/Subject: [filtered]/' | exec pochta-queue
SH
  cat >"$BATS_TEST_TMPDIR/bin/refuse" <<'SH'
#!/bin/sh
cat >/dev/null; exit 31
SH
  chmod +x "$BATS_TEST_TMPDIR/bin/rewrite" "$BATS_TEST_TMPDIR/bin/refuse"
  POCHTA_QUEUE=$BATS_TEST_TMPDIR/bin/rewrite start_smtpd
  start_send
  run swaks --server 127.0.0.1 --port "$SMTP_PORT" --from x@remote.test --to alice@example.test --header 'Subject: original'
  assert_success
  wait_for 20 user_has alice@example.test 1
  grep -rq '^Subject: \[filtered\]$' "$(maildir_of alice@example.test)/new"
  stop smtpd
  QMAILQUEUE=$BATS_TEST_TMPDIR/bin/refuse start_smtpd
  run swaks --server 127.0.0.1 --port "$SMTP_PORT" --from x@remote.test --to alice@example.test
  assert_failure
  assert_output --partial "554 5.3.0"
}

# A body line of 5,000 octets (RFC 5321 asks for 1,000 at least; real mail has
# longer ones): SMTP in, the queue, the Maildir, IMAP and POP3 out, and
# pochta-remote on to a peer (pochta-smtpd) all keep it exactly.
@test "smtpd e2e: a 5,000-octet body line round-trips exactly (SMTP, queue, Maildir, IMAP, POP3, pochta-remote)" {
  command -v pochta-send >/dev/null || skip "pochta-send not built"
  allow_plain_auth
  start_smtpd
  start_send
  start_imapd
  start_pop3d
  python3 - "$BATS_TEST_TMPDIR/orig" <<'EOF2'
import sys
line = "".join(chr(ord("a") + i % 26) for i in range(5000))
open(sys.argv[1], "wb").write(("From: x@remote.test\nTo: alice@example.test\nSubject: long\n\nbefore\n" + line + "\n." + line + "\nafter\n").encode())
EOF2
  python3 - "$SMTP_PORT" "$BATS_TEST_TMPDIR/orig" <<'EOF2'
import smtplib, sys
msg = open(sys.argv[2], "rb").read().replace(b"\n", b"\r\n")
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="c.test") as s:
    assert s.sendmail("x@remote.test", ["alice@example.test"], msg) == {}
EOF2
  md=$(maildir_of alice@example.test)
  wait_for 20 maildir_has "$md" 1
  f=$(find "$md/new" "$md/cur" -type f | head -n1)
  # the Maildir file: Return-Path, Delivered-To, Received (2 lines), then the message
  sed -n '/^Received: from c.test/,$p' "$f" | without_ours | cmp - "$BATS_TEST_TMPDIR/orig"
  python3 - "$IMAP_PORT" "$POP3_PORT" "$BATS_TEST_TMPDIR/orig" <<'EOF2'
import imaplib, poplib, sys
want = open(sys.argv[3], "rb").read().replace(b"\n", b"\r\n")
m = imaplib.IMAP4("127.0.0.1", int(sys.argv[1]))
m.login("alice@example.test", "secret")
m.select("INBOX")
typ, d = m.fetch("1", "(BODY.PEEK[])")
got = d[0][1]
assert got.endswith(want), "IMAP: message differs"
m.logout()
poplib._MAXLINE = 100000   # its own limit is 2048 octets a line
p = poplib.POP3("127.0.0.1", int(sys.argv[2]))

p.user("alice@example.test"); p.pass_("secret")
resp, lines, octets = p.retr(1)
got = b"\r\n".join(lines) + b"\r\n"
assert got.endswith(want), "POP3: message differs"
p.quit()
EOF2
  # pochta-remote to a peer: a second pochta-smtpd with the stand-in queue
  smtpd_fakeq
  start_tcpserver peer PEER_PORT pochta-smtpd
  POCHTA_REMOTE_PORT=$PEER_PORT run sh -c 'pochta-remote "[127.0.0.1]" x@remote.test bob@example.test \
    <"$1" 2>>"$2"' - "$BATS_TEST_TMPDIR/orig" "$BATS_TEST_TMPDIR/remote.log"
  assert_success
  assert_output --regexp $'^Kbob@example.test\t250 '
  q=$(find "$FAKEQ_DIR" -name '*.msg' | head -n1)
  # the peer's Received field and inspection fields, then the message
  without_ours "$q" | cmp - "$BATS_TEST_TMPDIR/orig"
}
