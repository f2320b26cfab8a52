#!/usr/bin/env bats
# pochta-pop3d: every command through Python's poplib and raw sockets, under
# tcpserver on loopback, with the plainauth=loopback instance.
load helpers

setup() {
  pop3_instance
  start_pop3d
}
teardown() { stop_all; }

# py SCRIPT: run Python with P (poplib client, logged in as alice) ready;
# PORT, MD (alice's Maildir) in scope.
py() {
  python3 - "$POP3_PORT" "$MD_ALICE" <<PY
import poplib, socket, sys, os, re, time
PORT = int(sys.argv[1]); MD = sys.argv[2]
def login(user="alice@example.test", pw="secret"):
    p = poplib.POP3("127.0.0.1", PORT, timeout=20)
    p.user(user); p.pass_(pw)
    return p
def raw(data, wait=True):
    s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
    s.sendall(data); s.shutdown(socket.SHUT_WR)
    out = b""
    while True:
        d = s.recv(65536)
        if not d: break
        out += d
    return out
$1
PY
}

# three messages: plain, dot lines and no final LF, CRLF inside
mail3() {
  printf 'Subject: one\n\nfirst\n' | put_mail "$MD_ALICE"
  printf 'Subject: two\nX: y\n\n.dot line\n..two dots\nlast line without LF' | put_mail "$MD_ALICE"
  printf 'Subject: three\r\n\r\nbody\r\nline 2\r\nline 3\r\n' | put_mail "$MD_ALICE"
}

@test "pop3d: greeting and CAPA before login (loopback, no TLS engine)" {
  run py '
p = poplib.POP3("127.0.0.1", PORT)
print(p.getwelcome().decode())
print(sorted(p.capa().keys()))
p.quit()'
  assert_success
  assert_line --index 0 '+OK mx.example.test POP3 server ready'
  assert_line --index 1 "['AUTH-RESP-CODE', 'IMPLEMENTATION', 'PIPELINING', 'RESP-CODES', 'SASL', 'TOP', 'UIDL', 'USER']"
}

@test "pop3d: USER/PASS, STAT, LIST, UIDL, NOOP, QUIT" {
  mail3
  run py '
p = login()
print(p.stat())
r, lines, _ = p.list(); print(r.decode(), [l.decode() for l in lines])
print(p.list(2).decode())
r, lines, _ = p.uidl(); u = [l.decode().split()[1] for l in lines]; print(len(u), len(set(u)))
print(p.uidl(1).decode().split()[2] == u[0])
print(p.noop().decode())
print(p.quit().decode())'
  assert_success
  assert_line --index 0 '(3, 130)'
  assert_line --index 1 "+OK ['1 23', '2 67', '3 40']"
  assert_line --index 2 '+OK 2 67'
  assert_line --index 3 '3 3'
  assert_line --index 4 'True'
  assert_line --index 5 '+OK'
  assert_line --index 6 '+OK Bye, 0 messages deleted'
  [ "$(count_mail "$MD_ALICE")" -eq 3 ]
}

@test "pop3d: RETR sends CRLF, dot-stuffs, and its size is the LIST size exactly" {
  mail3
  run py '
out = raw(b"USER alice@example.test\r\nPASS secret\r\nLIST\r\nRETR 1\r\nRETR 2\r\nRETR 3\r\nQUIT\r\n")
parts = out.split(b"\r\n.\r\n")
lst = parts[0].split(b"+OK\r\n")[1].split(b"\r\n")
sizes = {int(a): int(b) for a, b in (l.split() for l in lst)}
for i in (1, 2, 3):
    body = parts[i]
    head, _, data = body.partition(b"\r\n")
    assert head.startswith(b"+OK %d octets" % sizes[i]), head
    sent = data + b"\r\n"
    assert b"\n" not in sent.replace(b"\r\n", b""), sent
    unstuffed = b"\r\n".join(l[1:] if l.startswith(b".") else l for l in sent.split(b"\r\n"))
    print(i, len(unstuffed) == sizes[i], repr(sent))
'
  assert_success
  assert_line --index 0 "1 True b'Subject: one\\r\\n\\r\\nfirst\\r\\n'"
  assert_line --index 1 "2 True b'Subject: two\\r\\nX: y\\r\\n\\r\\n..dot line\\r\\n...two dots\\r\\nlast line without LF\\r\\n'"
  assert_line --index 2 "3 True b'Subject: three\\r\\n\\r\\nbody\\r\\nline 2\\r\\nline 3\\r\\n'"
}

