#!/usr/bin/env bats
# pochta-pop3d alongside deliveries and IMAP sessions on the same Maildir.
load helpers

setup() {
  pop3_instance
  start_pop3d
}
teardown() { stop_all; }

@test "concurrent: deliveries during a POP3 session: unseen until the next one, never deleted by QUIT" {
  for i in $(seq 1 20); do printf 'Subject: old %s\n\nold\n' "$i" | put_mail "$MD_ALICE"; done
  # a stream of deliveries in the background while sessions run
  ( for i in $(seq 1 200); do printf 'Subject: new %s\n\nnew\n' "$i" | pochta-deliver "$MD_ALICE" || exit 1; done ) &
  dpid=$!
  run python3 - "$POP3_PORT" <<'PY'
import poplib, sys, time
PORT = int(sys.argv[1])
deleted = 0
for round in range(5):
    p = poplib.POP3("127.0.0.1", PORT, timeout=20)
    p.user("alice@example.test"); p.pass_("secret")
    n, _ = p.stat()
    for i in range(1, n + 1):
        p.retr(i); p.dele(i)
    time.sleep(0.05)
    assert p.stat()[0] == 0
    p.quit()
    deleted += n
print(deleted)
PY
  assert_success
  wait "$dpid"
  left=$(count_mail "$MD_ALICE")
  # every message was either downloaded-and-deleted or is still there
  [ $((output + left)) -eq 220 ]
  [ -z "$(find "$MD_ALICE/tmp" -type f)" ]
}

@test "concurrent: POP3 sessions of different users run in parallel" {
  for i in 1 2 3; do printf 'Subject: a%s\n\na\n' $i | put_mail "$MD_ALICE"; printf 'Subject: b%s\n\nb\n' $i | put_mail "$MD_BOB"; done
  run python3 - "$POP3_PORT" <<'PY'
import poplib, sys
PORT = int(sys.argv[1])
ps = []
for u in ("alice@example.test", "bob@example.test"):
    p = poplib.POP3("127.0.0.1", PORT, timeout=20); p.user(u); p.pass_("secret"); ps.append(p)
print([p.stat() for p in ps])
print([p.top(1, 0)[1][0] for p in ps])
for p in ps: p.quit()
PY
  assert_success
  assert_line --index 0 '[(3, 54), (3, 54)]'
  assert_line --index 1 "[b'Subject: a1', b'Subject: b1']"
}

@test "concurrent: POP3 and IMAP on one mailbox while deliveries arrive" {
  command -v pochta-imapd >/dev/null || skip "pochta-imapd not built"
  command -v pochta-checkpassword >/dev/null || skip "pochta-checkpassword not built (pochta-imapd needs it)"
  start_imapd
  for i in 1 2 3 4; do printf 'Subject: m%s\n\nbody %s\n' $i $i | put_mail "$MD_ALICE"; sleep 0.01; done
  run python3 - "$POP3_PORT" "$IMAP_PORT" "$MD_ALICE" <<'PY'
import imaplib, poplib, subprocess, sys
PORT, IPORT, MD = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
p = poplib.POP3("127.0.0.1", PORT, timeout=20); p.user("alice@example.test"); p.pass_("secret")
before = [l.split()[1] for l in p.uidl()[1]]
m = imaplib.IMAP4("127.0.0.1", IPORT); m.login("alice@example.test", "secret")
m.select("INBOX")
def seq(subj):
    return m.search(None, "HEADER", "Subject", subj)[1][0].decode()
m.store(seq("m1"), "+FLAGS", "(\\Seen)")                 # a rename in cur/
m.store(seq("m2"), "+FLAGS", "(\\Deleted)"); m.expunge()  # gone for POP3
subprocess.run(["pochta-deliver", MD], input=b"Subject: m5\n\nbody 5\n", check=True)
print(p.retr(1)[1][0])
try: p.retr(2)
except poplib.error_proto as e: print(e)
p.dele(3)
print(p.quit())
m.noop()
typ, data = m.search(None, "ALL"); print(len(data[0].split()))
m.logout()
p = poplib.POP3("127.0.0.1", PORT, timeout=20); p.user("alice@example.test"); p.pass_("secret")
after = [l.split()[1] for l in p.uidl()[1]]
print(after[:2] == [before[0], before[3]], len(after))
p.quit()
PY
  assert_success
  assert_line --index 0 "b'Subject: m1'"
  assert_line --index 1 "b'-ERR Message was removed by another session'"
  assert_line --index 2 "b'+OK Bye, 1 messages deleted'"
  assert_line --index 3 '3'
  assert_line --index 4 'True 3'
}
