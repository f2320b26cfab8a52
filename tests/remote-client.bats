#!/usr/bin/env bats
# pochta-remote against a scriptable SMTP peer on loopback: the K/Z/D
# records of doc/CONTRACTS.md, the SMTP dialogue, TLS, smarthost, and
# hostile replies. No DNS here: the domain is a literal, the port
# POCHTA_REMOTE_PORT (the DNS cases are in remote-netns.bats).

load helpers
load netns/remote-lib

setup() {
  remote_conf
  MSG="$BATS_TEST_TMPDIR/msg"
  printf 'From: s@a.test\nSubject: hi\n\n.leading dot\nbody\n' >"$MSG"
}
teardown() { stop_all; }

smtp_log() { cat "$BATS_TEST_TMPDIR/peer.smtp"; }

@test "remote: accepted and refused recipients get K and D, in the order given" {
  start_fake peer --rcpt 'bad@x.test=550 5.1.1 no such user'
  remote_to "$FAKE_PORT" s@a.test ok@x.test bad@x.test ok2@x.test
  assert_success
  assert_equal "${lines[0]}" $'Kok@x.test\t250 2.0.0 queued\t[127.0.0.1]'
  assert_equal "${lines[1]}" $'Dbad@x.test\t550 5.1.1 no such user\t[127.0.0.1]'
  assert_equal "${lines[2]}" $'Kok2@x.test\t250 2.0.0 queued\t[127.0.0.1]'
  assert_equal "${#lines[@]}" 3
}

@test "remote: pipelined MAIL/RCPT/DATA, SIZE, dot-stuffing and CRLF on the wire" {
  start_fake peer
  remote_to "$FAKE_PORT" s@a.test ok@x.test
  assert_success
  run smtp_log
  assert_line --index 1 'C: EHLO mx.a.test'
  assert_line --index 2 'C: MAIL FROM:<s@a.test> SIZE=51'
  assert_line --index 3 'C: RCPT TO:<ok@x.test>'
  assert_line --index 4 'C: DATA'
  assert_line 'D: ..leading dot'
  assert_line 'END DATA 5'
  assert_line 'C: QUIT'
}

@test "remote: bare CR, CRLF and a missing final newline all become CRLF lines" {
  start_fake peer
  printf 'Subject: x\r\n\r\na\rb\n.\nlast' >"$MSG"
  remote_to "$FAKE_PORT" s@a.test ok@x.test
  assert_success
  run smtp_log
  assert_line 'D: a'
  assert_line 'D: b'
  assert_line 'D: ..'
  assert_line 'D: last'
  assert_line 'END DATA 6'
}

@test "remote: 4xx to RCPT is Z, 4xx and 5xx to MAIL decide everyone" {
  start_fake peer --rcpt 'later@x.test=452 4.2.2 mailbox full'
  remote_to "$FAKE_PORT" s@a.test later@x.test ok@x.test
  assert_success
  assert_line --index 0 $'Zlater@x.test\t452 4.2.2 mailbox full\t[127.0.0.1]'
  assert_line --index 1 $'Kok@x.test\t250 2.0.0 queued\t[127.0.0.1]'
  stop peer
  start_fake peer2 --mail '451 4.3.0 try later'
  remote_to "$FAKE_PORT" s@a.test a@x.test b@x.test
  assert_success
  assert_line --index 0 $'Za@x.test\t451 4.3.0 try later\t[127.0.0.1]'
  assert_line --index 1 $'Zb@x.test\t451 4.3.0 try later\t[127.0.0.1]'
  stop peer2
  start_fake peer3 --mail '553 5.7.1 sender refused'
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_line --index 0 $'Da@x.test\t553 5.7.1 sender refused\t[127.0.0.1]'
}

@test "remote: the final reply decides the accepted recipients only" {
  start_fake peer --dot '452 4.3.1 out of space' --rcpt 'bad@x.test=550 5.1.1 unknown'
  remote_to "$FAKE_PORT" s@a.test a@x.test bad@x.test
  assert_success
  assert_line --index 0 $'Za@x.test\t452 4.3.1 out of space\t[127.0.0.1]'
  assert_line --index 1 $'Dbad@x.test\t550 5.1.1 unknown\t[127.0.0.1]'
  stop peer
  start_fake peer2 --dot '554 5.6.0 content refused'
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_line --index 0 $'Da@x.test\t554 5.6.0 content refused\t[127.0.0.1]'
}

