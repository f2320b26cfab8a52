#!/usr/bin/env bats
# pochta-remote's address families (issue 12): remotefamily ipv4/ipv6/both,
# the source address per family, and a family that fails to connect
# remembered in <rundir>/remote-family, so that the next message does not wait
# the connect timeout again. In network namespaces (tests/netns/remote-lib.bash):
# dual.test's MX dual.b.test has 10.77.0.2 and fd77::2; IPv6 is broken on
# host a by routing fd77::/64 through a router that does not exist.

load helpers
load netns/remote-lib

setup() {
  pr_need_root
  command -v pochta-remote >/dev/null || skip "pochta-remote not built"
  pr_net_up
  pr_dns
  MSG="$BATS_TEST_TMPDIR/msg"
  printf 'From: alice@a.test\nSubject: families\n\nover some family\n' >"$MSG"
  RCONF="$BATS_TEST_TMPDIR/rconf-a"
  mkdir -p "$RCONF" "$BATS_TEST_TMPDIR/run-a"
  echo mx.a.test >"$RCONF/me"
  echo "$BATS_TEST_TMPDIR/run-a" >"$RCONF/rundir"
  export POCHTA_REMOTE_TIMEOUTS="connect=2 greeting=5 mail=5 rcpt=5 data=5 block=5 dot=5"
}

teardown() {
  stop_all
  pr_net_down
}

# deliver N: pochta-remote on host a to alice@dual.test; its log in remote-N.err
deliver() {
  local n=$1; shift
  ip netns exec "$PR-a" env POCHTA_CONF="$RCONF" POCHTA_DNS=10.77.0.53 "$@" \
    pochta-remote dual.test alice@a.test alice@dual.test <"$MSG" 2>"$BATS_TEST_TMPDIR/remote-$n.err"
}
dnslog() { cat "$BATS_TEST_TMPDIR/dnsmasq/log"; }
# to_v6 N: the same to x@v6.test (its MX has an IPv6 address alone)
to_v6() {
  ip netns exec "$PR-a" env POCHTA_CONF="$RCONF" POCHTA_DNS=10.77.0.53 \
    pochta-remote v6.test a@a.test x@v6.test <"$MSG" 2>"$BATS_TEST_TMPDIR/remote-$1.err"
}

# v6_peer: a scriptable SMTP peer on [fd77::2]:25 (host b)
v6_peer() {
  ip netns exec "$PR-b" python3 "$NETNS_DIR/fakesmtp.py" --bind '[fd77::2]:25' --log "$BATS_TEST_TMPDIR/v6.smtp" \
    >/dev/null 2>>"$BATS_TEST_TMPDIR/v6.log" &
  echo $! >"$BATS_TEST_TMPDIR/v6.pid"
  wait_for 10 ip netns exec "$PR-b" python3 -c "import socket; socket.create_connection(('fd77::2', 25), 1)"
}

# break_v6: host a routes fd77::/64 through a router that is not there
break_v6() {
  ip -n "$PR-a" -6 route del fd77::/64 dev eth0
  ip -n "$PR-a" -6 route add fd77::/64 via fe80::99 dev eth0
}

@test "families: remotefamily ipv4 asks A only and connects over IPv4" {
  pr_pochta b mx.b.test dual.test
  echo ipv4 >"$RCONF/remotefamily"
  run deliver 1
  assert_success
  assert_output --regexp $'^Kalice@dual.test\t250 2.0.0 Ok: queued as [0-9a-f]{16}\tdual.b.test\\[10.77.0.2\\]$'
  grep -q 'event=connect host=dual.b.test ip=10.77.0.2 port=25 result=ok' "$BATS_TEST_TMPDIR/remote-1.err"
  run dnslog
  assert_line --partial 'query[A] dual.b.test from'
  refute_line --partial 'query[AAAA] dual.b.test'
}

@test "families: remotefamily ipv6 asks AAAA only and connects over IPv6; IPv6-only without it is temporary" {
  v6_peer
  echo ipv6 >"$RCONF/remotefamily"
  run deliver 1
  assert_success
  assert_output $'Kalice@dual.test\t250 2.0.0 queued\tdual.b.test[fd77::2]'
  run dnslog
  assert_line --partial 'query[AAAA] dual.b.test from'
  refute_line --partial 'query[A] dual.b.test'
  # an IPv6-only destination under remotefamily ipv4: a temporary failure that names why
  echo ipv4 >"$RCONF/remotefamily"
  run to_v6 v6-4
  assert_output $'Zx@v6.test\t4.4.4 no MX host of v6.test has an IPv4 address (remotefamily)'
}

