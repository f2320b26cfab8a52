#!/usr/bin/env bats
# pochta-smtpd's inspection at the end of DATA, through the real server under
# tcpserver in a network namespace whose dnsmasq serves the records (tests/checks):
# the sender checks of inbound mail (DMARC reject at DATA, quarantine marked, DNS
# trouble 451, Authentication-Results added and forged ones dropped) and, on
# submission, Date/Message-ID and the DKIM signature of pochta-dkimsign, verified
# by dkimpy.

load helpers
load checks/lib

setup() {
  ck_need_root
  ck_zone_reset
  instance_new
  rm -f "$POCHTA_CONF/checks"        # the default: on
  allow_plain_auth
  ck_rr example.test TXT "v=spf1 ip4:127.0.0.1 -all"
  ck_rr _dmarc.example.test TXT "v=DMARC1; p=reject"
  ck_rr bank.test TXT "v=spf1 ip4:192.0.2.1 -all"
  ck_rr _dmarc.bank.test TXT "v=DMARC1; p=reject"
  ck_rr shop.test TXT "v=spf1 ip4:192.0.2.1 -all"
  ck_rr _dmarc.shop.test TXT "v=DMARC1; p=quarantine"
  ck_rr friend.test TXT "v=spf1 ip4:127.0.0.1 -all"
  ck_rr _dmarc.friend.test TXT "v=DMARC1; p=reject"
  ck_rr 127.0.0.1 PTR localhost.test
  ck_rr localhost.test A 127.0.0.1
}
teardown() { stop_all; ck_net_down; }

# smtpd_in_ns [ARGS]: pochta-smtpd under tcpserver inside the namespace; port in SMTP_PORT
smtpd_in_ns() {
  local pf=$BATS_TEST_TMPDIR/smtpd.port
  rm -f "$pf"
  ck env POCHTA_CONF="$POCHTA_CONF" PATH="$PATH" tcpserver -1 -HR -l mx.example.test 127.0.0.1 0 pochta-smtpd "$@" \
    >"$pf" 2>>"$BATS_TEST_TMPDIR/smtpd.log" &
  echo $! >"$BATS_TEST_TMPDIR/smtpd.pid"
  wait_for 10 test -s "$pf"
  SMTP_PORT=$(head -n1 "$pf")
}

# send FROM-HEADER [SWAKS-ARGS...]: a message to alice, MAIL FROM the same domain
send() {
  local from=$1; shift
  run ck swaks --server 127.0.0.1 --port "$SMTP_PORT" --from "$from" --to alice@example.test \
    --header "From: <$from>" --header "Subject: check" --body "checked" "$@"
}

queued() { find "$QUEUE/mess" -type f | wc -l; }
only_queued() { find "$QUEUE/mess" -type f | head -n1; }

@test "checks: a spoofed From of a p=reject domain is refused at DATA with 550, nothing queued" {
  ck_net_up
  smtpd_in_ns
  send ceo@bank.test
  assert_failure
  assert_output --partial "550 5.7.1 DMARC policy of bank.test rejects"
  [ "$(queued)" = 0 ]
  grep -q 'event=checks .*dmarc=fail verdict=reject' "$BATS_TEST_TMPDIR/smtpd.log"
}

@test "checks: a p=quarantine failure is queued, marked for the Junk folder" {
  ck_net_up
  smtpd_in_ns
  send sale@shop.test
  assert_success
  [ "$(queued)" = 1 ]
  grep -q '^X-Pochta-Junk: dmarc=quarantine$' "$(only_queued)"
}

@test "checks: a pass gets our Authentication-Results; forged ones claiming our name are dropped, others kept" {
  ck_net_up
  smtpd_in_ns
  send hello@friend.test --add-header "Authentication-Results: mx.example.test; dmarc=pass header.from=bank.test" \
    --add-header "Authentication-Results: other.example; spf=pass" --add-header "X-Pochta-Junk: no"
  assert_success
  f=$(only_queued)
  # ours comes right after our Received field
  sed -n 3p "$f" | grep -q '^Authentication-Results: mx.example.test;'
  grep -A6 '^Authentication-Results: mx.example.test;' "$f" | grep -q 'dmarc=pass'
  grep -A6 '^Authentication-Results: mx.example.test;' "$f" | grep -q 'spf=pass'
  [ "$(grep -c '^Authentication-Results: mx.example.test' "$f")" = 1 ]
  grep -q '^Authentication-Results: other.example; spf=pass' "$f"
  run grep -c '^X-Pochta-Junk' "$f"
  assert_output 0
}

