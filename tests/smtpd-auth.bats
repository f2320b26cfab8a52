#!/usr/bin/env bats
# pochta-smtpd: SMTP AUTH (PLAIN, LOGIN) through the real pochta-checkpassword, and
# the submission rules of -s. Password logins in clear are allowed here from
# loopback only because the instance says plainauth=loopback; TLS is in smtpd-tls.bats.

load helpers

setup() {
  instance_new
  smtpd_fakeq
  allow_plain_auth
}

teardown() { stop_all; smtpd_clean_log; }

talk() { printf "$1" | smtpd_raw "$SMTP_PORT"; }
b64() { printf "$1" | base64 -w0; }
env_text() { tr '\0' '|' <"$(find "$FAKEQ_DIR" -name '*.env' | head -n1)"; }

@test "smtpd auth: AUTH is offered only with plainauth=loopback (or TLS)" {
  start_smtpd
  run talk 'EHLO c.test\r\nQUIT\r\n'
  assert_line "250-AUTH PLAIN LOGIN"
  rm "$POCHTA_CONF/plainauth"
  run talk 'EHLO c.test\r\nAUTH LOGIN\r\nQUIT\r\n'
  refute_line --partial "AUTH"
  assert_line "538 5.7.11 Encryption required for requested authentication mechanism"
}