@test "remote: HELO when EHLO is refused, one command at a time without PIPELINING" {
  start_fake peer --no-ehlo
  remote_to "$FAKE_PORT" s@a.test ok@x.test
  assert_success
  assert_line --index 0 $'Kok@x.test\t250 2.0.0 queued\t[127.0.0.1]'
  run smtp_log
  assert_line --index 2 'C: HELO mx.a.test'
  assert_line --index 3 'C: MAIL FROM:<s@a.test>'
}

@test "remote: no DATA when every recipient is refused without PIPELINING" {
  start_fake peer --ext 8BITMIME --rcpt 'a@x.test=550 5.1.1 no' --rcpt 'b@x.test=450 4.1.1 later'
  remote_to "$FAKE_PORT" s@a.test a@x.test b@x.test
  assert_success
  assert_line --index 0 $'Da@x.test\t550 5.1.1 no\t[127.0.0.1]'
  assert_line --index 1 $'Zb@x.test\t450 4.1.1 later\t[127.0.0.1]'
  run smtp_log
  refute_line 'C: DATA'
}

@test "remote: a message larger than the peer's SIZE is refused before MAIL" {
  start_fake peer --ext 'PIPELINING,SIZE 20'
  remote_to "$FAKE_PORT" s@a.test ok@x.test
  assert_success
  assert_line --index 0 $'Dok@x.test\t5.3.4 message size 51 exceeds the limit of [127.0.0.1] (20)\t[127.0.0.1]'
  run smtp_log
  refute_line --partial 'C: MAIL'
}

@test "remote: 8-bit body says BODY=8BITMIME when offered, goes out as is when not" {
  printf 'Subject: x\n\ncaf\xc3\xa9\n' >"$MSG"
  start_fake peer
  remote_to "$FAKE_PORT" s@a.test ok@x.test
  assert_success
  run smtp_log
  assert_line --partial 'BODY=8BITMIME'
  stop peer
  start_fake peer2 --ext PIPELINING
  remote_to "$FAKE_PORT" s@a.test ok@x.test
  assert_line --index 0 $'Kok@x.test\t250 2.0.0 queued\t[127.0.0.1]'
  run cat "$BATS_TEST_TMPDIR/peer2.smtp"
  assert_line 'C: MAIL FROM:<s@a.test>'
  assert_line 'D: café'
}

@test "remote: a non-ASCII address needs SMTPUTF8: D with a reason when the peer lacks it" {
  start_fake peer --ext 'PIPELINING,8BITMIME'
  remote_to "$FAKE_PORT" s@a.test 'jos茅@x.test'
  assert_success
  assert_line --index 0 $'Djos茅@x.test\t5.6.7 the address needs SMTPUTF8, which [127.0.0.1] does not offer\t[127.0.0.1]'
  stop peer
  start_fake peer2
  remote_to "$FAKE_PORT" s@a.test 'jos茅@x.test'
  assert_line --index 0 $'Kjos茅@x.test\t250 2.0.0 queued\t[127.0.0.1]'
  run cat "$BATS_TEST_TMPDIR/peer2.smtp"
  assert_line 'C: MAIL FROM:<s@a.test> SIZE=51 SMTPUTF8'
}

@test "remote: null sender and the double-bounce sender go out as MAIL FROM:<>" {
  start_fake peer
  remote_to "$FAKE_PORT" '' ok@x.test
  assert_success
  remote_to "$FAKE_PORT" '#@[]' ok@x.test
  assert_success
  run smtp_log
  assert_equal "$(grep -c 'C: MAIL FROM:<> SIZE=51' "$BATS_TEST_TMPDIR/peer.smtp")" 2
}

@test "remote: opportunistic STARTTLS with an unverifiable certificate still delivers, and logs it" {
  make_cert "$BATS_TEST_TMPDIR/tls" mx.fake.test
  start_fake peer --tls "$BATS_TEST_TMPDIR/tls/cert.pem" "$BATS_TEST_TMPDIR/tls/key.pem"
  remote_to "$FAKE_PORT" s@a.test ok@x.test
  assert_success
  assert_line --index 0 $'Kok@x.test\t250 2.0.0 queued\t[127.0.0.1]'
  run smtp_log
  assert_line --index 2 'C: STARTTLS'
  assert_line --partial 'TLS: TLSv1.2'
  assert_line --index 4 'C: EHLO mx.a.test'
  run cat "$BATS_TEST_TMPDIR/remote.err"
  assert_line --partial 'event=tls host=[127.0.0.1] ip=127.0.0.1 result=ok protocol=TLSv1.2'
  assert_line --partial 'verified=no'
}

