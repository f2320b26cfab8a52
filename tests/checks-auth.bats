#!/usr/bin/env bats
# SPF, DMARC, ARC, iprev and the Authentication-Results field, through dns/ against
# records that dnsmasq serves in a network namespace; and the RFC 7208 test suite
# (pyspf's YAML, shipped by python3-spf) through a table of records.

load helpers
load checks/lib

setup() { ck_zone_reset; }
teardown() { ck_net_down; stop_all; }

@test "RFC 7208 test suite (python3-spf's rfc7208-tests.yml): every case" {
  [ -f /usr/share/doc/python3-spf/rfc7208-tests.yml.gz ] || skip "python3-spf missing"
  run $PY "$CK_DIR/rfc7208.py" "$SPFTEST"
  echo "$output" | tail -5
  assert_success
  assert_line --regexp '^[0-9]+ passed, 0 failed$'
}

spf_zone() {
  ck_rr pass.test TXT "v=spf1 ip4:192.0.2.10 -all"
  ck_rr soft.test TXT "v=spf1 ~all"
  ck_rr neutral.test TXT "v=spf1 ?all"
  ck_rr nospf.test A 192.0.2.99
  ck_rr syntax.test TXT "v=spf1 ip4:999.1.1.1 -all"
  ck_rr two.test TXT "v=spf1 -all"
  ck_rr two.test TXT "v=spf1 +all"
  ck_rr inc.test TXT "v=spf1 include:pass.test -all"
  ck_rr red.test TXT "v=spf1 redirect=pass.test"
  ck_rr mx.test TXT "v=spf1 mx -all"
  ck_rr mx.test MX 10 mail.mx.test
  ck_rr mail.mx.test A 192.0.2.11
  local i inc=""
  for i in 1 2 3 4 5 6 7 8 9 10 11; do ck_rr "l$i.test" TXT "v=spf1 ?all"; inc="$inc include:l$i.test"; done
  ck_rr limit.test TXT "v=spf1$inc -all"
  inc=""
  for i in 1 2 3 4 5 6 7 8 9 10; do inc="$inc include:l$i.test"; done
  ck_rr atlimit.test TXT "v=spf1$inc ip4:192.0.2.10 -all"
  ck_rr void.test TXT "v=spf1 a:nx1.void.test a:nx2.void.test a:nx3.void.test -all"
  ck_rr loop.test TXT "v=spf1 include:loop.test -all"
  ck_rr mac.test TXT "v=spf1 exists:%{ir}.%{l1r-}.lp._spf.%{d} -all exp=why.mac.test"
  ck_rr why.mac.test TXT "%{l} may not send from %{i} for %{d}"
  ck_rr 10.2.0.192.alice.lp._spf.mac.test A 127.0.0.2
  ck_rr tmp.test TXT "v=spf1 include:x.broken.test -all"
  ck_rr mail.pass.test TXT "v=spf1 ip4:192.0.2.10 -all"
}

# spf IP MAIL-FROM [HELO]: the MAIL FROM result in $output's first field
spf() { run ck "$SPFTEST" <<<"$1	$2	${3:-mail.pass.test}"; result=${output%%	*}; }

@test "SPF through dns/ and dnsmasq: pass, fail, softfail, neutral, none, include, redirect, mx" {
  ck_need_root
  spf_zone
  ck_net_up
  spf 192.0.2.10 a@pass.test; assert_equal "$result" pass
  spf 192.0.2.66 a@pass.test; assert_equal "$result" fail
  spf 192.0.2.66 a@soft.test; assert_equal "$result" softfail
  spf 192.0.2.66 a@neutral.test; assert_equal "$result" neutral
  spf 192.0.2.66 a@nospf.test; assert_equal "$result" none
  spf 192.0.2.66 a@nowhere.test; assert_equal "$result" none
  spf 192.0.2.10 a@inc.test; assert_equal "$result" pass
  spf 192.0.2.66 a@inc.test; assert_equal "$result" fail
  spf 192.0.2.10 a@red.test; assert_equal "$result" pass
  spf 192.0.2.11 a@mx.test; assert_equal "$result" pass
  spf 192.0.2.10 a@mx.test; assert_equal "$result" fail
  # the null sender is checked as postmaster@HELO; the HELO result is the fourth field
  spf 192.0.2.10 "" mail.pass.test; assert_equal "$result" pass
  assert_output --regexp '	pass$'
}