@test "smtpd auth: swaks AUTH PLAIN, then relaying is allowed and Received says ESMTPA" {
  start_smtpd
  run swaks --server 127.0.0.1 --port "$SMTP_PORT" --auth PLAIN --auth-user alice@example.test --auth-password secret \
    --from alice@example.test --to someone@remote.test --body 'authenticated'
  assert_success
  assert_output --partial "<-  235 2.7.0 Authentication successful"
  [ "$(smtpd_queued)" = 1 ]
  [ "$(env_text)" = "Falice@example.test|Tsomeone@remote.test||" ]
  sed -n 2p "$FAKEQ_DIR"/*.msg | grep -q 'with ESMTPA id'
  grep -q 'event=auth .*result=ok mech=plain user=alice@example.test' "$BATS_TEST_TMPDIR/smtpd.log"
}

@test "smtpd auth: Python smtplib login with AUTH LOGIN" {
  start_smtpd
  python3 - "$SMTP_PORT" <<'EOF'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1])) as s:
    s.ehlo("c.test")
    s.user, s.password = "alice@example.test", "secret"
    code, resp = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
    assert code == 235, (code, resp)
    assert s.sendmail("alice@example.test", ["x@remote.test"], b"Subject: l\r\n\r\nx\r\n") == {}
EOF
  [ "$(smtpd_queued)" = 1 ]
}

@test "smtpd auth: wrong password gives 535 5.7.8 and no relaying" {
  start_smtpd
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0alice@example.test\0wrong')\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<x@remote.test>\r\nQUIT\r\n"
  assert_line "535 5.7.8 Error: authentication credentials invalid"
  assert_line "554 5.7.1 Error: relay access denied"
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0nobody@example.test\0secret')\r\nQUIT\r\n"
  assert_line "535 5.7.8 Error: authentication credentials invalid"
  grep -q 'event=auth .*result=fail' "$BATS_TEST_TMPDIR/smtpd.log"
  [ "$(smtpd_queued)" = 0 ]
}

@test "smtpd auth: PLAIN without initial response, LOGIN in steps, LOGIN with initial response" {
  start_smtpd
  run talk "EHLO c.test\r\nAUTH PLAIN\r\n$(b64 'alice@example.test\0alice@example.test\0secret')\r\nQUIT\r\n"
  assert_line -n 10 "334 "
  assert_line -n 11 "235 2.7.0 Authentication successful"
  run talk "EHLO c.test\r\nAUTH LOGIN\r\n$(b64 alice@example.test)\r\n$(b64 secret)\r\nAUTH PLAIN\r\nQUIT\r\n"
  assert_line -n 10 "334 VXNlcm5hbWU6"
  assert_line -n 11 "334 UGFzc3dvcmQ6"
  assert_line -n 12 "235 2.7.0 Authentication successful"
  assert_line -n 13 "503 5.5.1 Error: already authenticated"
  run talk "EHLO c.test\r\nAUTH LOGIN $(b64 bob@example.test)\r\n$(b64 secret)\r\nQUIT\r\n"
  assert_line -n 10 "334 UGFzc3dvcmQ6"
  assert_line -n 11 "235 2.7.0 Authentication successful"
}

@test "smtpd auth: cancel, bad base64, malformed PLAIN, other authzid, unknown mechanism" {
  start_smtpd
  run talk "EHLO c.test\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN\r\n*\r\nAUTH LOGIN\r\n$(b64 alice@example.test)\r\n*\r\nAUTH PLAIN !!!!\r\nAUTH PLAIN YWJj=\r\nAUTH PLAIN $(b64 'no nuls here')\r\nAUTH PLAIN $(b64 'bob@example.test\0alice@example.test\0secret')\r\nAUTH CRAM-MD5\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 334 501 334 501 334 334 501 501 501 501 535 504 221"
  run talk "EHLO c.test\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN !!!!\r\nAUTH PLAIN $(b64 'no nuls here')\r\nAUTH CRAM-MD5\r\nQUIT\r\n"
  assert_line -n 11 "501 5.7.0 Error: authentication cancelled"
  assert_line -n 12 "501 5.5.2 Error: cannot decode response"
  assert_line -n 13 "501 5.5.2 Error: malformed authentication response"
  assert_line -n 14 "504 5.5.4 Error: unsupported authentication mechanism"
}

@test "smtpd auth: checkpassword trouble is 454 4.7.0; fd 3 carries user, password, timestamp" {
  mkdir -p "$BATS_TEST_TMPDIR/bin"
  cat >"$BATS_TEST_TMPDIR/bin/cpw" <<EOF
#!/bin/sh
cat <&3 | tr '\0' '|' >"$BATS_TEST_TMPDIR/cpw.in"
echo "ip=\$TCPREMOTEIP" >>"$BATS_TEST_TMPDIR/cpw.in"
exit 111
EOF
  chmod +x "$BATS_TEST_TMPDIR/bin/cpw"
  export POCHTA_CHECKPASSWORD="$BATS_TEST_TMPDIR/bin/cpw"
  start_smtpd
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0alice@example.test\0pw')\r\nQUIT\r\n"
  assert_line "454 4.7.0 Temporary authentication failure"
  run cat "$BATS_TEST_TMPDIR/cpw.in"
  assert_output --regexp '^alice@example\.test\|pw\|<[0-9a-f]{16}@mx\.example\.test>\|ip=127\.0\.0\.1$'
}

@test "smtpd auth: submission (-s) wants AUTH before MAIL, and a sender the user owns" {
  pochta -C "$POCHTA_CONF" alias add sales@example.test alice@example.test >/dev/null
  start_smtpd -s
  run talk "EHLO c.test\r\nMAIL FROM:<alice@example.test>\r\nQUIT\r\n"
  assert_line "530 5.7.0 Authentication required"
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0Alice@Example.test\0secret')\r\nMAIL FROM:<bob@example.test>\r\nMAIL FROM:<>\r\nMAIL FROM:<x@remote.test>\r\nMAIL FROM:<Sales@example.test>\r\nRSET\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<friend@remote.test>\r\nRCPT TO:<bob@example.test>\r\nDATA\r\nSubject: sub\r\n\r\nx\r\n.\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 235 553 553 553 250 250 250 250 250 354 250 221"
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0alice@example.test\0secret')\r\nMAIL FROM:<bob@example.test>\r\nQUIT\r\n"
  assert_line "553 5.7.1 Error: sender address not owned by the authenticated user"
  [ "$(smtpd_queued)" = 1 ]
  [ "$(env_text)" = "Falice@example.test|Tfriend@remote.test|Tbob@example.test||" ]
  sed -n 2p "$FAKEQ_DIR"/*.msg | grep -q 'with ESMTPA id'
}

# submit_as_alice HEADER-LINES (printf format, CRLF given): a submission by
# alice with that header; prints the reply codes
submit_as_alice() {
  talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0alice@example.test\0secret')\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<friend@remote.test>\r\nDATA\r\n${1}\r\nbody\r\n.\r\nQUIT\r\n" | smtpd_codes
}

@test "smtpd auth: submission: From: and Sender: must be addresses the user owns (553 5.7.1 at the end of DATA)" {
  pochta -C "$POCHTA_CONF" alias add sales@example.test alice@example.test >/dev/null
  start_smtpd -s
  ok="220 250 235 250 250 354 250 221" no="220 250 235 250 250 354 553 221"
  for h in 'From: alice@example.test' 'From: Alice <Alice@Example.TEST>' 'From: "bob@example.test (not)" <alice@example.test> (me)' \
           'From: sales@example.test' 'From: alice@example.test\r\nSender: sales@example.test' 'FROM : alice@example.test' \
           'From: Alice\r\n <alice@example.test>' 'Subject: no From at all'; do
    run submit_as_alice "$h\r\n"
    assert_output "$ok"
  done
  for h in 'From: bob@example.test' 'From: Bob <bob@example.test>' 'From: alice@example.test, bob@example.test' \
           'From: alice@example.test\r\nSender: bob@example.test' 'From: Alice\r\n\t<bob@example.test>' \
           'From: alice@example.test\r\nFrom: bob@example.test' 'From: someone@remote.test' 'From: undisclosed:;' \
           'From: "alice@example.test"' 'Sender: bob@example.test'; do
    run submit_as_alice "$h\r\n"
    assert_output "$no"
  done
  [ "$(smtpd_queued)" = 8 ]
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0alice@example.test\0secret')\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<friend@remote.test>\r\nDATA\r\nFrom: bob@example.test\r\n\r\nx\r\n.\r\nQUIT\r\n"
  assert_line "553 5.7.1 Error: From: address not owned by the authenticated user"
  chunk='From: alice@example.test\r\nSender: bob@example.test\r\n\r\n'
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0alice@example.test\0secret')\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<friend@remote.test>\r\nBDAT $(printf "$chunk" | wc -c) LAST\r\n${chunk}QUIT\r\n"
  assert_line "553 5.7.1 Error: Sender: address not owned by the authenticated user"
  grep -q 'event=reject .*field=From address=bob@example.test user=alice@example.test' "$BATS_TEST_TMPDIR/smtpd.log"
  # hostile: a From: folded over 20,000 octets is refused, not cut short
  long=$(for i in $(seq 1000); do printf ' x%016d,\\r\\n' $i; done)
  run submit_as_alice "From: alice@example.test,\r\n${long} alice@example.test\r\n"
  assert_output "$no"
  grep -q 'reply="553 5.7.1 Error: From: or Sender: too long to check"' "$BATS_TEST_TMPDIR/smtpd.log"
  [ "$(smtpd_queued)" = 8 ]
}

@test "smtpd auth: From: is not checked on port 25, nor for relay clients" {
  start_smtpd
  run talk "EHLO c.test\r\nMAIL FROM:<x@remote.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nFrom: bob@example.test\r\n\r\nx\r\n.\r\nQUIT\r\n"
  assert_line --regexp '^250 2.0.0 Ok: queued as'
}

@test "smtpd auth: the first user may not send as the implicit postmaster, root, abuse or mailer-daemon, nor through a catch-all" {
  pochta -C "$POCHTA_CONF" catchall example.test alice@example.test >/dev/null
  start_smtpd -s
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0alice@example.test\0secret')\r\nMAIL FROM:<postmaster@example.test>\r\nMAIL FROM:<postmaster@mx.example.test>\r\nMAIL FROM:<root@mx.example.test>\r\nMAIL FROM:<abuse@mx.example.test>\r\nMAIL FROM:<mailer-daemon@mx.example.test>\r\nMAIL FROM:<nobody-here@example.test>\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 235 553 553 553 553 553 553 221"
  # the admin grants it in the aliases file, and then it holds
  pochta -C "$POCHTA_CONF" alias add postmaster@example.test alice@example.test >/dev/null
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0alice@example.test\0secret')\r\nMAIL FROM:<postmaster@example.test>\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 235 250 221"
  # the implicit aliases still deliver
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0alice@example.test\0secret')\r\nMAIL FROM:<alice@example.test>\r\nRCPT TO:<root@mx.example.test>\r\nRCPT TO:<mailer-daemon@mx.example.test>\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 235 250 250 250 221"
}

@test "smtpd auth: submission without TLS and without plainauth refuses AUTH and MAIL" {
  rm "$POCHTA_CONF/plainauth"
  start_smtpd -s
  run talk "EHLO c.test\r\nAUTH PLAIN $(b64 '\0alice@example.test\0secret')\r\nMAIL FROM:<alice@example.test>\r\nQUIT\r\n"
  run smtpd_codes <<<"$output"
  assert_output "220 250 538 530 221"
}