@test "checks: DNS trouble that decides a DMARC result is a 451, never a pass nor a 550" {
  ck_net_up
  smtpd_in_ns
  send x@a.broken.test
  assert_failure
  assert_output --partial "451 4.7"
  [ "$(queued)" = 0 ]
}

@test "checks: off in the configuration (checks=off), nothing is asked and nothing added" {
  ck_net_up
  echo off >"$POCHTA_CONF/checks"
  smtpd_in_ns
  send ceo@bank.test
  assert_success
  run grep -c '^Authentication-Results' "$(only_queued)"
  assert_output 0
}

@test "checks: never on submission; there Date and Message-ID are added and the message is signed" {
  ck_net_up
  pochta -C "$POCHTA_CONF" dkim new example.test s1 >"$BATS_TEST_TMPDIR/records"
  pochta -C "$POCHTA_CONF" dkim use example.test s1
  # publish what pochta dkim prints
  while read -r name _ type rest; do
    [ "$type" = TXT ] || continue
    ck_rr "${name%.}" TXT "$(echo "$rest" | sed 's/" "//g; s/^"//; s/"$//')"
  done <"$BATS_TEST_TMPDIR/records"
  ck_net_down; ck_net_up
  smtpd_in_ns -s
  # a message as a mail program writes it, without Date and Message-ID
  printf 'From: <alice@example.test>\r\nTo: <friend@friend.test>\r\nSubject: signed\r\n\r\nsigned body\r\n' >"$BATS_TEST_TMPDIR/m"
  run ck swaks --server 127.0.0.1 --port "$SMTP_PORT" --auth PLAIN --auth-user alice@example.test --auth-password secret \
    --from alice@example.test --to friend@friend.test --data "$BATS_TEST_TMPDIR/m"
  assert_success
  f=$(only_queued)
  grep -q '^Date: ' "$f"
  grep -q '^Message-ID: <[0-9a-f]*\.[0-9a-f]*@mx.example.test>$' "$f"
  [ "$(grep -c '^DKIM-Signature:' "$f")" = 2 ]   # RSA and Ed25519 side by side
  run grep -c '^Authentication-Results' "$f"
  assert_output 0
  # what the peer would get: the queued message less our Received field
  sed '1,2d' "$f" >"$BATS_TEST_TMPDIR/signed"
  run ck "$PY" -c 'import dkim,sys; m=open(sys.argv[1],"rb").read(); print(dkim.verify(m))' "$BATS_TEST_TMPDIR/signed"
  assert_output True
  # altered in transit: it fails
  sed 's/signed body/altered body/' "$BATS_TEST_TMPDIR/signed" >"$BATS_TEST_TMPDIR/altered"
  run ck "$PY" -c 'import dkim,sys; m=open(sys.argv[1],"rb").read(); print(dkim.verify(m))' "$BATS_TEST_TMPDIR/altered"
  assert_output False
}

@test "checks: a domain without keys is sent unsigned; a key that cannot be read is a 451, not unsigned mail" {
  ck_net_up
  smtpd_in_ns -s
  run ck swaks --server 127.0.0.1 --port "$SMTP_PORT" --auth PLAIN --auth-user alice@example.test --auth-password secret \
    --from alice@example.test --to friend@friend.test --header "From: <alice@example.test>"
  assert_success
  run grep -c '^DKIM-Signature' "$(only_queued)"
  assert_output 0
  rm -f "$QUEUE"/mess/*/*
  pochta -C "$POCHTA_CONF" dkim new example.test s2 >/dev/null
  pochta -C "$POCHTA_CONF" dkim use example.test s2
  rm -f "$POCHTA_CONF"/dkim/example.test/s2-rsa.key
  run ck swaks --server 127.0.0.1 --port "$SMTP_PORT" --auth PLAIN --auth-user alice@example.test --auth-password secret \
    --from alice@example.test --to friend@friend.test --header "From: <alice@example.test>"
  assert_failure
  assert_output --partial "451 4.3.0"
  run find "$QUEUE/mess" -type f
  assert_output ""
}