@test "remote: smarthost: STARTTLS with a verified certificate and AUTH PLAIN" {
  make_cert "$BATS_TEST_TMPDIR/tls" localhost
  start_fake peer --tls "$BATS_TEST_TMPDIR/tls/cert.pem" "$BATS_TEST_TMPDIR/tls/key.pem" --auth 'relay@a.test:s3cret pass'
  echo "localhost:$FAKE_PORT" >"$POCHTA_CONF/smarthost"
  (umask 077; echo 'relay@a.test:s3cret pass' >"$POCHTA_CONF/smarthost-auth")
  POCHTA_CAFILE="$BATS_TEST_TMPDIR/tls/cert.pem" run remote_quiet elsewhere.test s@a.test ok@elsewhere.test <"$MSG"
  assert_success
  assert_line --index 0 $'Kok@elsewhere.test\t250 2.0.0 queued\tlocalhost[127.0.0.1]'
  run smtp_log
  assert_line 'AUTH: ok'
  run cat "$BATS_TEST_TMPDIR/remote.err"
  assert_line --partial 'verified=yes'
}

@test "remote: smarthost: no STARTTLS, an unverified certificate, or a readable password file mean Z" {
  make_cert "$BATS_TEST_TMPDIR/tls" localhost
  start_fake plain
  echo "[127.0.0.1]:$FAKE_PORT" >"$POCHTA_CONF/smarthost"
  run remote_quiet elsewhere.test s@a.test ok@elsewhere.test <"$MSG"
  assert_success
  assert_output $'Zok@elsewhere.test\t4.7.0 smarthost [127.0.0.1] does not offer STARTTLS'
  start_fake tls --tls "$BATS_TEST_TMPDIR/tls/cert.pem" "$BATS_TEST_TMPDIR/tls/key.pem"
  echo "localhost:$FAKE_PORT" >"$POCHTA_CONF/smarthost"
  POCHTA_CAFILE=/nonexistent run remote_quiet elsewhere.test s@a.test ok@elsewhere.test <"$MSG"
  assert_success
  assert_output --partial $'Zok@elsewhere.test\t4.7.0 localhost [127.0.0.1]: TLS handshake failed'
  run cat "$BATS_TEST_TMPDIR/tls.smtp"
  refute_line --partial 'C: MAIL'
  echo 'u:p' >"$POCHTA_CONF/smarthost-auth"; chmod 644 "$POCHTA_CONF/smarthost-auth"
  run remote_quiet elsewhere.test s@a.test ok@elsewhere.test <"$MSG"
  assert_output $'Zok@elsewhere.test\t4.3.5 cannot use config file smarthost-auth: Operation not permitted (must not be readable by group or others)'
}

# make_ipcert DIR SAN: a self-signed certificate with subjectAltName SAN
make_ipcert() {
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1/key.pem" -out "$1/cert.pem" -days 2 -subj "/CN=smarthost" -addext "subjectAltName=$2" 2>/dev/null
}

# via_smarthost NAME CERTDIR: a TLS peer NAME (AUTH u:pw) as the smarthost
# [127.0.0.1]:port; pochta-remote through it, CERTDIR's certificate the only anchor
via_smarthost() {
  start_fake "$1" --tls "$2/cert.pem" "$2/key.pem" --auth 'u:pw'
  echo "[127.0.0.1]:$FAKE_PORT" >"$POCHTA_CONF/smarthost"
  POCHTA_CAFILE="$2/cert.pem" run remote_quiet x.test s@a.test ok@x.test <"$MSG"
}

