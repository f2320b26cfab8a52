#!/usr/bin/env bats
# pochta-pop3d and hostile input: every case gets an exact reply, nothing
# crashes, nothing on disk changes.
load helpers

setup() {
  pop3_instance
  start_pop3d
  printf 'Subject: one\n\nfirst\n' | put_mail "$MD_ALICE"
  printf 'Subject: two\n\nsecond\n' | put_mail "$MD_ALICE"
  snap_before=$(snapshot)
}
teardown() { stop_all; }

# names, sizes and contents of everything in the Maildir
snapshot() { (cd "$MD_ALICE" && find new cur tmp -type f -exec md5sum {} + | sort); }
unchanged() { [ "$(snapshot)" = "$snap_before" ]; }
LOGIN=$'USER alice@example.test\r\nPASS secret\r\n'

@test "hostile: overlong lines before and after login get -ERR and the session goes on" {
  long=$(head -c 5000 /dev/zero | tr '\0' A)
  run pop3_raw "$POP3_PORT" <<<"NOOP $long"$'\r\nNOOP\r\n'"$LOGIN""STAT $long"$'\r\nSTAT\r\nQUIT\r\n'
  assert_output "+OK mx.example.test POP3 server ready
-ERR Line too long
+OK
+OK Send your password
+OK Logged in, 2 messages (47 octets)
-ERR Line too long
+OK 2 47
+OK Bye, 0 messages deleted"
  unchanged
}

@test "hostile: a megabyte without a line end is one -ERR, then the server still answers" {
  run python3 - "$POP3_PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"X" * 1000000 + b"\r\nNOOP\r\nQUIT\r\n")
out = b""
while True:
    d = s.recv(65536)
    if not d: break
    out += d
print(out.decode().replace("\r\n", "|"))
PY
  assert_output '+OK mx.example.test POP3 server ready|-ERR Line too long|+OK|+OK Bye|'
}

@test "hostile: unknown commands, NUL, bare CR, control characters, invalid UTF-8" {
  run pop3_raw "$POP3_PORT" < <(printf 'FOO\r\nNO\0OP\r\nNOOP\rQUIT\r\nNO\tOP\r\n\r\nUSER \xff\xfe\xc3\x28\r\nPASS x\r\nNOOP\r\n\x1b[31m\r\nQUIT\r\n')
  assert_output "+OK mx.example.test POP3 server ready
-ERR Unknown command
-ERR Invalid characters in command
-ERR Invalid characters in command
-ERR Invalid characters in command
-ERR Unknown command
+OK Send your password
-ERR [AUTH] Invalid user name or password
+OK
-ERR Invalid characters in command
+OK Bye"
  unchanged
}

@test "hostile: commands in the wrong state" {
  run pop3_raw "$POP3_PORT" <<<$'STAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\nRSET\r\nTOP 1 1\r\nUIDL\r\nPASS secret\r\nAPOP alice@example.test 0123456789abcdef0123456789abcdef\r\n'"$LOGIN"$'USER bob@example.test\r\nPASS x\r\nAUTH PLAIN\r\nSTLS\r\nAPOP a b\r\nQUIT\r\n'
  assert_output "+OK mx.example.test POP3 server ready
-ERR Not logged in
-ERR Not logged in
-ERR Not logged in
-ERR Not logged in
-ERR Not logged in
-ERR Not logged in
-ERR Not logged in
-ERR Send USER first
-ERR APOP is not supported
+OK Send your password
+OK Logged in, 2 messages (47 octets)
-ERR Already logged in
-ERR Already logged in
-ERR Already logged in
-ERR Already logged in
-ERR Already logged in
+OK Bye, 0 messages deleted"
  unchanged
}

