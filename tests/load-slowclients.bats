#!/usr/bin/env bats
# Clients that hold a connection slot the slow way: a command trickled a byte at
# a time, a message sent slower than the minimum data rate, a client that reads a
# few octets now and then or keeps a zero window. Each is closed on its deadline
# (the daemons' -t, pochta-tlsd's -w) while another client is served meanwhile.
# The bounds waited for are the test's patience, not a speed requirement.

load helpers

setup() {
  instance_new
  allow_plain_auth
  SLOW="$TESTS_DIR/slowclient.py"
}

teardown() { stop_all; }

# slow NAME ARGS...: the slow client in the background; its verdict in NAME.out
slow() {
  local name=$1; shift
  python3 "$SLOW" "$@" >"$BATS_TEST_TMPDIR/$name.out" 2>>"$BATS_TEST_TMPDIR/$name.log" &
  echo $! >"$BATS_TEST_TMPDIR/$name.pid"
}
# verdict NAME: the slow client's last line, once it ended
verdict() { local f="$BATS_TEST_TMPDIR/$1.out"; [ -s "$f" ] && tail -n1 "$f"; }
done_with() { [ -s "$BATS_TEST_TMPDIR/$1.out" ]; }

# a message through SMTP while the slow client holds its connection
smtp_served() {
  run swaks --server 127.0.0.1 --port "$SMTP_PORT" --from x@remote.test --to alice@example.test \
    --helo c.test --body "served meanwhile"
  assert_success
  assert_output --partial '250 2.0.0 Ok: queued as'
}

@test "smtpd: a command trickled a byte at a time is closed on its deadline; another client is served" {
  smtpd_fakeq
  start_smtpd -t 2
  slow trickle "$SMTP_PORT" trickle --greeting --send 'x' --interval 0.3 --max 25
  sleep 0.5
  smtp_served
  wait_for 25 done_with trickle
  run verdict trickle
  assert_output --regexp 'closed after .*; last: 421 4.4.2 Timeout, closing connection'
  grep -q 'event=close .*reason=timeout' "$BATS_TEST_TMPDIR/smtpd.log"
  [ "$(smtpd_queued)" = 1 ]
}

@test "smtpd: DATA and BDAT slower than mindatarate are closed; faster than it, longer than -t, go through" {
  smtpd_fakeq
  echo 500 >"$POCHTA_CONF/mindatarate"
  start_smtpd -t 2
  pre='EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n'
  slow data "$SMTP_PORT" trickle --greeting --pre "${pre}DATA\r\n" --send 'Subject: slow\r\n' --interval 0.3 --max 25
  slow bdat "$SMTP_PORT" trickle --greeting --pre "${pre}BDAT 100000 LAST\r\n" --send 'y' --interval 0.3 --max 25
  smtp_served
  wait_for 25 done_with data
  wait_for 25 done_with bdat
  run verdict data
  assert_output --regexp 'closed after .*; last: 421 4.4.2 Timeout'
  run verdict bdat
  assert_output --regexp 'closed after .*; last: 421 4.4.2 Timeout'
  [ "$(grep -c 'event=close .*reason=timeout' "$BATS_TEST_TMPDIR/smtpd.log")" = 2 ]
  # 2,000 octets a second for 4 seconds: twice the timeout, four times the rate
  run python3 - "$SMTP_PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rb")
def reply():
    while True:
        l = f.readline()
        if l[3:4] != b"-": return l
reply()
for c in (b"EHLO c.test", b"MAIL FROM:<a@remote.test>", b"RCPT TO:<alice@example.test>", b"DATA"):
    s.sendall(c + b"\r\n"); reply()
for i in range(40):
    s.sendall((b"%04d" % i) + b"z" * 194 + b"\r\n")
    time.sleep(0.1)
s.sendall(b".\r\n")
print(reply().decode().strip())
EOF
  assert_output --regexp '^250 2.0.0 Ok: queued as'
  [ "$(smtpd_queued)" = 2 ]
}

@test "smtpd: a client that reads a little now and then, or not at all, is closed; another is served" {
  smtpd_fakeq
  start_smtpd -t 2
  slow slowread "$SMTP_PORT" slowread --pre 'NOOP\r\n' --repeat 300000 --chunk 2000 --interval 0.2 --max 40
  slow noread "$SMTP_PORT" noread --pre 'NOOP\r\n' --repeat 300000 --max 40
  smtp_served
  wait_for 40 eval '[ "$(grep -c "event=close .*reason=timeout" "$BATS_TEST_TMPDIR/smtpd.log")" -ge 2 ]'
}

@test "pop3d: a trickled command, before and after login, and a slow reader of RETR are closed" {
  pochta -C "$POCHTA_CONF" user add carol@example.test --password secret >/dev/null
  head -c 3000000 /dev/urandom | base64 | { printf 'Subject: big\n\n'; cat; } | put_mail "$(maildir_of alice@example.test)"
  start_pop3d -t 2
  slow pre "$POP3_PORT" trickle --greeting --send 'x' --interval 0.3 --max 25
  slow post "$POP3_PORT" trickle --greeting --pre 'USER bob@example.test\r\nPASS secret\r\n' --send 'x' --interval 0.3 --max 25
  slow retr "$POP3_PORT" slowread --pre 'USER alice@example.test\r\nPASS secret\r\nRETR 1\r\n' --chunk 2000 --interval 0.2 --max 40
  # another client is served meanwhile (carol's mailbox: alice's and bob's are the slow ones')
  run python3 -c "
import poplib; p = poplib.POP3('127.0.0.1', $POP3_PORT); p.user('carol@example.test'); p.pass_('secret'); print(p.stat()); p.quit()"
  assert_success
  assert_output '(0, 0)'
  wait_for 25 done_with pre
  wait_for 25 done_with post
  run verdict pre
  assert_output --partial 'closed after'
  run verdict post
  assert_output --partial 'closed after'
  wait_for 40 grep -q 'event=timeout user=alice@example.test' "$BATS_TEST_TMPDIR/pop3d.log"
  [ "$(grep -c 'event=timeout' "$BATS_TEST_TMPDIR/pop3d.log")" = 3 ]
}

@test "tlsd: a client with a zero window, or that reads a little now and then, is dropped by -w; another is served" {
  tls_cert "$POCHTA_CONF" ec
  smtpd_fakeq
  start_tcpserver smtps SMTPS_PORT pochta-tlsd -i -w 2 pochta-smtpd
  slow noread "$SMTPS_PORT" noread --tls --pre 'NOOP\r\n' --repeat 300000 --max 40
  slow slowread "$SMTPS_PORT" slowread --tls --pre 'NOOP\r\n' --repeat 300000 --chunk 2000 --interval 0.2 --max 40
  run swaks --server 127.0.0.1 --port "$SMTPS_PORT" --tls-on-connect --from x@remote.test --to alice@example.test \
    --helo c.test --body "served meanwhile"
  assert_success
  assert_output --partial '250 2.0.0 Ok: queued as'
  wait_for 40 eval '[ "$(grep -c "event=close result=fail reason=\"write timeout\"" "$BATS_TEST_TMPDIR/smtps.log")" = 2 ]'
  # the daemons behind saw their session end
  wait_for 10 eval '[ "$(grep -c "pochta-smtpd: event=close" "$BATS_TEST_TMPDIR/smtps.log")" = 3 ]'
}