@test "SPF permerror (syntax, two records, lookup and void limits, loops) and temperror (DNS failure)" {
  ck_need_root
  spf_zone
  ck_net_up
  spf 192.0.2.10 a@syntax.test; assert_equal "$result" permerror
  spf 192.0.2.10 a@two.test; assert_equal "$result" permerror
  spf 192.0.2.10 a@limit.test; assert_equal "$result" permerror
  assert_output --partial "more than 10 DNS lookups"
  spf 192.0.2.10 a@atlimit.test; assert_equal "$result" pass
  spf 192.0.2.10 a@void.test; assert_equal "$result" permerror
  assert_output --partial "void lookups"
  spf 192.0.2.10 a@loop.test; assert_equal "$result" permerror
  spf 192.0.2.10 a@tmp.test; assert_equal "$result" temperror
  spf 192.0.2.10 a@x.broken.test; assert_equal "$result" temperror
}

@test "SPF macros: %{ir} %{l1r-} %{d} in exists:, and the explanation of a fail" {
  ck_need_root
  spf_zone
  ck_net_up
  spf 192.0.2.10 alice@mac.test; assert_equal "$result" pass
  spf 192.0.2.10 bob@mac.test; assert_equal "$result" fail
  assert_output --partial "bob may not send from 192.0.2.10 for mac.test"
  spf 192.0.2.11 alice@mac.test; assert_equal "$result" fail
}

@test "DMARC's organizational domain comes from the public suffix list (libpsl, Debian's publicsuffix)" {
  run "$CHECKTOOL" orgdomain a.b.example.co.uk www.example.com mail.example.test co.uk Example.ORG. x.y.z.example.com.au
  assert_line "a.b.example.co.uk example.co.uk"
  assert_line "www.example.com example.com"
  assert_line "mail.example.test example.test"
  assert_line "co.uk co.uk"
  assert_line "Example.ORG. example.org"
  assert_line "x.y.z.example.com.au example.com.au"
  # wildcard and exception rules (*.kawasaki.jp, !city.kawasaki.jp; *.ck, !www.ck),
  # a rule written in Unicode (中国) met as its A-label, the private section
  run "$CHECKTOOL" orgdomain a.b.kawasaki.jp a.kawasaki.jp www.city.kawasaki.jp b.c.ck www.ck \
    www.example.xn--fiqs8s xn--fiqs8s x.y.github.io
  assert_line "a.b.kawasaki.jp a.b.kawasaki.jp"
  assert_line "a.kawasaki.jp a.kawasaki.jp"
  assert_line "www.city.kawasaki.jp city.kawasaki.jp"
  assert_line "b.c.ck b.c.ck"
  assert_line "www.ck www.ck"
  assert_line "www.example.xn--fiqs8s example.xn--fiqs8s"
  assert_line "xn--fiqs8s xn--fiqs8s"
  assert_line "x.y.github.io y.github.io"
  # no list at all: the last label is the public suffix
  POCHTA_PSL=/nonexistent run "$CHECKTOOL" orgdomain a.b.example.co.uk
  assert_line "a.b.example.co.uk co.uk"
}

dmarc_zone() {
  ck_keys "$BATS_TEST_TMPDIR/k"
  ck_rr _dmarc.example.test TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.test"
  ck_rr example.test TXT "v=spf1 ip4:192.0.2.10 -all"
  ck_rr mail.example.test A 192.0.2.10
  ck_rr other.test TXT "v=spf1 ip4:192.0.2.20 -all"
  ck_rr mail.other.test A 192.0.2.20
  ck_rr _dmarc.quar.test TXT "v=DMARC1; p=quarantine"
  ck_rr quar.test TXT "v=spf1 -all"
  ck_rr _dmarc.pct.test TXT "v=DMARC1; p=quarantine; pct=0"
  ck_rr _dmarc.org.test TXT "v=DMARC1; p=none; sp=reject"
  ck_rr _dmarc.strict.test TXT "v=DMARC1; p=reject; aspf=s"
  ck_rr strict.test TXT "v=spf1 -all"
  ck_rr sub.strict.test TXT "v=spf1 ip4:192.0.2.20 -all"
  ck_rr relaxed.test TXT "v=spf1 -all"
  ck_rr _dmarc.relaxed.test TXT "v=DMARC1; p=reject"
  ck_rr sub.relaxed.test TXT "v=spf1 ip4:192.0.2.20 -all"
}