@test "remote: smarthost given as an address: verified against the certificate's IP names, refused otherwise" {
  (umask 077; echo 'u:pw' >"$POCHTA_CONF/smarthost-auth")
  # the right address among the iPAddress names: verified, AUTH goes out
  make_ipcert "$BATS_TEST_TMPDIR/good" "DNS:smarthost.test,IP:192.0.2.9,IP:127.0.0.1"
  via_smarthost peer "$BATS_TEST_TMPDIR/good"
  assert_success
  assert_output $'Kok@x.test\t250 2.0.0 queued\t[127.0.0.1]'
  run grep -c 'verified=yes' "$BATS_TEST_TMPDIR/remote.err"
  assert_output 1
  # a certificate that chains to the anchors but names another host, or
  # another address: refused before AUTH, the password never sent
  for san in "DNS:127.0.0.1,DNS:smarthost.test" "IP:192.0.2.9" "IP:::1"; do
    rm -rf "$BATS_TEST_TMPDIR/bad"
    make_ipcert "$BATS_TEST_TMPDIR/bad" "$san"
    via_smarthost bad "$BATS_TEST_TMPDIR/bad"
    assert_success
    assert_output --regexp $'^Zok@x.test\t4.7.0 \\[127.0.0.1\\] \\[127.0.0.1\\]: TLS handshake failed: .*BR_ERR_X509_BAD_SERVER_NAME'
    run grep -c 'AUTH' "$BATS_TEST_TMPDIR/bad.smtp"
    assert_output 0
    stop bad
  done
  # noverify turns verification off, for whoever answers
  echo noverify >"$POCHTA_CONF/smarthost-tls"
  via_smarthost any "$BATS_TEST_TMPDIR/bad"
  assert_output $'Kok@x.test\t250 2.0.0 queued\t[127.0.0.1]'
}

@test "remote: a domain literal's certificate is checked against its address (logged, not required)" {
  make_ipcert "$BATS_TEST_TMPDIR/lit" "DNS:elsewhere.test"
  start_fake peer --tls "$BATS_TEST_TMPDIR/lit/cert.pem" "$BATS_TEST_TMPDIR/lit/key.pem"
  POCHTA_CAFILE="$BATS_TEST_TMPDIR/lit/cert.pem" remote_to "$FAKE_PORT" s@a.test ok@x.test
  assert_success
  assert_output $'Kok@x.test\t250 2.0.0 queued\t[127.0.0.1]'
  run cat "$BATS_TEST_TMPDIR/remote.err"
  assert_line --partial 'verified=no verify_error=BR_ERR_X509_BAD_SERVER_NAME'
}

@test "remote: smarthost: wrong password is Z, never D" {
  make_cert "$BATS_TEST_TMPDIR/tls" localhost
  start_fake peer --tls "$BATS_TEST_TMPDIR/tls/cert.pem" "$BATS_TEST_TMPDIR/tls/key.pem" --auth 'u:right'
  echo "localhost:$FAKE_PORT" >"$POCHTA_CONF/smarthost"
  (umask 077; echo 'u:wrong' >"$POCHTA_CONF/smarthost-auth")
  POCHTA_CAFILE="$BATS_TEST_TMPDIR/tls/cert.pem" run remote_quiet x.test s@a.test ok@x.test <"$MSG"
  assert_success
  assert_output $'Zok@x.test\t4.7.0 smarthost refused authentication: 535 5.7.8 bad credentials'
}

@test "remote: nobody listening: Z for everyone with the reason" {
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  remote_to "$port" s@a.test a@x.test b@x.test
  assert_success
  assert_line --index 0 $'Za@x.test\t4.4.1 [127.0.0.1] [127.0.0.1]: connect: Connection refused'
  assert_line --index 1 $'Zb@x.test\t4.4.1 [127.0.0.1] [127.0.0.1]: connect: Connection refused'
}

@test "remote: a peer that says nothing times out (greeting) and one that stalls after RCPT gives Z" {
  start_fake peer --sleep greeting=4
  POCHTA_REMOTE_TIMEOUTS="greeting=1" remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_success
  assert_output $'Za@x.test\t4.4.2 [127.0.0.1] [127.0.0.1]: greeting: read: timed out'
  start_fake peer2 --sleep dot=4
  POCHTA_REMOTE_TIMEOUTS="dot=1" remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_output $'Za@x.test\t4.4.2 after the final dot: read: timed out ([127.0.0.1])\t[127.0.0.1]'
}

@test "remote: a connection dropped after RCPT leaves everyone Z" {
  start_fake peer --close-at data
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_success
  assert_output $'Za@x.test\t4.4.2 DATA: connection closed by peer ([127.0.0.1])\t[127.0.0.1]'
}

