#!/usr/bin/env bats
# pochta-smtpd: the ordinary conversation, with real clients (swaks, Python smtplib,
# raw sockets) over tcpserver. The queue is a stand-in that keeps what it is given,
# so each test can compare the handed-over message byte for byte.

load helpers

setup() {
  instance_new
  smtpd_fakeq
}

teardown() { stop_all; smtpd_clean_log; }

# one message file / envelope file of the stand-in queue
only_msg() { find "$FAKEQ_DIR" -name '*.msg' | head -n1; }
only_env() { find "$FAKEQ_DIR" -name '*.env' | head -n1; }
# the envelope with NULs shown as |
env_text() { tr '\0' '|' <"$(only_env)"; }

@test "smtpd: greeting and EHLO list the extensions" {
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'EHLO client.test\r\nQUIT\r'
  assert_success
  assert_output "220 mx.example.test ESMTP pochta
250-mx.example.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-SMTPUTF8
250-CHUNKING
250 HELP
221 2.0.0 Bye from mx.example.test"
}

@test "smtpd: smtplib message reaches the queue byte for byte, with a Received header" {
  start_smtpd
  python3 - "$SMTP_PORT" <<'EOF'
import smtplib, sys
msg = b"From: Bob <bob@remote.test>\r\nTo: alice@example.test\r\nSubject: hello\r\n\r\nline one\r\n.leading dot\r\n\r\nlast line\r\n"
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), local_hostname="client.test") as s:
    r = s.sendmail("bob@remote.test", ["alice@example.test"], msg)
    assert r == {}, r
EOF
  [ "$(smtpd_queued)" = 1 ]
  f=$(only_msg)
  # line 1-3: our Received header; then exactly what was sent, with LF line ends
  run sed -n 1,3p "$f"
  assert_line -n 0 --regexp '^Received: from client\.test \(\[127\.0\.0\.1\]\)$'
  assert_line -n 1 --regexp $'^\tby mx\\.example\\.test \\(pochta\\) with ESMTP id [0-9a-f]{16}$'
  assert_line -n 2 --regexp $'^\tfor <alice@example\\.test>; (Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} \\+0000$'
  printf 'From: Bob <bob@remote.test>\nTo: alice@example.test\nSubject: hello\n\nline one\n.leading dot\n\nlast line\n' >"$BATS_TEST_TMPDIR/want"
  without_ours "$f" | cmp - "$BATS_TEST_TMPDIR/want"
  [ "$(env_text)" = "Fbob@remote.test|Talice@example.test||" ]
}

@test "smtpd: swaks sends, 250 carries the queue id the queue program gave" {
  start_smtpd
  run swaks --server 127.0.0.1 --port "$SMTP_PORT" --from x@remote.test --to alice@example.test --helo swaks.test --body 'hi there'
  assert_success
  id=$(basename "$(only_msg)" .msg)
  assert_output --partial "<-  250 2.0.0 Ok: queued as $id"
  grep -q '^hi there$' "$(only_msg)"
  # the Received id is our own session id, which the log names too
  sid=$(sed -n 2p "$(only_msg)" | sed 's/.* id //')
  grep -q "event=queued sid=$sid qid=$id" "$BATS_TEST_TMPDIR/smtpd.log"
}

@test "smtpd: several recipients, some unknown: only the known ones are in the envelope" {
  start_smtpd
  python3 - "$SMTP_PORT" <<'EOF'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    r = s.sendmail("x@remote.test", ["alice@example.test", "nobody@example.test", "Bob@Example.TEST", "x@elsewhere.test"],
                   b"Subject: t\r\n\r\nbody\r\n")
    assert r == {"nobody@example.test": (550, b"5.1.1 Error: recipient address rejected: user unknown"),
                 "x@elsewhere.test": (554, b"5.7.1 Error: relay access denied")}, r
EOF
  [ "$(smtpd_queued)" = 1 ]
  [ "$(env_text)" = "Fx@remote.test|Talice@example.test|Tbob@example.test||" ]
  # several recipients: no "for" clause
  sed -n 2p "$(only_msg)" | grep -q ';$'
  grep -q 'event=rcpt .* to=nobody@example.test result=unknown' "$BATS_TEST_TMPDIR/smtpd.log"
}