@test "pop3d: RETR through poplib gives back the delivered message" {
  python3 -c 'import sys; sys.stdout.buffer.write(b"Subject: bin\n\n" + bytes(range(1,256)).replace(b"\n", b"").replace(b"\r", b"") * 3 + b"\n" + b"\n".join(b".x%d" % i for i in range(500)) + b"\n")' >"$BATS_TEST_TMPDIR/m"
  put_mail "$MD_ALICE" "$BATS_TEST_TMPDIR/m"
  run py '
p = login()
r, lines, octets = p.retr(1)
data = b"\n".join(lines) + b"\n"
print(data == open(os.environ["BATS_TEST_TMPDIR"] + "/m", "rb").read(), octets, p.list(1).split()[2].decode())
p.quit()'
  assert_success
  # poplib counts octets with CRLF and before unstuffing; LIST counts after
  [[ "${lines[0]}" == True* ]]
}

@test "pop3d: TOP n 0 gives the header and blank line; TOP n k the first k body lines; huge k all" {
  mail3
  run py '
p = login()
print(p.top(1, 0)[1])
print(p.top(3, 2)[1])
print(p.top(2, 99999999999999999999999999)[1])
p.quit()'
  assert_success
  assert_line --index 0 "[b'Subject: one', b'']"
  assert_line --index 1 "[b'Subject: three', b'', b'body', b'line 2']"
  assert_line --index 2 "[b'Subject: two', b'X: y', b'', b'.dot line', b'..two dots', b'last line without LF']"
}

@test "pop3d: DELE marks, RSET unmarks, QUIT deletes only what is marked" {
  mail3
  # in arrival order, as pop3d numbers them: seconds, then the microseconds after M
  before=$(ls "$MD_ALICE/new" | LC_ALL=C sort -t. -k1,1n -k2.2,2n)
  run py '
p = login()
print(p.dele(1).decode())
try: p.retr(1)
except poplib.error_proto as e: print(e)
try: p.dele(1)
except poplib.error_proto as e: print(e)
print(p.stat())
print(p.rset().decode(), p.stat())
p.dele(2)
print(p.list()[1])
print(p.quit().decode())'
  assert_success
  assert_line --index 0 '+OK Message 1 deleted'
  assert_line --index 1 "b'-ERR Message already deleted'"
  assert_line --index 2 "b'-ERR Message already deleted'"
  assert_line --index 3 '(2, 107)'
  assert_line --index 4 '+OK (3, 130)'
  assert_line --index 5 "[b'1 23', b'3 40']"
  assert_line --index 6 '+OK Bye, 1 messages deleted'
  [ "$(count_mail "$MD_ALICE")" -eq 2 ]
  second=$(echo "$before" | sed -n 2p)
  [ ! -e "$MD_ALICE/new/$second" ]
}

@test "pop3d: a dropped connection deletes nothing" {
  mail3
  run py '
p = login()
p.dele(1); p.dele(2); p.dele(3)
p.sock.shutdown(socket.SHUT_RDWR); p.sock.close()
time.sleep(0.3)
p = login()
print(p.stat()); p.quit()'
  assert_success
  assert_output '(3, 130)'
  [ "$(count_mail "$MD_ALICE")" -eq 3 ]
}

@test "pop3d: AUTH PLAIN with and without initial response, cancel, bad credentials" {
  mail3
  ir=$(printf '\0alice@example.test\0secret' | base64 -w0)
  irz=$(printf 'alice@example.test\0alice@example.test\0secret' | base64 -w0)
  bad=$(printf '\0alice@example.test\0wrong' | base64 -w0)
  other=$(printf 'bob@example.test\0alice@example.test\0secret' | base64 -w0)
  run pop3_raw "$POP3_PORT" <<<"AUTH"$'\r'"
AUTH PLAIN $bad"$'\r'"
AUTH PLAIN $other"$'\r'"
AUTH PLAIN"$'\r'"
*"$'\r'"
AUTH CRAM-MD5"$'\r'"
AUTH PLAIN $ir"$'\r'"
STAT"$'\r'"
QUIT"$'\r'
  assert_success
  assert_output "+OK mx.example.test POP3 server ready
+OK
PLAIN
.
-ERR [AUTH] Invalid user name or password
-ERR [AUTH] Malformed or unauthorized AUTH PLAIN credentials
+ 
-ERR Authentication cancelled
-ERR Unsupported authentication mechanism
+OK Logged in, 3 messages (130 octets)
+OK 3 130
+OK Bye, 0 messages deleted"
  run pop3_raw "$POP3_PORT" <<<"AUTH PLAIN"$'\r'"
$irz"$'\r'"
STAT"$'\r'"
QUIT"$'\r'
  assert_line --index 2 '+OK Logged in, 3 messages (130 octets)'
}

