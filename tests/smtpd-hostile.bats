#!/usr/bin/env bats
# pochta-smtpd against hostile and broken input: each case asserts the exact reply,
# that the server stays in step (the next command still works) and that nothing
# was queued.

load helpers

setup() {
  instance_new
  smtpd_fakeq
}

teardown() { stop_all; smtpd_clean_log; }

# talk BYTES (printf format): the whole conversation in one write
talk() { printf "$1" | smtpd_raw "$SMTP_PORT"; }

HEAD='EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\n'

@test "smtpd hostile: command line over 512 octets" {
  start_smtpd
  long=$(head -c 600 /dev/zero | tr '\0' a)
  run talk "EHLO c.test\r\nMAIL FROM:<$long@remote.test>\r\nNOOP\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 500 250 221"
  run talk "EHLO c.test\r\nMAIL FROM:<$long@remote.test>\r\nQUIT\r\n"
  assert_line "500 5.5.2 Error: line too long"
  # a line of exactly 512 octets with CRLF is fine (and its address too long)
  addr="$(head -c 244 /dev/zero | tr '\0' b)@remote.test"
  cmd="MAIL FROM:<$addr> $(head -c $((510 - 13 - ${#addr})) /dev/zero | tr '\0' ' ')"
  [ ${#cmd} = 510 ]
  run talk "EHLO c.test\r\n$cmd\r\nQUIT\r\n"
  assert_line "501 5.1.7 Bad sender address syntax"
  [ "$(smtpd_queued)" = 0 ]
}

@test "smtpd hostile: an endless line without LF is consumed, not stored" {
  start_smtpd
  run smtpd_raw "$SMTP_PORT" < <({ head -c 2000000 /dev/zero | tr '\0' x; printf '\r\nQUIT\r\n'; })
  run smtpd_codes <<<"$output"
  assert_output "220 500 221"
}

@test "smtpd hostile: bare LF, bare CR and NUL in commands" {
  start_smtpd
  run talk 'EHLO c.test\nNOOP\r\nNOOP\rNOOP\r\nNO\0OP\r\nNOOP\r\r\nQUIT\r\n'
  assert_output "220 mx.example.test ESMTP pochta
500 5.5.2 Error: bare LF or CR in command
250 2.0.0 Ok
500 5.5.2 Error: bare LF or CR in command
500 5.5.2 Error: NUL character in command
500 5.5.2 Error: bare LF or CR in command
221 2.0.0 Bye from mx.example.test"
}

@test "smtpd hostile: commands in the wrong state" {
  start_smtpd
  run talk 'MAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nBDAT 3 LAST\r\nabcEHLO c.test\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nMAIL FROM:<a@remote.test>\r\nMAIL FROM:<a@remote.test>\r\nDATA\r\nAUTH PLAIN AGFAYgA=\r\nQUIT\r\n'
  assert_output "220 mx.example.test ESMTP pochta
503 5.5.1 Error: send EHLO or HELO first
503 5.5.1 Error: send EHLO or HELO first
503 5.5.1 Error: send EHLO or HELO first
503 5.5.1 Error: send EHLO first
250-mx.example.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-SMTPUTF8
250-CHUNKING
250 HELP
503 5.5.1 Error: need MAIL command
503 5.5.1 Error: need MAIL command
250 2.1.0 Ok
503 5.5.1 Error: nested MAIL command
554 5.5.1 Error: no valid recipients
503 5.5.1 Error: AUTH not allowed during a mail transaction
221 2.0.0 Bye from mx.example.test"
  [ "$(smtpd_queued)" = 0 ]
}

@test "smtpd hostile: SMTP smuggling: <LF>.<CR><LF> does not end DATA, the message is refused" {
  start_smtpd
  run talk "${HEAD}DATA\r\nSubject: s\r\n\r\nbody\n.\r\nMAIL FROM:<evil@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nsmuggled\r\n.\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 354 554 221"
  [ "$(smtpd_queued)" = 0 ]
  # after a bare LF no line starts: ".\r\n" there is text, the next CRLF.CRLF ends
  run talk "${HEAD}DATA\r\nbody\r\n.\n.\r\n.\r\nNOOP\r\n"
  assert_line "554 5.6.0 Error: message refused: bare LF or CR in message"
  assert_line "250 2.0.0 Ok"
  for v in 'x\r.\r\n' 'x\r\n.\r.\r\n' 'x\n\r\n' 'x\r\r\n' 'x\r\n\n.\n\r\n'; do
    run talk "${HEAD}DATA\r\n${v}.\r\nNOOP\r\nQUIT\r\n"
    run smtpd_codes <<<"$output"
    assert_output "220 250 250 250 354 554 250 221"
  done
  [ "$(smtpd_queued)" = 0 ]
}

@test "smtpd hostile: NUL and a line over 1 MiB in DATA are refused at the end" {
  start_smtpd
  run talk "${HEAD}DATA\r\nab\0cd\r\n.\r\nQUIT\r\n"
  assert_line "554 5.6.0 Error: message refused: NUL character in message"
  run smtpd_raw "$SMTP_PORT" < <(printf "${HEAD}DATA\r\n"; head -c 1048577 /dev/zero | tr '\0' y; printf '\r\n.\r\nQUIT\r\n')
  assert_line "554 5.6.0 Error: message refused: line longer than 1048576 octets"
  [ "$(smtpd_queued)" = 0 ]
  # the limit itself is fine
  run smtpd_raw "$SMTP_PORT" < <(printf "${HEAD}DATA\r\n"; head -c 1048576 /dev/zero | tr '\0' y; printf '\r\n.\r\nQUIT\r\n')
  assert_line --regexp '^250 2.0.0 Ok: queued as'
  [ "$(smtpd_queued)" = 1 ]
}

@test "smtpd hostile: message size limit at MAIL SIZE=, during DATA and BDAT" {
  echo 1000 >"$POCHTA_CONF/databytes"
  start_smtpd
  run talk "EHLO c.test\r\nMAIL FROM:<a@remote.test> SIZE=1001\r\nMAIL FROM:<a@remote.test> SIZE=99999999999999999999999\r\nMAIL FROM:<a@remote.test> SIZE=-1\r\nMAIL FROM:<a@remote.test> SIZE=1000\r\nQUIT\r\n"
  assert_line -n 9 "552 5.3.4 Message size exceeds fixed maximum message size"
  assert_line -n 10 "501 5.5.4 Error: bad SIZE parameter"
  assert_line -n 11 "501 5.5.4 Error: bad SIZE parameter"
  assert_line -n 12 "250 2.1.0 Ok"
  big=$(head -c 1100 /dev/zero | tr '\0' z | fold -w 100 | sed 's/$/\r/' | tr -d '\n')
  run talk "${HEAD}DATA\r\n$big\r\n.\r\nNOOP\r\n"
  assert_line "552 5.3.4 Error: message size exceeds fixed maximum message size"
  assert_line "250 2.0.0 Ok"
  # BDAT: a chunk over the limit is not even read; the session ends
  run talk "${HEAD}BDAT 1001 LAST\r\nNOOP\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 552"
  # chunks that add up to more: refused after the chunk, the session goes on
  c=$(head -c 600 /dev/zero | tr '\0' q)
  run talk "${HEAD}BDAT 600\r\n${c}BDAT 600 LAST\r\n${c}NOOP\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 250 552 250"
  [ "$(smtpd_queued)" = 0 ]
}

@test "smtpd hostile: the size limit counts octets with CRLF, as RFC 1870 does" {
  echo 1000 >"$POCHTA_CONF/databytes"
  start_smtpd
  # 20 lines of 49 octets: 1,000 with LF line ends, 1,020 on the wire
  over=$(for i in $(seq 20); do printf '%049d\\r\\n' 0; done)
  run talk "${HEAD}DATA\r\n${over}.\r\nQUIT\r\n"
  assert_line "552 5.3.4 Error: message size exceeds fixed maximum message size"
  [ "$(smtpd_queued)" = 0 ]
  # 20 lines of 48: exactly 1,000 on the wire (the stuffing dot does not count)
  fits=$(for i in $(seq 19); do printf '%048d\\r\\n' 0; done; printf '..%047d\\r\\n' 0)
  run talk "${HEAD}DATA\r\n${fits}.\r\nQUIT\r\n"
  assert_line --regexp '^250 2.0.0 Ok: queued as'
  [ "$(smtpd_queued)" = 1 ]
  grep -q 'event=queued .* bytes=1000$' "$BATS_TEST_TMPDIR/smtpd.log"
}

@test "smtpd hostile: BDAT sizes huge, negative or missing" {
  start_smtpd
  for sz in 99999999999999999999999 -5 '' 12x '5 FIRST'; do
    run talk "${HEAD}BDAT $sz\r\nabcde\r\nNOOP\r\n"
    assert_output "220 mx.example.test ESMTP pochta
250-mx.example.test
250-PIPELINING
250-SIZE 26214400
250-8BITMIME
250-ENHANCEDSTATUSCODES
250-SMTPUTF8
250-CHUNKING
250 HELP
250 2.1.0 Ok
250 2.1.5 Ok
501 5.5.4 Syntax: BDAT size [LAST]"
  done
  [ "$(smtpd_queued)" = 0 ]
}

@test "smtpd hostile: a refused BDAT still skips its chunk (no command injection)" {
  start_smtpd
  run talk "EHLO c.test\r\nBDAT 30 LAST\r\nMAIL FROM:<evil@remote.test>\r\nMAIL FROM:<a@remote.test>\r\nBDAT 6 LAST\r\nxxxxxxNOOP\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 503 250 554 250 221"
  grep -q 'from=a@remote.test' "$BATS_TEST_TMPDIR/smtpd.log"
  ! grep -q evil "$BATS_TEST_TMPDIR/smtpd.log"
  # DATA or MAIL in the middle of a BDAT transaction
  run talk "${HEAD}BDAT 3\r\nabcDATA\r\nMAIL FROM:<b@remote.test>\r\nBDAT 0 LAST\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 250 503 503 250 221"
  [ "$(smtpd_queued)" = 1 ]
}

@test "smtpd hostile: bare CR and LF inside BDAT are refused too" {
  start_smtpd
  run talk "${HEAD}BDAT 7 LAST\r\nab\ncd\r\nNOOP\r\n"
  assert_line "554 5.6.0 Error: message refused: bare LF or CR in message"
  run talk "${HEAD}BDAT 3 LAST\r\nab\rNOOP\r\n"
  assert_line "554 5.6.0 Error: message refused: bare LF or CR in message"
  [ "$(smtpd_queued)" = 0 ]
}

@test "smtpd hostile: 100 recipients, then 452" {
  start_smtpd
  cmds="EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\n"
  for i in $(seq 1 101); do cmds="${cmds}RCPT TO:<alice@example.test>\r\n"; done
  run talk "${cmds}RSET\r\nQUIT\r\n"
  [ "$(grep -c '^250 2.1.5 Ok$' <<<"$output")" = 100 ]
  assert_line "452 4.5.3 Error: too many recipients"
}

@test "smtpd hostile: bad addresses: syntax, invalid UTF-8, 8-bit without SMTPUTF8" {
  start_smtpd
  run talk "EHLO c.test\r\nMAIL FROM:<a@remote.test\r\nMAIL FROM:a@remote.test\r\nMAIL FROM:<a b@remote.test>\r\nMAIL FROM:<\xc3\x28@remote.test> SMTPUTF8\r\nMAIL FROM:<j\xc3\xb6rg@remote.test>\r\nMAIL FROM:<a@remote.test> FOO=bar\r\nMAIL FROM:<a@remote.test> SMTPUTF8\r\nRCPT TO:<\xed\xa0\x80@example.test>\r\nRCPT TO:<@a,@b:alice@example.test>\r\nRCPT TO:<alice@example.test> NOTIFY=NEVER\r\nQUIT\r\n"
  assert_line -n 9 "501 5.5.4 Syntax: MAIL FROM:<address>"
  assert_line -n 10 "501 5.5.4 Syntax: MAIL FROM:<address>"
  assert_line -n 11 "501 5.1.7 Bad sender address syntax"
  assert_line -n 12 "501 5.1.7 Bad sender address syntax"
  assert_line -n 13 "553 5.6.7 Error: non-ASCII address needs SMTPUTF8"
  assert_line -n 14 "555 5.5.4 Error: unsupported MAIL parameter"
  assert_line -n 15 "250 2.1.0 Ok"
  assert_line -n 16 "501 5.1.3 Bad recipient address syntax"
  assert_line -n 17 "250 2.1.5 Ok"
  assert_line -n 18 "555 5.5.4 Error: unsupported RCPT parameter"
  run talk "${HEAD}RCPT TO:<alice@@example.test>\r\nRCPT TO:<.alice@example.test>\r\nRCPT TO:<alice@exa\$mple.test>\r\nRCPT TO:<alice@example.test.>\r\nRCPT TO:<\"a b\"@example.test>\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 501 501 501 501 550 221"
}

@test "smtpd hostile: bad HELO names" {
  start_smtpd
  run talk 'EHLO\r\nEHLO a(b)\r\nHELO \r\nEHLO ok.test\r\nQUIT\r\n'
  assert_line -n 2 "501 5.5.4 Invalid domain name"
  run smtpd_codes <<<"$output"
  assert_output "220 501 501 501 250 221"
}

@test "smtpd hostile: pipelined garbage hits the error limit, then 421 and close" {
  start_smtpd
  g=""
  for i in $(seq 1 15); do g="${g}GARBAGE $i\r\n"; done
  run talk "EHLO c.test\r\n${g}"
  assert_line "421 4.7.0 Too many errors, closing connection"
  run smtpd_codes <<<"$output"
  assert_output "220 250 500 500 500 500 500 500 500 500 500 500 421"
}

@test "smtpd hostile: idle timeout gives 421 4.4.2 and closes" {
  start_smtpd -t 1
  run python3 - "$SMTP_PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(b"EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\npartial")
out = b""
while True:
    d = s.recv(4096)
    if not d: break
    out += d
print(out.decode().replace("\r\n", "\n"), end="")
EOF
  assert_line "421 4.4.2 Timeout, closing connection: mx.example.test"
  [ "$(smtpd_queued)" = 0 ]
  wait_for 5 grep -q 'event=close .*reason=timeout' "$BATS_TEST_TMPDIR/smtpd.log"
}

@test "smtpd hostile: connection dropped in DATA queues nothing" {
  start_smtpd
  run talk "${HEAD}DATA\r\nSubject: cut\r\n\r\nhalf a message\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 354"
  sleep 0.3
  [ "$(smtpd_queued)" = 0 ]
  [ -z "$(find "$FAKEQ_DIR" -name '.tmp*')" ]
}

@test "smtpd hostile: AUTH garbage without TLS" {
  start_smtpd
  run talk 'EHLO c.test\r\nAUTH PLAIN AGFAYgA=\r\nAUTH\r\nQUIT\r\n'
  assert_line -n 9 "538 5.7.11 Encryption required for requested authentication mechanism"
  assert_line -n 10 "501 5.5.4 Syntax: AUTH mechanism [initial-response]"
}

@test "smtpd hostile: more than 100 Received fields is a mail loop: 554 5.4.6, nothing queued" {
  start_smtpd
  # 101 in the header (one folded over two lines, and mixed case) is refused
  hdr=$(for i in $(seq 100); do printf 'Received: from h%d.test by x.test; Sun, 29 Nov 2026 10:00:00 +0000\\r\\n' "$i"; done)
  run talk "${HEAD}DATA\r\n${hdr}rECEIVED: from last.test\r\n\tby x.test\r\nSubject: loop\r\n\r\nbody\r\n.\r\nNOOP\r\nQUIT\r\n"
  assert_line "554 5.4.6 Error: too many hops (Received fields): mail loop"
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 354 554 250 221"
  [ "$(smtpd_queued)" = 0 ]
  # 100 are fine, and Received lines in the body do not count
  body=$(for i in $(seq 20); do printf 'Received: in the body\\r\\n'; done)
  run talk "${HEAD}DATA\r\n${hdr}Subject: not a loop\r\n\r\n${body}.\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 250 250 354 250 221"
  [ "$(smtpd_queued)" = 1 ]
}
