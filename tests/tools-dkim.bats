#!/usr/bin/env bats
# pochta dkim (keys, rotation), pochta dns (the records to publish) and pochta check
# (the published records looked up through dns/): the records pochta dns prints are
# served by dnsmasq in a network namespace, and dkimpy verifies mail signed with the
# keys pochta dkim made.

load helpers
load checks/lib
load netns/remote-lib

setup() {
  instance_new
}
teardown() { ck_net_down; stop_all; }

@test "pochta dkim new: an RSA and an Ed25519 key, 0640 root:signing group, directories 0750, signing at once" {
  run pochta dkim new example.test s1 --group mail
  assert_success
  assert_line --regexp '^s1-rsa\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=rsa; p=.*" ".*"$'
  assert_line --regexp '^s1-ed\._domainkey\.example\.test\. IN TXT "v=DKIM1; k=ed25519; p=[A-Za-z0-9+/=]{44}"$'
  local d=$POCHTA_CONF/dkim/example.test
  assert_equal "$(stat -c '%a %U %G' "$d/s1-rsa.key")" "640 root mail"
  assert_equal "$(stat -c '%a %U %G' "$d/s1-ed.key")" "640 root mail"
  assert_equal "$(stat -c '%a %U %G' "$d")" "750 root mail"
  assert_equal "$(stat -c '%a %U %G' "$POCHTA_CONF/dkim")" "750 root mail"
  openssl pkey -in "$d/s1-rsa.key" -noout -text | grep -q '2048 bit'
  openssl pkey -in "$d/s1-ed.key" -noout -text | grep -q 'ED25519'
  run pochta dkim list
  assert_line "example.test s1-ed ed25519 signing"
  assert_line "example.test s1-rsa rsa signing"
  # the group may also come from the configuration (dkimgroup)
  echo mail >"$POCHTA_CONF/dkimgroup"
  pochta dkim new example.test s9 >/dev/null
  assert_equal "$(stat -c '%G' "$d/s9-rsa.key")" "mail"
  run pochta dkim new example.test s1
  assert_failure 100
  run pochta dkim new example.test 'BAD/base'
  assert_failure 100
}

@test "rotation: a second base is published first, then signs; the old one is retired only when it no longer signs" {
  pochta dkim new example.test s1 >/dev/null
  run pochta dkim new example.test s2
  assert_success
  assert_line "; once they are published: pochta dkim use example.test s2"
  run pochta dkim list example.test
  assert_line "example.test s1-rsa rsa signing"
  assert_line "example.test s2-rsa rsa published-only"
  run pochta dkim retire example.test s1
  assert_failure 100
  pochta dkim use example.test s2 >/dev/null
  run cat "$POCHTA_CONF/dkim/example.test/sign"
  assert_output $'s2-rsa\ns2-ed'
  run pochta dkim retire example.test s1
  assert_success
  [ ! -e "$POCHTA_CONF/dkim/example.test/s1-rsa.key" ]
  run pochta dkim use example.test s1
  assert_failure 100
}

@test "pochta dns prints MX, A/AAAA, PTR, SPF, every DKIM selector and DMARC with rua, as zone lines" {
  pochta dkim new example.test s1 >/dev/null
  run pochta dns example.test --ip4 192.0.2.10 --ip6 2001:db8::10
  assert_success
  assert_line "example.test. IN MX 10 mx.example.test."
  assert_line "mx.example.test. IN A 192.0.2.10"
  assert_line "mx.example.test. IN AAAA 2001:db8::10"
  assert_line "10.2.0.192.in-addr.arpa. IN PTR mx.example.test."
  assert_line "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. IN PTR mx.example.test."
  assert_line 'example.test. IN TXT "v=spf1 mx -all"'
  assert_line --regexp '^s1-rsa\._domainkey\.example\.test\. IN TXT '
  assert_line --regexp '^s1-ed\._domainkey\.example\.test\. IN TXT '
  assert_line '_dmarc.example.test. IN TXT "v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@example.test"'
  $PY "$CK_DIR/zone2dnsmasq.py" <<<"$output" >/dev/null
}

# serve what pochta dns prints, plus EXTRA dnsmasq lines
serve_zone() {
  ck_zone_reset
  pochta dns example.test --ip4 192.0.2.10 | $PY "$CK_DIR/zone2dnsmasq.py" >>"$BATS_TEST_TMPDIR/zone.conf"
  printf '%s\n' "$@" >>"$BATS_TEST_TMPDIR/zone.conf"
  ck_net_up
}