@test "pop3d: wrong password, then the right one in the same connection" {
  run pop3_raw "$POP3_PORT" <<<$'USER alice@example.test\r\nPASS nope\r\nPASS secret\r\nUSER alice@example.test\r\nPASS secret\r\nSTAT\r\nQUIT\r\n'
  assert_success
  assert_output "+OK mx.example.test POP3 server ready
+OK Send your password
-ERR [AUTH] Invalid user name or password
-ERR Send USER first
+OK Send your password
+OK Logged in, 0 messages (0 octets)
+OK 0 0
+OK Bye, 0 messages deleted"
}

@test "pop3d: passwords refused without TLS unless plainauth=loopback from loopback" {
  rm -f "$POCHTA_CONF/plainauth"
  run pop3_raw "$POP3_PORT" <<<$'CAPA\r\nUSER alice@example.test\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUudGVzdABzZWNyZXQ=\r\nQUIT\r\n'
  assert_output "+OK mx.example.test POP3 server ready
+OK Capability list follows
TOP
UIDL
RESP-CODES
AUTH-RESP-CODE
PIPELINING
IMPLEMENTATION pochta
.
-ERR [AUTH] Plaintext authentication is disallowed without TLS: use STLS
-ERR [AUTH] Plaintext authentication is disallowed without TLS: use STLS
+OK Bye"
  # plainauth=loopback but the client is not on loopback (as tcpserver would say)
  echo loopback >"$POCHTA_CONF/plainauth"
  run bash -c "printf 'USER alice@example.test\r\nQUIT\r\n' | TCPREMOTEIP=192.0.2.7 pochta-pop3d 2>/dev/null"
  assert_output "+OK mx.example.test POP3 server ready"$'\r'"
-ERR [AUTH] Plaintext authentication is disallowed without TLS: use STLS"$'\r'"
+OK Bye"$'\r'
}

@test "pop3d: pipelined commands across the login are all answered in order" {
  mail3
  run pop3_raw "$POP3_PORT" <<<$'CAPA\r\nUSER alice@example.test\r\nPASS secret\r\nSTAT\r\nDELE 1\r\nLIST 1\r\nRSET\r\nUIDL 3\r\nNOOP\r\nQUIT\r\n'
  assert_success
  assert_line --index 11 '+OK Send your password'
  assert_line --index 12 '+OK Logged in, 3 messages (130 octets)'
  assert_line --index 13 '+OK 3 130'
  assert_line --index 14 '+OK Message 1 deleted'
  assert_line --index 15 '-ERR Message already deleted'
  assert_line --index 16 '+OK'
  assert_line --regexp '^\+OK 3 [0-9]+\.M[0-9]+P[0-9]+Q[0-9]+\.[^,]+$'
  assert_line --index 18 '+OK'
  assert_line --index 19 '+OK Bye, 0 messages deleted'
}

@test "pop3d: UIDL is stable across sessions and survives IMAP-style renames (new->cur, flags)" {
  mail3
  run py '
p = login(); a = p.uidl()[1]; p.quit()
import glob
for f in glob.glob(MD + "/new/*"):
    os.rename(f, MD + "/cur/" + os.path.basename(f) + ":2,S")
p = login(); b = p.uidl()[1]
# a rename in the middle of a session: RETR still finds the message
for f in glob.glob(MD + "/cur/*"):
    os.rename(f, f + "R")
print(a == b, len(a), p.retr(1)[1][0], p.dele(2).decode())
print(p.quit().decode())'
  assert_success
  assert_line --index 0 "True 3 b'Subject: one' +OK Message 2 deleted"
  assert_line --index 1 '+OK Bye, 1 messages deleted'
  [ "$(count_mail "$MD_ALICE")" -eq 2 ]
}

@test "pop3d: a message removed by another program mid-session: -ERR on RETR, QUIT still fine" {
  mail3
  run py '
import glob
p = login()
# message 1 is the first to arrive: seconds, then the microseconds after M
def arrival(f):
    b = os.path.basename(f); sec, rest = b.split(".", 1)
    return (int(sec), int(re.match(r"M(\d+)", rest).group(1)))
for f in sorted(glob.glob(MD + "/new/*"), key=arrival)[:1]: os.unlink(f)
try: p.retr(1)
except poplib.error_proto as e: print(e)
p.dele(1); p.dele(2)
print(p.quit().decode())'
  assert_success
  assert_line --index 0 "b'-ERR Message was removed by another session'"
  assert_line --index 1 '+OK Bye, 2 messages deleted'
  [ "$(count_mail "$MD_ALICE")" -eq 1 ]
}