@test "smtpd: aliases are expanded at RCPT into final recipients" {
  pochta -C "$POCHTA_CONF" alias add team@example.test alice@example.test bob@example.test >/dev/null
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'EHLO c.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<team@example.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: a\r\n\r\nx\r\n.\r\nQUIT\r'
  assert_output --partial "250 2.1.5 Ok"
  [ "$(env_text)" = "Fx@remote.test|Talice@example.test|Tbob@example.test||" ]
  # one RCPT command per address given; the first as given names the Received "for"? no: two RCPTs
  sed -n 2p "$(only_msg)" | grep -q ';$'
}

@test "smtpd: 8-bit body with BODY=8BITMIME is kept octet for octet" {
  start_smtpd
  python3 - "$SMTP_PORT" "$BATS_TEST_TMPDIR/want" <<'EOF'
import smtplib, sys
body = "Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGrüße, ёлка, \xff-less but 8-bit: é\r\n".encode("utf-8") + b"raw \xe9\xff\x80 octets\r\n"
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.ehlo("c.test")
    r = s.sendmail("x@remote.test", ["alice@example.test"], body, mail_options=["BODY=8BITMIME"])
    assert r == {}
open(sys.argv[2], "wb").write(body.replace(b"\r\n", b"\n"))
EOF
  without_ours "$(only_msg)" | cmp - "$BATS_TEST_TMPDIR/want"
}