@test "mail signed with pochta dkim's keys verifies with dkimpy against the records pochta dns printed" {
  ck_need_root
  pochta dkim new example.test s1 >/dev/null
  serve_zone
  ck_msg "$BATS_TEST_TMPDIR/m" alice@example.test
  # as the signing step will: dkim_keys_load (the sign file) and dkim_sign_buf
  "$CHECKTOOL" signdomain "$POCHTA_CONF" example.test <"$BATS_TEST_TMPDIR/m" >"$BATS_TEST_TMPDIR/signed"
  run grep -c '^DKIM-Signature:' "$BATS_TEST_TMPDIR/signed"
  assert_output 2
  run ck $PY /usr/bin/dkimverify --index 0 <"$BATS_TEST_TMPDIR/signed"
  assert_output "signature ok"
  run ck $PY /usr/bin/dkimverify --index 1 <"$BATS_TEST_TMPDIR/signed"
  assert_output "signature ok"
  # after a rotation the new selectors sign, and verify once published
  pochta dkim new example.test s2 >/dev/null
  pochta dkim use example.test s2 >/dev/null
  ck_net_down
  serve_zone
  "$CHECKTOOL" signdomain "$POCHTA_CONF" example.test <"$BATS_TEST_TMPDIR/m" >"$BATS_TEST_TMPDIR/signed2"
  grep -q 's=s2-rsa;' "$BATS_TEST_TMPDIR/signed2"
  run ck $PY /usr/bin/dkimverify --index 0 <"$BATS_TEST_TMPDIR/signed2"
  assert_output "signature ok"
  run ck $PY /usr/bin/dkimverify --index 1 <"$BATS_TEST_TMPDIR/signed2"
  assert_output "signature ok"
}

@test "pochta check: all good when the zone holds what pochta dns printed and the certificate covers the MX name" {
  ck_need_root
  pochta dkim new example.test s1 >/dev/null
  make_cert "$POCHTA_CONF/tls" mx.example.test
  serve_zone
  run ck pochta check example.test --ip4 192.0.2.10
  echo "$output"
  assert_success
  assert_line "ok   MX of example.test is mx.example.test"
  assert_line "ok   PTR of 192.0.2.10 is mx.example.test, the host name (me) and the EHLO name"
  assert_line --regexp '^ok   SPF of example.test passes for 192.0.2.10'
  assert_line "ok   DKIM selector s1-rsa is published and signs"
  assert_line "ok   DKIM selector s1-ed is published and signs"
  assert_line --regexp '^ok   DMARC of example.test: v=DMARC1; p=quarantine'
  assert_line "ok   the certificate covers mx.example.test"
}

@test "pochta check says what is missing or wrong: PTR, DMARC, a DKIM key not published, the certificate's name" {
  ck_need_root
  pochta dkim new example.test s1 >/dev/null
  make_cert "$POCHTA_CONF/tls" other.example.test
  ck_zone_reset
  pochta dns example.test --ip4 192.0.2.10 | grep -v -e '^_dmarc' -e '^s1-ed' -e 'PTR' | $PY "$CK_DIR/zone2dnsmasq.py" >>"$BATS_TEST_TMPDIR/zone.conf"
  # host-record made the PTR: point it elsewhere with an explicit one first
  sed -i 's/^host-record=mx.example.test,192.0.2.10$/address=\/mx.example.test\/192.0.2.10/' "$BATS_TEST_TMPDIR/zone.conf"
  ck_rr 192.0.2.10 PTR vps-192-0-2-10.provider.test
  ck_net_up
  run ck pochta check example.test --ip4 192.0.2.10
  echo "$output"
  assert_failure 1
  assert_line "FIX  PTR of 192.0.2.10 is vps-192-0-2-10.provider.test, not mx.example.test (me, the EHLO name): ask the address's provider"
  assert_line "FIX  example.test has no DMARC record: see pochta dns example.test"
  assert_line "FIX  DKIM record s1-ed._domainkey.example.test is missing and the selector signs: see pochta dns example.test"
  assert_line "ok   DKIM selector s1-rsa is published and signs"
  assert_line --partial "does not cover mx.example.test"
}

@test "pochta check: a resolver that fails is a temporary failure (111), not a verdict" {
  pochta dkim new example.test s1 >/dev/null
  make_cert "$POCHTA_CONF/tls" mx.example.test
  echo "nameserver 127.0.0.1" >"$BATS_TEST_TMPDIR/resolv"
  # a port where nobody answers: every lookup fails
  POCHTA_DNS=127.0.0.1#9 POCHTA_DNS_TIMEOUT=100 run pochta check example.test --ip4 192.0.2.10
  echo "$output"
  assert_failure 111
  assert_line --partial "TEMP lookup of example.test failed"
  refute_line --regexp '^FIX .*(MX|PTR|SPF|DMARC)'
}