@test "pop3d: files from other programs (no W= in the name, CRLF inside, flags) get exact sizes" {
  printf 'Subject: foreign\r\n\r\nbody\r\n' >"$MD_ALICE/cur/1000.M1P1.other:2,S"
  printf 'Subject: lf\n\nbody\n.\nend' >"$MD_ALICE/new/1001.M1P1.other"
  run py '
out = raw(b"USER alice@example.test\r\nPASS secret\r\nLIST\r\nRETR 1\r\nRETR 2\r\nUIDL\r\nQUIT\r\n")
print(out.decode().replace("\r\n", "|"))'
  assert_success
  assert_output '+OK mx.example.test POP3 server ready|+OK Send your password|+OK Logged in, 2 messages (55 octets)|+OK|1 26|2 29|.|+OK 26 octets|Subject: foreign||body|.|+OK 29 octets|Subject: lf||body|..|end|.|+OK|1 1000.M1P1.other|2 1001.M1P1.other|.|+OK Bye, 0 messages deleted|'
}

@test "pop3d: a second session on the same mailbox gets [IN-USE]; free again after QUIT" {
  mail3
  run py '
p = login()
q = poplib.POP3("127.0.0.1", PORT); q.user("alice@example.test")
try: q.pass_("secret")
except poplib.error_proto as e: print(e)
r = poplib.POP3("127.0.0.1", PORT); r.user("bob@example.test"); print(r.pass_("secret").decode()); r.quit()
p.quit()
print(q.user("alice@example.test").decode(), q.pass_("secret").decode()); q.quit()'
  assert_success
  assert_line --index 0 "b'-ERR [IN-USE] Mailbox is in use by another POP3 session'"
  assert_line --index 1 '+OK Logged in, 0 messages (0 octets)'
  assert_line --index 2 '+OK Send your password +OK Logged in, 3 messages (130 octets)'
  grep -q 'event=in-use user=alice@example.test' "$BATS_TEST_TMPDIR/pop3d.log"
}

@test "pop3d: QUIT unlinks, then fsyncs the directory before answering" {
  command -v strace >/dev/null || skip "no strace"
  mail3
  # the session alone, on pipes, under strace (MAILDIR as checkpassword sets it)
  printf 'DELE 1\r\nDELE 3\r\nQUIT\r\n' >"$BATS_TEST_TMPDIR/in"
  MAILDIR=$MD_ALICE ASAN_OPTIONS=detect_leaks=0 strace -f -s 256 -o "$BATS_TEST_TMPDIR/trace" -e trace=open,openat,unlink,fsync,write \
    pochta-pop3d -m <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>/dev/null
  grep -q '+OK Bye, 2 messages deleted' "$BATS_TEST_TMPDIR/out"
  run python3 - "$BATS_TEST_TMPDIR/trace" <<'PY'
import re, sys
fds, ev = {}, []
for line in open(sys.argv[1]):
    m = re.search(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]*)".*= (\d+)$', line)
    if m: fds[m.group(2)] = m.group(1); continue
    if re.search(r'unlink\("new/', line): ev.append("unlink")
    m = re.search(r'fsync\((\d+)\)', line)
    if m: ev.append("fsync-" + fds.get(m.group(1), "?"))
    if re.search(r'write\(1, ".*\+OK Bye', line): ev.append("reply")
print(" ".join(ev))
PY
  assert_output 'unlink unlink fsync-./new reply'
  [ "$(count_mail "$MD_ALICE")" -eq 1 ]
}

@test "pop3d: idle timeout closes the session and deletes nothing" {
  stop pop3d
  start_pop3d -t 1
  mail3
  run py '
p = login()
p.dele(1)
time.sleep(2.5)
try: print(p.noop())
except Exception as e: print("closed")'
  assert_output 'closed'
  [ "$(count_mail "$MD_ALICE")" -eq 3 ]
  grep -q 'event=timeout user=alice@example.test' "$BATS_TEST_TMPDIR/pop3d.log"
}