# run_checks FROM-HEADER-ADDRESS MAIL-FROM IP [more checktool options] (message from $MSG or a new one)
run_checks() {
  local from=$1 mf=$2 ip=$3; shift 3
  [ -n "${MSG:-}" ] || { ck_msg "$BATS_TEST_TMPDIR/m" "$from"; MSG=$BATS_TEST_TMPDIR/m; }
  run ck "$CHECKTOOL" run --ip "$ip" --helo mail.other.test --from "$mf" --id mx.pochta.test "$@" <"$MSG"
  MSG=
  # the A-R field unfolded, so that assertions do not depend on where it folds
  output=$(printf '%s\n' "$output" | sed -e ':a' -e 'N' -e '$!ba' -e 's/\n\t/ /g')
  mapfile -t lines <<<"$output"
}

@test "DMARC: a spoofed From of a p=reject domain is refused with 550 5.7.1 at the end of DATA" {
  ck_need_root
  dmarc_zone
  ck_net_up
  run_checks alice@example.test x@other.test 192.0.2.20
  assert_line "verdict=reject"
  assert_line --regexp '^reply=550 5\.7\.1 DMARC policy of example\.test rejects'
  assert_output --partial "spf=pass"
  assert_output --regexp "dmarc=fail \(p=reject dis=reject\)"
  assert_output --partial "header.from=example.test"
}

@test "DMARC pass: aligned DKIM (pochta's signature) from anywhere, or aligned SPF (relaxed: a subdomain)" {
  ck_need_root
  dmarc_zone
  ck_net_up
  ck_msg "$BATS_TEST_TMPDIR/m" alice@example.test
  "$CHECKTOOL" sign -k "$BATS_TEST_TMPDIR/k/r1.pem:example.test:r1" <"$BATS_TEST_TMPDIR/m" >"$BATS_TEST_TMPDIR/signed"
  MSG=$BATS_TEST_TMPDIR/signed run_checks - x@other.test 192.0.2.20
  assert_line "verdict=accept"
  assert_output --partial "dkim=pass header.d=example.test header.s=r1"
  assert_output --regexp "dmarc=pass \(p=reject dis=none\)"
  run_checks alice@example.test bounce@example.test 192.0.2.10
  assert_line "verdict=accept"
  assert_output --partial "dmarc=pass"
  run_checks alice@relaxed.test x@sub.relaxed.test 192.0.2.20
  assert_line "verdict=accept"
  run_checks alice@strict.test x@sub.strict.test 192.0.2.20
  assert_line "verdict=reject"
}

@test "DMARC quarantine goes to Junk; pct=0 downgrades it; sp= governs subdomains; no record: nothing done" {
  ck_need_root
  dmarc_zone
  ck_net_up
  run_checks bob@quar.test x@other.test 192.0.2.20
  assert_line "verdict=quarantine"
  run_checks bob@pct.test x@other.test 192.0.2.20
  assert_line "verdict=accept"
  assert_output --regexp "dmarc=fail \(p=quarantine dis=none\)"
  run_checks bob@sub.org.test x@other.test 192.0.2.20
  assert_line "verdict=reject"
  run_checks bob@org.test x@other.test 192.0.2.20
  assert_line "verdict=accept"
  run_checks bob@nodmarc.test x@other.test 192.0.2.20
  assert_line "verdict=accept"
  assert_output --partial "dmarc=none"
}

@test "DMARC: a DNS failure is a 451, never a pass and never a 5xx; several From fields are refused" {
  ck_need_root
  dmarc_zone
  ck_net_up
  run_checks alice@x.broken.test x@other.test 192.0.2.20
  assert_line "verdict=tempfail"
  assert_line --regexp '^reply=451 4\.7\.5 '
  assert_output --partial "dmarc=temperror"
  printf 'From: alice@example.test\nFrom: eve@other.test\nSubject: two\n\nx\n' >"$BATS_TEST_TMPDIR/two"
  MSG=$BATS_TEST_TMPDIR/two run_checks - x@other.test 192.0.2.20
  assert_line "verdict=reject"
  assert_line --partial "several From fields"
}

