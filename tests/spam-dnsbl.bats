#!/usr/bin/env bats
# DNS block and allow lists against a real DNS server the test starts (dnsmasq on
# loopback, answering only for its test zones): listed with the rule's return
# codes, not listed (NXDOMAIN), an allow list's negative weight, URL domains, the
# list's refusal codes, a nameserver that does not answer (a temporary failure:
# no score, logged, within the DNS budget).

load helpers
load spam/lib

setup() {
  [ -x "$SPAMTEST" ] || skip "spam-test not built"
  instance_new
  printf 'From: a@sender.test\nTo: alice@example.test\nSubject: hi\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <1@sender.test>\n\nsee http://www.bad-shop.test/offer and http://fine.test/\n' >"$BATS_TEST_TMPDIR/m"
  cat >"$POCHTA_CONF/spamrules" <<'EOR'
dnsbl ZEN_SBL 4 zen.bl.test 127.0.0.2-3
dnsbl ZEN_PBL 1 zen.bl.test 127.0.0.10-11
dnsbl OTHER 2 other.bl.test
dnswl WL_HI -3 wl.test 127.0.*.2-3
urlbl DBL 3 dbl.test 127.0.1.2-99
EOR
}
teardown() { stop_all; }

@test "dnsbl: the resolver alone: records, NXDOMAIN, nobody answering" {
  start_dnsmasq host-record=2.0.0.127.zen.bl.test,127.0.0.2 'address=/multi.test/127.0.0.4'
  run "$SPAMTEST" dns 2.0.0.127.zen.bl.test
  assert_output "ok 127.0.0.2"
  run "$SPAMTEST" dns 3.0.0.127.zen.bl.test
  assert_output nxdomain
  run "$SPAMTEST" dns x.MULTI.test.
  assert_output "ok 127.0.0.4"
  # nothing listens there: temporary, not NXDOMAIN
  POCHTA_DNS="127.0.0.1#$(free_port_of SOCK_DGRAM)" run "$SPAMTEST" dns 2.0.0.127.zen.bl.test
  assert_output temp
}

@test "dnsbl: a listed client scores the rule's weight; its other codes do not; NXDOMAIN nothing" {
  start_dnsmasq host-record=10.2.0.192.zen.bl.test,127.0.0.2 host-record=11.2.0.192.zen.bl.test,127.0.0.10 \
    host-record=11.2.0.192.other.bl.test,127.0.0.5
  run pochta spam check --ip 192.0.2.10 <"$BATS_TEST_TMPDIR/m"
  assert_line "X-Spam-Score: 4.0"
  assert_line --partial "tests=ZEN_SBL=4.0"
  run pochta spam check --ip 192.0.2.11 <"$BATS_TEST_TMPDIR/m"
  assert_line "X-Spam-Score: 3.0"
  assert_line --partial "tests=ZEN_PBL=1.0,OTHER=2.0"
  run pochta spam check --ip 192.0.2.12 <"$BATS_TEST_TMPDIR/m"
  assert_line "X-Spam-Score: 0.0"
  grep -q "query\[A\] 12.2.0.192.zen.bl.test" "$BATS_TEST_TMPDIR/dnsmasq/log"
}

@test "dnsbl: an allow list takes score away; IPv6 clients are asked in nibbles" {
  start_dnsmasq host-record=20.2.0.192.wl.test,127.0.15.2 \
    host-record=1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.bl.test,127.0.0.3
  run pochta spam check --ip 192.0.2.20 <"$BATS_TEST_TMPDIR/m"
  assert_line "X-Spam-Score: -3.0"
  assert_line --partial "tests=WL_HI=-3.0"
  run pochta spam check --ip 2001:db8::1 <"$BATS_TEST_TMPDIR/m"
  assert_line "X-Spam-Score: 4.0"
}

@test "dnsbl: URL domains in a domain list; a list's refusal code (127.255.255.x) counts nothing and is logged" {
  start_dnsmasq host-record=bad-shop.test.dbl.test,127.0.1.2 host-record=30.2.0.192.zen.bl.test,127.255.255.254
  run pochta spam check --ip 192.0.2.30 <"$BATS_TEST_TMPDIR/m"
  assert_line "X-Spam-Score: 3.0"
  assert_line --partial "tests=DBL=3.0"
  assert_line --partial "dns=zen.bl.test:refused"
}

@test "dnsbl: a nameserver that never answers: no score, a temporary failure noted, within the DNS budget" {
  python3 -c 'import socket,time,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1], flush=True); time.sleep(60)' >"$BATS_TEST_TMPDIR/silent.port" &
  echo $! >"$BATS_TEST_TMPDIR/silent.pid"
  wait_for 5 test -s "$BATS_TEST_TMPDIR/silent.port"
  export POCHTA_DNS="127.0.0.1#$(cat "$BATS_TEST_TMPDIR/silent.port")"
  printf 'dns-timeout 300\ndns-budget 700\n' >"$POCHTA_CONF/spam"
  start=$(date +%s%N)
  run pochta spam check --ip 192.0.2.10 <"$BATS_TEST_TMPDIR/m"
  end=$(date +%s%N)
  echo "took $(( (end - start) / 1000000 )) ms"
  assert_line --index 0 accept
  assert_line "X-Spam-Score: 0.0"
  assert_line --partial "dns=wl.test:temp"
  assert_line --partial ":budget"
}

@test "dnsbl: a hostile nameserver (wrong ids, garbage, truncation, lies about the question) is a temporary failure" {
  for mode in wrongid garbage truncated otherq servfail; do
    python3 - "$mode" >"$BATS_TEST_TMPDIR/hostile.port" 2>>"$BATS_TEST_TMPDIR/hostile.log" <<'PY' &
import socket, struct, sys
mode = sys.argv[1]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    q, a = s.recvfrom(1500)
    qid, body = q[:2], q[12:]
    rr = b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x7f\x00\x00\x02"
    if mode == "wrongid":
        r = bytes([q[0] ^ 1, q[1]]) + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + body + rr
    elif mode == "garbage":
        r = qid + bytes(range(256)) * 4
    elif mode == "truncated":
        r = qid + b"\x83\x80\x00\x01\x00\x01\x00\x00\x00\x00" + body + rr
    elif mode == "otherq":
        r = qid + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + b"\x04evil\x04test\x00\x00\x01\x00\x01" + rr
    else:
        r = qid + b"\x81\x82\x00\x01\x00\x00\x00\x00\x00\x00" + body
    s.sendto(r, a)
PY
    echo $! >"$BATS_TEST_TMPDIR/hostile.pid"
    wait_for 5 test -s "$BATS_TEST_TMPDIR/hostile.port"
    POCHTA_DNS="127.0.0.1#$(cat "$BATS_TEST_TMPDIR/hostile.port")" run "$SPAMTEST" dns 2.0.0.127.zen.bl.test
    echo "$mode: $output"
    assert_output temp
    stop hostile
    rm -f "$BATS_TEST_TMPDIR/hostile.port"
  done
}