@test "pop3d: a 100 MB message is streamed with small memory, byte-exact" {
  python3 -c '
import sys
line = b"x" * 77 + b"\n"
sys.stdout.buffer.write(b"Subject: big\n\n" + line * (100 * 1024 * 1024 // 78) + b".end\n")' >"$BATS_TEST_TMPDIR/big"
  put_mail "$MD_ALICE" "$BATS_TEST_TMPDIR/big"
  rm -f "$BATS_TEST_TMPDIR/big"
  printf 'LIST 1\r\nRETR 1\r\nQUIT\r\n' >"$BATS_TEST_TMPDIR/in"
  MAILDIR=$MD_ALICE /usr/bin/time -o "$BATS_TEST_TMPDIR/rss" -f %M pochta-pop3d -m <"$BATS_TEST_TMPDIR/in" >"$BATS_TEST_TMPDIR/out" 2>/dev/null
  run python3 - "$BATS_TEST_TMPDIR/out" <<'PY'
import sys, hashlib
d = open(sys.argv[1], "rb").read()
lst = d.split(b"\r\n")[1]
size = int(lst.split()[2])
body = d.split(b" octets\r\n", 1)[1].rsplit(b"\r\n.\r\n+OK Bye", 1)[0] + b"\r\n"
line = b"x" * 77 + b"\r\n"
want = b"Subject: big\r\n\r\n" + line * (100 * 1024 * 1024 // 78) + b"..end\r\n"
print(body == want, size == len(want) - 1)
PY
  assert_output 'True True'
  [ "$(cat "$BATS_TEST_TMPDIR/rss")" -lt 20000 ]
}

@test "pop3d: one log line per event, key=value" {
  mail3
  py 'p = login(); p.retr(1); p.dele(1); p.quit()
q = poplib.POP3("127.0.0.1", PORT); q.user("alice@example.test")
try: q.pass_("bad")
except poplib.error_proto: pass
q.quit()'
  sleep 0.2
  run grep -c . "$BATS_TEST_TMPDIR/pop3d.log"
  grep -q '^pochta-pop3d: event=login user=alice@example.test ip=127.0.0.1 auth=default messages=3 octets=130$' "$BATS_TEST_TMPDIR/pop3d.log"
  grep -q '^pochta-pop3d: event=logout user=alice@example.test ip=127.0.0.1 deleted=1 failed=0 bytes=[0-9]*$' "$BATS_TEST_TMPDIR/pop3d.log"
  grep -q '^pochta-pop3d: event=auth-fail ip=127.0.0.1 login=alice@example.test$' "$BATS_TEST_TMPDIR/pop3d.log"
}

@test "pop3d: after a login the pre-login process waits as pochta-wait; a failed login and IN-USE still answer" {
  [ -x "$POCHTA_BIN/pochta-wait" ] || skip "pochta-wait is built on x86_64 only"
  mail3
  PYTHONPATH="$TESTS_DIR" run py '
from proctree import kids, comm
srv = int(open(os.environ["BATS_TEST_TMPDIR"] + "/pop3d.pid").read())
p = poplib.POP3("127.0.0.1", PORT, timeout=20)
p.user("alice@example.test")
try: p.pass_("wrong")
except poplib.error_proto as e: print(e)
p.user("alice@example.test"); p.pass_("secret")
time.sleep(0.3)
w = [k for k in kids(srv) if comm(k) == "pochta-wait"]
print(len(w), [comm(c) for c in kids(w[0])] if w else None)
q = poplib.POP3("127.0.0.1", PORT, timeout=20)
q.user("alice@example.test")
try: q.pass_("secret")
except poplib.error_proto as e: print(e)
print(p.stat())
p.quit(); q.quit()'
  assert_success
  assert_line --index 0 "b'-ERR [AUTH] Invalid user name or password'"
  assert_line --index 1 "1 ['pochta-pop3d']"
  assert_line --index 2 "b'-ERR [IN-USE] Mailbox is in use by another POP3 session'"
  assert_line --index 3 "(3, 130)"
}

@test "pop3d: a login removes stale files from the Maildir's tmp/, and says so" {
  stale_tmp "$MD_ALICE"
  run python3 -c "
import poplib; p = poplib.POP3('127.0.0.1', $POP3_PORT); p.user('alice@example.test'); p.pass_('secret'); print(p.stat()); p.quit()"
  assert_output '(0, 0)'
  run tmp_left "$MD_ALICE"
  assert_output '3.M3P3Q3.host 4.M4P4Q4.host olddir oldlink '
  grep -q 'event=tmp-swept user=alice@example.test .*files=2' "$BATS_TEST_TMPDIR/pop3d.log"
}