@test "families: a broken IPv6 path costs the connect timeout once; later messages skip IPv6 until the hold ends" {
  pr_pochta b mx.b.test dual.test
  break_v6
  # the first message: IPv6 first, it times out, IPv4 takes the mail; IPv6 is remembered
  run deliver 1
  assert_success
  assert_output --regexp $'^Kalice@dual.test\t250 .*\tdual.b.test\\[10.77.0.2\\]$'
  run cat "$BATS_TEST_TMPDIR/remote-1.err"
  assert_line --regexp 'event=connect host=dual.b.test ip=fd77::2 reason="connect: (timed out|No route to host)"'
  assert_line --partial 'event=connect host=dual.b.test ip=10.77.0.2 port=25 result=ok'
  assert_line --partial 'event=family result="ipv6 failed: skipped where a host has other addresses"'
  run cat "$BATS_TEST_TMPDIR/run-a/remote-family"
  assert_output --regexp '^ipv6 [0-9]+$'
  # the second: no IPv6 connect at all
  run deliver 2
  assert_success
  run cat "$BATS_TEST_TMPDIR/remote-2.err"
  assert_line --partial 'event=skip host=dual.b.test ip=fd77::2 reason="IPv6 failed recently (remote-family)"'
  refute_line --partial 'event=connect host=dual.b.test ip=fd77::2'
  assert_line --partial 'event=connect host=dual.b.test ip=10.77.0.2 port=25 result=ok'
  # once the hold is over IPv6 is tried again (family=1: one second)
  echo "ipv6 $(( $(date +%s) + 1 ))" >"$BATS_TEST_TMPDIR/run-a/remote-family"
  sleep 2
  run deliver 3
  assert_success
  run cat "$BATS_TEST_TMPDIR/remote-3.err"
  assert_line --partial 'event=connect host=dual.b.test ip=fd77::2'
  # family=0: nothing remembered
  rm -f "$BATS_TEST_TMPDIR/run-a/remote-family"
  run deliver 4 POCHTA_REMOTE_TIMEOUTS="connect=2 family=0"
  assert_success
  [ ! -e "$BATS_TEST_TMPDIR/run-a/remote-family" ]
}

@test "families: a host with IPv6 addresses alone is still tried while IPv6 is remembered, and a success forgets it" {
  v6_peer
  echo "ipv6 $(( $(date +%s) + 600 ))" >"$BATS_TEST_TMPDIR/run-a/remote-family"
  run to_v6 v6
  assert_success
  assert_output $'Kx@v6.test\t250 2.0.0 queued\tv6.b.test[fd77::2]'
  run cat "$BATS_TEST_TMPDIR/remote-v6.err"
  refute_line --partial 'event=skip'
  assert_line --partial 'event=family result="ipv6 connects again"'
  [ ! -s "$BATS_TEST_TMPDIR/run-a/remote-family" ]
}

@test "families: the source address per family; one that is not configured fails that family at once" {
  pr_pochta b mx.b.test dual.test
  ip -n "$PR-a" addr add 10.77.0.5/24 dev eth0
  echo 10.77.0.5 >"$RCONF/remotesource4"
  echo fd77::55 >"$RCONF/remotesource6"   # not an address of host a
  run deliver 1
  assert_success
  assert_output --regexp $'^Kalice@dual.test\t250 .*\tdual.b.test\\[10.77.0.2\\]$'
  run cat "$BATS_TEST_TMPDIR/remote-1.err"
  # (glibc and musl word EADDRNOTAVAIL differently)
  assert_line --regexp 'event=connect host=dual\.b\.test ip=fd77::2 reason="bind to the source address: (Cannot assign requested address|Address not available)"'
  assert_line --partial 'event=family result="ipv6 failed: skipped where a host has other addresses"'
  grep -q 'pochta-smtpd: event=connect .*ip=10.77.0.5 ' "$BATS_TEST_TMPDIR/b-smtpd.log"
  # bad settings are temporary failures with a reason
  echo 'both ways' >"$RCONF/remotefamily"
  run deliver 2
  assert_output $'Zalice@dual.test\t4.3.5 bad remotefamily (ipv4, ipv6 or both)'
  echo both >"$RCONF/remotefamily"
  echo 10.77.0 >"$RCONF/remotesource4"
  run deliver 3
  assert_output $'Zalice@dual.test\t4.3.5 bad remotesource4 (an IPv4 address)'
}
