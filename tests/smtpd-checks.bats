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

queued() { find "$QUEUE/mess" -type f 2>/dev/null | wc -l; }
only_queued() { find "$QUEUE/mess" -type f | head -n1; }
# after_received FILE: the queued message less our Received field (what a peer gets)
after_received() { awk 'NR == 1 { skip = 1; next } skip && /^[ \t]/ { next } { skip = 0; print }' "$1"; }

@test "checks: a spoofed From of a p=reject domain is refused at DATA with 550, nothing queued" {
  ck_net_up
  smtpd_in_ns
  send ceo@bank.test
  assert_failure
  assert_output --partial "550 5.7.1 DMARC policy of bank.test rejects"
  [ "$(queued)" = 0 ]
  grep -q 'event=checks .*dmarc=fail .*verdict=reject' "$BATS_TEST_TMPDIR/smtpd.log"
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
  after_received "$f" | head -n1 | grep -q '^Authentication-Results: mx.example.test;'
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
  after_received "$f" >"$BATS_TEST_TMPDIR/signed"
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

# publish_dkim DOMAIN SELECTOR: make the keys, sign with them, publish the records
publish_dkim() {
  pochta -C "$POCHTA_CONF" dkim new "$1" "$2" >"$BATS_TEST_TMPDIR/records-$1"
  pochta -C "$POCHTA_CONF" dkim use "$1" "$2" >/dev/null
  while read -r name _ type rest; do
    [ "$type" = TXT ] || continue
    ck_rr "${name%.}" TXT "$(echo "$rest" | sed 's/" "//g; s/^"//; s/"$//')"
  done <"$BATS_TEST_TMPDIR/records-$1"
}

@test "checks: local mail (pochta-sendmail) is signed as submitted mail is" {
  publish_dkim example.test s1
  ck_net_up
  printf 'From: <alice@example.test>\nTo: <friend@friend.test>\nSubject: from cron\n\nnightly report\n' |
    pochta-sendmail -f alice@example.test friend@friend.test
  f=$(only_queued)
  [ "$(grep -c '^DKIM-Signature:' "$f")" = 2 ]
  grep -q '^Message-Id: ' "$f"
  run ck "$PY" -c 'import dkim,sys; m=open(sys.argv[1],"rb").read(); print(dkim.verify(m))' "$f"
  assert_output True
  # a From: of a domain without keys: unsigned, and still sent
  rm -f "$QUEUE"/mess/*/*
  printf 'From: <x@friend.test>\nSubject: s\n\nb\n' | pochta-sendmail -f x@friend.test friend@friend.test
  run grep -c '^DKIM-Signature' "$(only_queued)"
  assert_output 0
}

# arc_list_message FROM: a message as a mailing list at list.test resends it,
# ARC-sealed by dkimpy (i=1) with the list's key, into $BATS_TEST_TMPDIR/m
arc_list_message() {
  openssl genrsa -out "$BATS_TEST_TMPDIR/list.key" 2048 2>/dev/null
  ck_rr sel._domainkey.list.test TXT "v=DKIM1; k=rsa; p=$(openssl rsa -in "$BATS_TEST_TMPDIR/list.key" -pubout -outform DER 2>/dev/null | base64 -w0)"
  "$PY" - "$1" "$BATS_TEST_TMPDIR/list.key" "$BATS_TEST_TMPDIR/m" <<'PY'
import dkim, sys
frm, key, out = sys.argv[1], open(sys.argv[2], "rb").read(), sys.argv[3]
m = ("Authentication-Results: list.test; spf=pass smtp.mailfrom=%s; dmarc=pass header.from=%s\r\n"
     "From: <%s>\r\nTo: <list@list.test>\r\nSubject: [list] forwarded\r\nMessage-ID: <1@list.test>\r\n"
     "Date: Wed, 02 Dec 2026 07:00:00 +0000\r\n\r\nthe list's copy\r\n" % (frm, frm.split("@")[1], frm)).encode()
sig = dkim.arc_sign(m, b"sel", b"list.test", key, b"list.test")
assert sig, "dkimpy made no ARC set"
open(out, "wb").write(b"".join(sig) + m)
PY
}

@test "checks: mail forwarded off this host is ARC-sealed in the forwarding domain's name; dkimpy verifies the chain" {
  publish_dkim example.test s1
  pochta -C "$POCHTA_CONF" alias add fwd@example.test someone@elsewhere.test >/dev/null
  ck_net_up
  smtpd_in_ns
  # a first hop: no chain yet (cv=none, i=1)
  send hello@friend.test --to fwd@example.test
  assert_success
  f=$(only_queued)
  grep -q '^ARC-Seal: i=1; a=rsa-sha256; .*cv=none; d=example.test; s=s1' <(tr -d '\n\t' <"$f" | sed 's/ARC-/\nARC-/g')
  grep -q '^ARC-Authentication-Results: i=1; mx.example.test;' "$f"
  run ck "$PY" -c 'import dkim,sys; m=open(sys.argv[1],"rb").read(); cv,res,why=dkim.arc_verify(m); print(cv.decode(), why)' "$f"
  assert_output --partial "pass"
  grep -q 'event=seal .*result=ok domain=example.test' "$BATS_TEST_TMPDIR/smtpd.log"
  # a mail for a local user alone is not sealed
  rm -f "$QUEUE"/mess/*/*
  send hello@friend.test
  assert_success
  run grep -c '^ARC-' "$(only_queued)"
  assert_output 0
}

@test "checks: a list's ARC chain from a trusted sealer passes a p=reject From; forwarded on, it is sealed i=2 cv=pass" {
  publish_dkim example.test s1
  pochta -C "$POCHTA_CONF" alias add fwd@example.test someone@elsewhere.test >/dev/null
  printf '# the lists we trust\nlist.test   # the project list\n' >"$POCHTA_CONF/arcsealers"
  ck_rr list.test TXT "v=spf1 ip4:127.0.0.1 -all"
  arc_list_message ceo@bank.test
  ck_net_up
  smtpd_in_ns
  run ck swaks --server 127.0.0.1 --port "$SMTP_PORT" --from bounces@list.test --to fwd@example.test --data "$BATS_TEST_TMPDIR/m"
  assert_success
  f=$(only_queued)
  grep -q 'arc=pass' "$f"
  tr -d '\n\t' <"$f" | sed 's/ARC-/\nARC-/g' | grep -q '^ARC-Seal: i=2; a=rsa-sha256; .*cv=pass; d=example.test'
  run ck "$PY" -c 'import dkim,sys; m=open(sys.argv[1],"rb").read(); cv,res,why=dkim.arc_verify(m); print(cv.decode(), len(res), why)' "$f"
  assert_output --partial "pass 2"
  # without the trust, the same message is refused (DMARC p=reject of bank.test)
  # (each session reads the settings afresh)
  rm -f "$POCHTA_CONF/arcsealers" "$QUEUE"/mess/*/*
  run ck swaks --server 127.0.0.1 --port "$SMTP_PORT" --from bounces@list.test --to fwd@example.test --data "$BATS_TEST_TMPDIR/m"
  assert_failure
  assert_output --partial "550 5.7.1"
}

@test "checks: pochta-dkimsign seals only for root and the queue's account" {
  publish_dkim example.test s1
  printf 'From: <a@friend.test>\nSubject: s\n\nb\n' >"$BATS_TEST_TMPDIR/m"
  run pochta-dkimsign -a example.test -c none -r "mx.example.test; spf=pass" <"$BATS_TEST_TMPDIR/m"
  assert_success
  assert_output --partial "ARC-Seal: i=1"
  run setpriv --reuid=65534 --regid=65534 --clear-groups pochta-dkimsign -a example.test -c none -r "x; spf=pass" <"$BATS_TEST_TMPDIR/m"
  assert_failure 100
  assert_output --partial "only root and the queue's account"
  # a cv that does not match the message's chain: refused, nothing printed
  run pochta-dkimsign -a example.test -c pass -r "x; spf=pass" <"$BATS_TEST_TMPDIR/m"
  assert_failure 100
  refute_output --partial "ARC-Seal"
}