@test "remote: a peer that drops right after 354 is not said to have dropped after the final dot" {
  start_fake peer --close-at after354
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_success
  assert_output --regexp $'^Za@x.test\t4.4.2 after 354, before the peer had the whole message: (connection closed by peer|read: Connection reset by peer) \\(\\[127.0.0.1\\]\\)\t\\[127.0.0.1\\]$'
  # a message too large for the socket buffers fails while it is being sent
  head -c 4000000 /dev/zero | tr '\0' 'x' | fold -w 900 >>"$MSG"
  start_fake peer2 --close-at after354
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_output --regexp $'^Za@x.test\t4.4.2 sending the message: write: (Connection reset by peer|Broken pipe) \\(\\[127.0.0.1\\]\\)\t\\[127.0.0.1\\]$'
  # and one that drops after the final dot is said to
  start_fake peer3 --close-at dot
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_output $'Za@x.test\t4.4.2 after the final dot: connection closed by peer ([127.0.0.1])\t[127.0.0.1]'
}

@test "remote: hostile greetings: bad code, huge line, NUL, 5xx" {
  start_fake p1 --raw-greeting 'hello there\r\n'
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_output $'Za@x.test\t4.4.2 [127.0.0.1] [127.0.0.1]: greeting: malformed reply from peer'
  start_fake p2 --raw-greeting "220 $(head -c 70000 /dev/zero | tr '\0' A)\r\n"
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_output $'Za@x.test\t4.4.2 [127.0.0.1] [127.0.0.1]: greeting: malformed reply from peer'
  start_fake p3 --raw-greeting '554 no\x00 service\r\n'
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_output $'Za@x.test\t4.4.2 [127.0.0.1] [127.0.0.1] greeted: 554 no? service'
  start_fake p4 --raw-greeting '220-first\r\n230 second\r\n'
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_output $'Za@x.test\t4.4.2 [127.0.0.1] [127.0.0.1]: greeting: malformed reply from peer'
}

@test "remote: multi-line replies, bare LF and garbage after the final reply" {
  start_fake p1 --raw-greeting '220-a\n220-b\r\n220 c\n' --raw-dot '250-ok\r\n250 2.0.0 done\r\nGARBAGE\r\n'
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_success
  assert_output $'Ka@x.test\t250 ok 2.0.0 done\t[127.0.0.1]'
}

@test "remote: hostile EHLO: huge line and bad code mean the host failed" {
  start_fake p1 --raw-ehlo "250-x\r\n250-$(head -c 66000 /dev/zero | tr '\0' B)\r\n250 SIZE 10\r\n"
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_output $'Za@x.test\t4.4.2 EHLO: malformed reply from peer'
  start_fake p2 --raw-ehlo '250-x\r\n25O PIPELINING\r\n'
  remote_to "$FAKE_PORT" s@a.test a@x.test
  assert_output $'Za@x.test\t4.4.2 EHLO: malformed reply from peer'
}

@test "remote: addresses that cannot be put in a command are refused here" {
  start_fake peer
  remote_to "$FAKE_PORT" s@a.test $'evil@x.test>\r\nRSET' ok@x.test 'noat'
  assert_success
  assert_line --index 0 $'Devil@x.test>??RSET\t5.1.3 bad recipient address syntax'
  assert_line --index 1 $'Kok@x.test\t250 2.0.0 queued\t[127.0.0.1]'
  assert_line --index 2 $'Dnoat\t5.1.3 bad recipient address syntax'
  run smtp_log
  refute_line --partial 'RSET'
  remote_to "$FAKE_PORT" $'s@a.test>\nX' ok@x.test
  assert_output $'Dok@x.test\t5.1.7 bad sender address syntax'
}

@test "remote: usage errors exit 100, unknown config is Z" {
  run remote_quiet x.test s@a.test
  assert_failure 100
  echo 'bad:port:x' >"$POCHTA_CONF/smarthost"
  run remote_quiet x.test s@a.test a@x.test <"$MSG"
  assert_success
  assert_output $'Za@x.test\t4.3.5 bad smarthost syntax (host[:port])'
}

@test "remote: many recipients are pipelined in windows and all get records" {
  start_fake peer
  rcpts=(); for i in $(seq 1 120); do rcpts+=("r$i@x.test"); done
  remote_to "$FAKE_PORT" s@a.test "${rcpts[@]}"
  assert_success
  assert_equal "${#lines[@]}" 120
  assert_equal "$(printf '%s\n' "${lines[@]}" | grep -c '^K')" 120
  assert_line --index 119 $'Kr120@x.test\t250 2.0.0 queued\t[127.0.0.1]'
}