@test "ARC: a list that changes the message and seals it is trusted only when configured; dkimpy agrees on the seals" {
  ck_need_root
  dmarc_zone
  "$CHECKTOOL" keygen rsa >"$BATS_TEST_TMPDIR/list.pem"
  ck_rr arc._domainkey.lists.test TXT "$("$CHECKTOOL" record "$BATS_TEST_TMPDIR/list.pem")"
  ck_rr lists.test TXT "v=spf1 ip4:192.0.2.30 -all"
  ck_net_up
  ck_msg "$BATS_TEST_TMPDIR/m" alice@example.test
  "$CHECKTOOL" sign -k "$BATS_TEST_TMPDIR/k/r1.pem:example.test:r1" <"$BATS_TEST_TMPDIR/m" >"$BATS_TEST_TMPDIR/signed"
  # the list receives it from example.test's host, then tags the subject and adds a footer
  sed -e 's/^Subject: /Subject: [list] /' "$BATS_TEST_TMPDIR/signed" >"$BATS_TEST_TMPDIR/changed"
  echo "-- the list footer" >>"$BATS_TEST_TMPDIR/changed"
  ck "$CHECKTOOL" seal -k "$BATS_TEST_TMPDIR/list.pem:lists.test:arc" --ip 192.0.2.10 --helo mail.example.test \
    --from alice@example.test --id lists.test <"$BATS_TEST_TMPDIR/changed" >"$BATS_TEST_TMPDIR/sealed"
  run ck $PY /usr/bin/arcverify <"$BATS_TEST_TMPDIR/sealed"
  assert_output --partial "cv=b'pass'"
  MSG=$BATS_TEST_TMPDIR/sealed run_checks - list-bounces@lists.test 192.0.2.30
  assert_line "verdict=reject"
  assert_output --partial "arc=pass"
  MSG=$BATS_TEST_TMPDIR/sealed run_checks - list-bounces@lists.test 192.0.2.30 --trusted lists.test
  assert_line "verdict=accept"
  assert_output --partial "dmarc=fail (p=reject dis=none, overridden: ARC sealed by lists.test)"
  # dkimpy seals on top (CRLF: its sealer writes CRLF fields), pochta validates the chain of 2
  sed 's/$/\r/' "$BATS_TEST_TMPDIR/sealed" | sed '1i Authentication-Results: hop2.test; arc=pass\r' >"$BATS_TEST_TMPDIR/pre2"
  ck $PY /usr/bin/arcsign arc lists.test "$BATS_TEST_TMPDIR/list.pem" hop2.test <"$BATS_TEST_TMPDIR/pre2" >"$BATS_TEST_TMPDIR/sealed2" 2>/dev/null
  run ck "$CHECKTOOL" arc <"$BATS_TEST_TMPDIR/sealed2"
  assert_success
  assert_output --partial "arc=pass n=2 sealer=lists.test"
  sed 's/the list footer/a changed footer/' "$BATS_TEST_TMPDIR/sealed2" >"$BATS_TEST_TMPDIR/broken"
  run ck "$CHECKTOOL" arc <"$BATS_TEST_TMPDIR/broken"
  assert_failure
  assert_output --partial "arc=fail"
}

@test "iprev: confirmed, unconfirmed (PTR without a matching address), no PTR; A-R field and claims" {
  ck_need_root
  dmarc_zone
  ck_rr 192.0.2.40 PTR liar.test
  ck_net_up
  run_checks alice@example.test bounce@example.test 192.0.2.10
  assert_output --partial "iprev=pass policy.iprev=192.0.2.10 (mail.example.test)"
  assert_line --regexp '^Authentication-Results: mx\.pochta\.test; iprev=pass'
  run_checks alice@example.test bounce@example.test 192.0.2.40
  assert_output --partial "iprev=fail policy.iprev=192.0.2.40 (liar.test)"
  run_checks alice@example.test bounce@example.test 192.0.2.41
  assert_output --partial "iprev=permerror policy.iprev=192.0.2.41"
  printf 'Authentication-Results: mx.pochta.test; dkim=pass\nAuthentication-Results:  (c) "MX.Pochta.Test" 1; spf=pass\nAuthentication-Results: other.example; dkim=pass\nX-Authentication-Results: mx.pochta.test\nFrom: a@example.test\n\nx\n' >"$BATS_TEST_TMPDIR/ar"
  run "$CHECKTOOL" claims mx.pochta.test <"$BATS_TEST_TMPDIR/ar"
  assert_equal "${lines[0]}" "drop Authentication-Results"
  assert_equal "${lines[1]}" "drop Authentication-Results"
  assert_equal "${lines[2]}" "keep Authentication-Results"
  assert_equal "${lines[3]}" "keep X-Authentication-Results"
  assert_equal "${lines[4]}" "keep From"
}
