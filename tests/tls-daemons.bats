#!/usr/bin/env bats
# pochta-tlsd in front of the real daemons (pochta-smtpd, pochta-imapd, pochta-pop3d):
# the same client checks on all three protocols, STARTTLS and implicit TLS,
# the STARTTLS-injection defence, logins over TLS with Python clients, refusals.
# The daemons' own suites (smtpd-tls, pop3d-tls, imapd-*) test their protocol side.

load helpers

# the system python when there is one: wrappers (pyenv shims) are slow to start
PY=$(command -v /usr/bin/python3 || command -v python3)

setup() {
  command -v pochta-tlsd >/dev/null || skip "pochta-tlsd not built"
  instance_new
  tls_cert "$POCHTA_CONF"
  TLSCLIENT="$TESTS_DIR/tls-client.py"
}

teardown() { stop_all; }

need() { command -v "$1" >/dev/null || skip "$1 not built"; }

# tlsd NAME [-i] DAEMON ARGS...: the daemon behind pochta-tlsd; port in PORT.
tlsd() { local name=$1; shift; start_tcpserver "$name" PORT pochta-tlsd "$@"; }

sclient() { timeout 60 openssl s_client -connect "127.0.0.1:$PORT" -servername mx.example.test -quiet "$@" 2>&1; }
sc() { local in=$1; shift; printf "$in" | sclient "$@"; }

@test "all three protocols: openssl s_client with STARTTLS and with implicit TLS" {
  need pochta-smtpd; need pochta-imapd; need pochta-pop3d
  tlsd smtp pochta-smtpd
  run sc 'EHLO c.test\r\nQUIT\r\n' -starttls smtp
  assert_output --partial "221"
  tlsd smtps -i pochta-smtpd -s
  run sc 'EHLO c.test\r\nQUIT\r\n'
  assert_output --regexp "220 [^ ]+ ESMTP"
  assert_output --partial "221"
  tlsd imap pochta-imapd
  run sc 'a CAPABILITY\r\nb LOGOUT\r\n' -starttls imap
  assert_output --partial "b OK"
  refute_output --partial "STARTTLS"
  tlsd imaps -i pochta-imapd
  run sc 'a CAPABILITY\r\nb LOGOUT\r\n'
  assert_output --partial "* OK"
  assert_output --partial "b OK"
  tlsd pop3 pochta-pop3d
  run sc 'CAPA\r\nQUIT\r\n' -starttls pop3
  assert_output --partial "+OK"
  refute_output --partial "STLS"
  tlsd pop3s -i pochta-pop3d
  run sc 'CAPA\r\nQUIT\r\n'
  assert_output --partial "+OK"
  # one handshake line per TLS session in the engine's log
  run cat "$BATS_TEST_TMPDIR"/{smtp,smtps,imap,imaps,pop3,pop3s}.log
  assert_equal "$(grep -c 'event=handshake result=ok' <<<"$output")" 6
}

@test "STARTTLS injection against pochta-smtpd, pochta-imapd, pochta-pop3d" {
  need pochta-smtpd; need pochta-imapd; need pochta-pop3d
  smtpd_fakeq
  tlsd smtp pochta-smtpd
  run "$PY" "$TLSCLIENT" inject smtp "$PORT"
  assert_success
  assert_line --index 0 --regexp "^starttls: 220 "
  # the first reply after the handshake is the NOOP's, then QUIT's: XYZZY never ran
  assert_line --index 2 --regexp "^S: 250 "
  assert_line --index 3 --regexp "^S: 221 "
  refute_output --regexp "S: 5[0-9][0-9] "
  [ "$(smtpd_queued)" = 0 ]
  tlsd imap pochta-imapd
  run "$PY" "$TLSCLIENT" inject imap "$PORT"
  assert_success
  assert_line --index 0 --regexp "^starttls: a OK"
  assert_line --index 2 --regexp "^S: c OK"
  refute_output --regexp "S: b "
  tlsd pop3 pochta-pop3d
  run "$PY" "$TLSCLIENT" inject pop3 "$PORT"
  assert_success
  assert_line --index 0 --regexp "^starttls: \+OK"
  assert_line --index 2 --regexp "^S: \+OK"
  refute_output --partial "S: -ERR"
}