@test "hostile: message numbers out of range, zero, negative, huge, signed, not numbers" {
  run pop3_raw "$POP3_PORT" <<<"$LOGIN"$'RETR 0\r\nRETR 3\r\nRETR -1\r\nRETR +1\r\nDELE 99999999999999999999999999999\r\nDELE 18446744073709551617\r\nLIST 4294967297\r\nTOP 1 -1\r\nTOP 1\r\nTOP x 1\r\nRETR 1x\r\nRETR  1\r\nRETR 1 2\r\nRETR\r\nDELE\r\nUIDL 0\r\nLIST 1 2 3\r\nSTAT 1\r\nQUIT\r\n'
  assert_output "+OK mx.example.test POP3 server ready
+OK Send your password
+OK Logged in, 2 messages (47 octets)
-ERR No such message
-ERR No such message
-ERR No such message
-ERR No such message
-ERR No such message
-ERR No such message
-ERR No such message
-ERR Syntax error
-ERR Syntax error
-ERR No such message
-ERR No such message
-ERR Syntax error
-ERR Syntax error
-ERR Syntax error
-ERR Syntax error
-ERR No such message
-ERR Syntax error
-ERR Syntax error
+OK Bye, 0 messages deleted"
  unchanged
}

@test "hostile: malformed AUTH PLAIN responses" {
  nouser=$(printf '\0\0secret' | base64 -w0)
  nopass=$(printf '\0alice@example.test\0' | base64 -w0)
  extra=$(printf '\0alice@example.test\0secret\0more' | base64 -w0)
  run pop3_raw "$POP3_PORT" <<<$'AUTH PLAIN !!!!\r\nAUTH PLAIN abc\r\nAUTH PLAIN ab=c\r\nAUTH PLAIN =\r\nAUTH PLAIN '"$nouser"$'\r\nAUTH PLAIN '"$nopass"$'\r\nAUTH PLAIN '"$extra"$'\r\nAUTH PLAIN a b\r\nQUIT\r\n'
  assert_output "+OK mx.example.test POP3 server ready
-ERR Malformed AUTH PLAIN response (base64)
-ERR Malformed AUTH PLAIN response (base64)
-ERR Malformed AUTH PLAIN response (base64)
-ERR [AUTH] Malformed or unauthorized AUTH PLAIN credentials
-ERR [AUTH] Malformed or unauthorized AUTH PLAIN credentials
-ERR Too many errors, closing connection"
  unchanged
}

@test "hostile: too many bad commands close the connection; failed logins too" {
  run pop3_raw "$POP3_PORT" < <(for i in $(seq 1 15); do printf 'BAD\r\n'; done)
  assert_line --index 11 '-ERR Too many errors, closing connection'
  [ "${#lines[@]}" -eq 12 ]
  run pop3_raw "$POP3_PORT" < <(for i in $(seq 1 8); do printf 'USER alice@example.test\r\nPASS wrong%s\r\n' $i; done)
  assert_line --index 11 '-ERR Too many errors, closing connection'
  [ "${#lines[@]}" -eq 12 ]
}

@test "hostile: garbage pipelined after QUIT is ignored; bare LF line ends work" {
  run pop3_raw "$POP3_PORT" < <(printf 'USER alice@example.test\nPASS secret\nDELE 1\nQUIT\nDELE 2\nQUIT\n')
  assert_output "+OK mx.example.test POP3 server ready
+OK Send your password
+OK Logged in, 2 messages (47 octets)
+OK Message 1 deleted
+OK Bye, 1 messages deleted"
  [ "$(count_mail "$MD_ALICE")" -eq 1 ]
}

@test "hostile: a password line with spaces and a very long user name" {
  long=$(head -c 600 /dev/zero | tr '\0' a)
  run pop3_raw "$POP3_PORT" <<<"USER $long"$'\r\nUSER alice@example.test\r\nPASS sec ret\r\nUSER a b\r\nQUIT\r\n'
  assert_output "+OK mx.example.test POP3 server ready
-ERR Syntax error
+OK Send your password
-ERR [AUTH] Invalid user name or password
-ERR Syntax error
+OK Bye"
  unchanged
}

@test "hostile: a client that stops reading does not hang the server forever" {
  python3 -c 'import sys; sys.stdout.buffer.write(b"Subject: big\n\n" + (b"y" * 999 + b"\n") * 20000)' | put_mail "$MD_ALICE"
  stop pop3d
  start_pop3d -t 2
  run timeout 20 python3 - "$POP3_PORT" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.sendall(b"USER alice@example.test\r\nPASS secret\r\n" + b"RETR 3\r\n" * 50)
time.sleep(5)
print("slept")
PY
  assert_output slept
  wait_for 5 grep -q 'event=timeout user=alice@example.test' "$BATS_TEST_TMPDIR/pop3d.log"
}