@test "smtpd: SMTPUTF8 sender and header, Received says UTF8SMTP" {
  start_smtpd
  python3 - "$SMTP_PORT" <<'EOF'
import smtplib, sys
msg = "From: Ünïcödé <jörg@bücher.test>\r\nTo: alice@example.test\r\nSubject: Grüße\r\n\r\nПривет\r\n".encode()
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.ehlo("c.test")
    assert s.has_extn("smtputf8")
    r = s.sendmail("jörg@bücher.test", ["alice@example.test"], msg, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    assert r == {}
EOF
  [ "$(env_text)" = "Fjörg@bücher.test|Talice@example.test||" ]
  sed -n 2p "$(only_msg)" | grep -q 'with UTF8SMTP id'
  grep -q '^Subject: Grüße$' "$(only_msg)"
}

@test "smtpd: HELO gives protocol SMTP" {
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'HELO old.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r'
  assert_output --partial "250 mx.example.test"
  sed -n 2p "$(only_msg)" | grep -q 'with SMTP id'
}

@test "smtpd: BDAT chunks, BDAT LAST and BDAT 0 LAST" {
  start_smtpd
  python3 - "$SMTP_PORT" <<'EOF' >"$BATS_TEST_TMPDIR/out"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
f = s.makefile("rb")
def rd():
    out = []
    while True:
        l = f.readline().decode()
        out.append(l.rstrip("\r\n"))
        if l[3] == " ": return out
rd()
s.sendall(b"EHLO c.test\r\n"); rd()
c1 = b"Subject: chunk\r\n\r\nfirst part, "
c2 = b"second part\r\n.not stuffed\r\n"
s.sendall(b"MAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nBDAT %d\r\n" % len(c1) + c1 + b"BDAT %d LAST\r\n" % len(c2) + c2)
for i in range(4): print(rd()[-1])
c3 = b"Subject: two\r\n\r\nsplit CR"
s.sendall(b"MAIL FROM:<x@remote.test>\r\nRCPT TO:<bob@example.test>\r\nBDAT %d\r\n" % (len(c3) + 1) + c3 + b"\r" + b"BDAT 1\r\n\n" + b"BDAT 0 LAST\r\nQUIT\r\n")
for i in range(6): print(rd()[-1])
EOF
  run cat "$BATS_TEST_TMPDIR/out"
  assert_line -n 0 "250 2.1.0 Ok"
  assert_line -n 1 "250 2.1.5 Ok"
  assert_line -n 2 "250 2.0.0 Ok: octets received: 30"
  assert_line -n 3 --regexp '^250 2.0.0 Ok: queued as [0-9a-f]{16}$'
  assert_line -n 6 "250 2.0.0 Ok: octets received: 25"
  assert_line -n 7 "250 2.0.0 Ok: octets received: 1"
  assert_line -n 8 --regexp '^250 2.0.0 Ok: queued as [0-9a-f]{16}$'
  assert_line -n 9 "221 2.0.0 Bye from mx.example.test"
  [ "$(smtpd_queued)" = 2 ]
  for f in "$FAKEQ_DIR"/*.msg; do
    if grep -q chunk "$f"; then
      printf 'Subject: chunk\n\nfirst part, second part\n.not stuffed\n' >"$BATS_TEST_TMPDIR/w1"
      without_ours "$f" | cmp - "$BATS_TEST_TMPDIR/w1"
    else
      printf 'Subject: two\n\nsplit CR\n' >"$BATS_TEST_TMPDIR/w2"
      without_ours "$f" | cmp - "$BATS_TEST_TMPDIR/w2"
    fi
  done
}

@test "smtpd: a whole pipelined session in one write, bytes after DATA's end included" {
  start_smtpd
  run smtpd_raw "$SMTP_PORT" < <(printf 'EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nSubject: one\r\n\r\n..one\r\n.\r\nMAIL FROM:<b@remote.test>\r\nRCPT TO:<bob@example.test>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\nSubject: two\r\n\r\ntwo\r\n.\r\nRSET\r\nNOOP\r\nVRFY alice\r\nQUIT\r\n')
  assert_success
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 354 250 250 250 550 354 250 250 250 252 221"
  [ "$(smtpd_queued)" = 2 ]
  grep -lq '^\.one$' "$FAKEQ_DIR"/*.msg
  grep -q 'Tbob@example.test' "$FAKEQ_DIR"/*.env
}

@test "smtpd: relay is denied, allowed with RELAYCLIENT" {
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'EHLO c.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<x@remote.test>\r\nQUIT\r'
  assert_line "554 5.7.1 Error: relay access denied"
  stop smtpd
  export RELAYCLIENT=
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'EHLO c.test\r\nMAIL FROM:<a@example.test>\r\nRCPT TO:<X@Remote.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r'
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 354 250 221"
  [ "$(env_text)" = "Fa@example.test|TX@Remote.test||" ]
}

@test "smtpd: postmaster without domain is accepted" {
  echo example.test >"$POCHTA_CONF/me"
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'EHLO c.test\r\nMAIL FROM:<>\r\nRCPT TO:<Postmaster>\r\nDATA\r\nx\r\n.\r\nQUIT\r'
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 354 250 221"
  grep -q '^F|T' <(env_text)
}

@test "smtpd: queue exit codes map to 554 (permanent) and 451 (temporary)" {
  export FAKEQ_EXIT=31
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r'
  assert_line "554 5.3.0 Error: message refused by the queue"
  stop smtpd
  export FAKEQ_EXIT=71
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r'
  assert_line "451 4.3.0 Error: temporary queue failure, try again later"
  stop smtpd
  # a queue program that cannot be run: the message, held whole, is not taken
  export POCHTA_QUEUE=/nonexistent/queue
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r'
  assert_line "451 4.3.0 Error: temporary queue failure, try again later"
  [ "$(smtpd_queued)" = 0 ]
}

@test "smtpd: QMAILQUEUE is honoured when POCHTA_QUEUE is unset" {
  export QMAILQUEUE=$POCHTA_QUEUE
  unset POCHTA_QUEUE
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r'
  assert_line --regexp '^250 2.0.0 Ok: queued as '
  [ "$(smtpd_queued)" = 1 ]
}

@test "smtpd: NOOP, RSET, VRFY, HELP, unknown command" {
  start_smtpd
  run smtpd_raw "$SMTP_PORT" <<<$'NOOP\r\nHELP\r\nVRFY alice\r\nEXPN list\r\nEHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRSET\r\nRCPT TO:<alice@example.test>\r\nQUIT\r'
  assert_line -n 1 "250 2.0.0 Ok"
  assert_line -n 2 --regexp '^214 2.0.0 Commands: '
  assert_line -n 3 "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery"
  assert_line -n 4 "500 5.5.1 Error: command not recognized"
  assert_line "503 5.5.1 Error: need MAIL command"
}

@test "smtpd: one log line per event, key=value" {
  start_smtpd
  smtpd_raw "$SMTP_PORT" <<<$'EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\nQUIT\r' >/dev/null
  wait_for 5 grep -q 'event=close' "$BATS_TEST_TMPDIR/smtpd.log"
  run grep -o 'pochta-smtpd: event=[a-z-]*' "$BATS_TEST_TMPDIR/smtpd.log"
  assert_output "pochta-smtpd: event=connect
pochta-smtpd: event=ehlo
pochta-smtpd: event=mail
pochta-smtpd: event=rcpt
pochta-smtpd: event=spam
pochta-smtpd: event=queued
pochta-smtpd: event=close"
}