@test "Python clients log in over TLS: smtplib (587, 465), imaplib, poplib" {
  need pochta-smtpd; need pochta-imapd; need pochta-pop3d
  smtpd_fakeq
  tlsd sub pochta-smtpd -s
  run "$PY" "$TLSCLIENT" smtplib "$PORT" alice@example.test secret
  assert_success
  assert_line "starttls=220"
  assert_line "auth=235"
  assert_line "quit=221"
  tlsd smtps -i pochta-smtpd -s
  run "$PY" "$TLSCLIENT" smtps "$PORT" alice@example.test secret
  assert_success
  assert_line "auth=235"
  tlsd imaps -i pochta-imapd
  run "$PY" "$TLSCLIENT" imaps "$PORT" alice@example.test secret
  assert_success
  assert_line "login=OK"
  tlsd imap pochta-imapd
  run "$PY" "$TLSCLIENT" imapstarttls "$PORT" alice@example.test secret
  assert_success
  assert_line "starttls=OK"
  assert_line "login=OK"
  tlsd pop3 pochta-pop3d
  run "$PY" "$TLSCLIENT" pop3stls "$PORT" alice@example.test secret
  assert_success
  assert_line "pass=+OK"
  tlsd pop3s -i pochta-pop3d
  run "$PY" "$TLSCLIENT" pop3s "$PORT" alice@example.test secret
  assert_success
  assert_line "pass=+OK"
}

@test "swaks --tls and --tlsc with AUTH through the engine; wrong password refused" {
  need pochta-smtpd
  smtpd_fakeq
  tlsd sub pochta-smtpd -s
  run swaks --server 127.0.0.1 --port "$PORT" --tls --auth PLAIN --auth-user alice@example.test \
    --auth-password secret --from alice@example.test --to friend@remote.test --body tls
  assert_success
  assert_output --partial "=== TLS started with cipher TLSv1.2:ECDHE-RSA-AES128-GCM-SHA256"
  assert_output --partial "<~  235 "
  tlsd smtps -i pochta-smtpd -s
  run swaks --server 127.0.0.1 --port "$PORT" --tlsc --auth LOGIN --auth-user alice@example.test \
    --auth-password secret --from alice@example.test --to friend@remote.test --body tlsc
  assert_success
  assert_output --partial "<~  235 "
  [ "$(smtpd_queued)" = 2 ]
  run swaks --server 127.0.0.1 --port "$PORT" --tlsc --auth PLAIN --auth-user alice@example.test \
    --auth-password wrong --from alice@example.test --to friend@remote.test --body no
  assert_failure
  assert_output --partial "<~* 535 "
  [ "$(smtpd_queued)" = 2 ]
}

@test "refusals at a real daemon: TLS 1.1, CBC cipher, garbage ClientHello; nothing queued" {
  need pochta-smtpd
  smtpd_fakeq
  tlsd smtps -i pochta-smtpd -s
  run "$PY" "$TLSCLIENT" version "$PORT" TLSv1_1
  assert_failure
  run sclient -tls1_2 -cipher ECDHE-RSA-AES128-SHA </dev/null
  assert_failure
  run smtpd_raw "$PORT" < <(printf 'EHLO x\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<alice@example.test>\r\nDATA\r\nx\r\n.\r\n')
  refute_output --partial "250"
  [ "$(smtpd_queued)" = 0 ]
  wait_for 30 grep -q "event=handshake result=fail mode=implicit" "$BATS_TEST_TMPDIR/smtps.log"
}

@test "mutt sends over submission with STARTTLS through the engine" {
  need pochta-smtpd
  command -v mutt >/dev/null || skip "no mutt"
  smtpd_fakeq
  tlsd sub pochta-smtpd -s
  cat >"$BATS_TEST_TMPDIR/muttrc" <<EOF
set smtp_url="smtp://alice@example.test@127.0.0.1:$PORT/"
set smtp_pass="secret"
set ssl_starttls=yes
set ssl_force_tls=yes
set ssl_verify_host=no
set certificate_file="$BATS_TEST_TMPDIR/certs"
set from="alice@example.test"
set realname="Alice"
set record=""
set folder="$BATS_TEST_TMPDIR"
EOF
  # trust our self-signed certificate
  cp "$POCHTA_CONF/tls/cert.pem" "$BATS_TEST_TMPDIR/certs"
  run timeout 60 mutt -n -F "$BATS_TEST_TMPDIR/muttrc" -s "over tls" friend@remote.test </dev/null <<<"hello"
  assert_success
  [ "$(smtpd_queued)" = 1 ]
  grep -q "event=handshake result=ok mode=starttls" "$BATS_TEST_TMPDIR/sub.log"
}
