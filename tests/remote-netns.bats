#!/usr/bin/env bats
# pochta-remote and pochta-bounce across three hosts in network namespaces
# ($PR-a, $PR-b, $PR-c on 10.77.0.0/24, a private range that exists only
# inside them), with dnsmasq answering MX/A for the test domains, pochta on
# a.test and b.test, Postfix on c.test. Needs root (ip netns).

load helpers
load netns/remote-lib

setup() {
  pr_need_root
  command -v pochta >/dev/null && command -v pochta-smtpd >/dev/null && command -v pochta-send >/dev/null \
    || skip "pochta, pochta-smtpd or pochta-send not built"
  pr_net_up
  pr_dns
  MSG="$BATS_TEST_TMPDIR/msg"
  printf 'From: alice@a.test\nTo: someone\nSubject: across hosts\n\nhello over the wire\n' >"$MSG"
  export POCHTA_REMOTE_TIMEOUTS="connect=2 greeting=5 mail=5 rcpt=5 data=5 block=5 dot=5"
}

teardown() {
  stop_all
  pr_net_down
  pr_postfix_stop
}

carol_has_mail() { [ -n "$(find "$PF/vmail/carol" -type f 2>/dev/null)" ]; }

# remote_on HOST DOMAIN SENDER RCPT...: pochta-remote run on HOST
remote_on() {
  local h=$1; shift
  local conf; conf=$(eval echo "\${CONF_$h:-}")
  [ -n "$conf" ] || { conf="$BATS_TEST_TMPDIR/rconf-$h"; mkdir -p "$conf"; echo "mx.$h.test" >"$conf/me"; }
  ip netns exec "$PR-$h" env POCHTA_CONF="$conf" POCHTA_DNS=10.77.0.53 pochta-remote "$@" <"$MSG" \
    2>>"$BATS_TEST_TMPDIR/remote-$h.err"
}

@test "netns: a.test delivers to b.test's MX (pochta), over STARTTLS" {
  pr_pochta b mx.b.test b.test
  run remote_on a b.test alice@a.test alice@b.test
  assert_success
  assert_output --regexp $'^Kalice@b.test\t250 2.0.0 Ok: queued as [0-9a-f]{16}\tmx.b.test\\[10.77.0.2\\]$'
  run cat "$BATS_TEST_TMPDIR/remote-a.err"
  assert_line --partial 'event=connect host=mx.b.test ip=10.77.0.2 port=25 result=ok'
  assert_line --partial 'event=tls host=mx.b.test ip=10.77.0.2 result=ok protocol=TLSv1.2'
  assert_line --partial 'verified=no verify_error='
  wait_for 20 pr_has b alice@b.test 1
  run pr_mail b alice@b.test
  assert_line 'hello over the wire'
}

@test "netns: first MX unreachable, the second takes the mail" {
  pr_pochta b mx.b.test down.test
  run remote_on a down.test alice@a.test alice@down.test
  assert_success
  assert_output --regexp $'^Kalice@down.test\t250 '
  run cat "$BATS_TEST_TMPDIR/remote-a.err"
  assert_line --partial 'event=dns domain=down.test targets=2'
  assert_line --regexp 'event=connect host=dead.down.test ip=10.77.0.99 reason=.*'
  assert_line --partial 'event=connect host=mx.b.test ip=10.77.0.2 port=25 result=ok'
}

@test "netns: no MX, so the domain's own A record" {
  pr_pochta b mx.b.test amx.test
  run remote_on a amx.test alice@a.test alice@amx.test
  assert_success
  assert_output --regexp $'^Kalice@amx.test\t250 '
  run cat "$BATS_TEST_TMPDIR/remote-a.err"
  assert_line --partial 'event=connect host=amx.test ip=10.77.0.2 port=25 result=ok'
}

@test "netns: null MX is an immediate permanent failure; no such domain too" {
  run remote_on a nullmx.test alice@a.test x@nullmx.test y@nullmx.test
  assert_success
  assert_line --index 0 $'Dx@nullmx.test\t5.1.10 domain nullmx.test accepts no mail (null MX)'
  assert_line --index 1 $'Dy@nullmx.test\t5.1.10 domain nullmx.test accepts no mail (null MX)'
  run remote_on a nosuch.test alice@a.test x@nosuch.test
  assert_output $'Dx@nosuch.test\t5.1.2 domain nosuch.test has no MX and no address'
}

@test "netns: an unreachable MX is a temporary failure" {
  run remote_on a unreach.test alice@a.test x@unreach.test
  assert_success
  assert_output --regexp $'^Zx@unreach.test\t4.4.1 dead.unreach.test \\[10.77.0.99\\]: connect: '
}

@test "netns: a.test delivers to Postfix on c.test over STARTTLS" {
  pr_postfix
  run remote_on a c.test alice@a.test carol@c.test nobody@c.test
  assert_success
  assert_line --index 0 --regexp $'^Kcarol@c.test\t250 2.0.0 Ok: queued as '
  assert_line --index 1 --regexp $'^Dnobody@c.test\t550 5.1.1 <nobody@c.test>: Recipient address rejected'
  run cat "$BATS_TEST_TMPDIR/remote-a.err"
  assert_line --partial 'event=tls host=mx.c.test ip=10.77.0.3 result=ok protocol=TLSv1.2'
  wait_for 20 carol_has_mail
}

@test "netns: Postfix on c.test delivers to pochta on b.test, over STARTTLS" {
  pr_pochta b mx.b.test b.test
  pr_postfix
  run ip netns exec "$PR-a" swaks --server 10.77.0.3 --port 25 --from carol@c.test --to alice@b.test \
    --helo mx.a.test --body 'from postfix to pochta'
  assert_success
  wait_for 30 pr_has b alice@b.test 1
  run pr_mail b alice@b.test
  assert_line 'from postfix to pochta'
  run grep -c 'Trusted TLS\|Untrusted TLS\|Anonymous TLS' "$PF/maillog"
  refute_output 0
}

@test "netns runner: a 5xx for one of two recipients bounces that one alone" {
  pr_pochta b mx.b.test b.test
  pr_pochta a mx.a.test a.test
  run pr_enqueue a alice@a.test alice@b.test nobody@b.test
  assert_success
  wait_for 30 pr_has b alice@b.test 1
  wait_for 30 pr_has a alice@a.test 1
  run pr_mail a alice@a.test
  assert_line 'Final-Recipient: rfc822; nobody@b.test'
  assert_line 'Action: failed'
  assert_line --regexp '^Status: 5\.1\.1$'
  assert_line 'Remote-MTA: dns; mx.b.test'
  assert_line --partial '<nobody@b.test>: host mx.b.test[10.77.0.2] said: 550 5.1.1'
  refute_line 'Final-Recipient: rfc822; alice@b.test'
}

@test "netns runner: unreachable MX: retries, then a bounce when the lifetime ends" {
  pr_pochta a mx.a.test a.test
  run pr_enqueue a alice@a.test x@unreach.test
  assert_success
  wait_for 40 pr_has a alice@a.test 1
  # several tries before giving up
  [ "$(grep -c 'event=connect host=dead.unreach.test' "$BATS_TEST_TMPDIR/a-send.log")" -ge 2 ]
  run pr_mail a alice@a.test
  assert_line 'Final-Recipient: rfc822; x@unreach.test'
  assert_line --regexp '^Status: 4\.4\.1$'
}

@test "netns runner: a 4xx from the peer means a retry, then delivery" {
  pr_pochta a mx.a.test a.test
  # temp.test's MX answers 451 to the first connection, then accepts
  ip netns exec "$PR-b" python3 "$NETNS_DIR/fakesmtp.py" --bind 10.77.0.4:25 --log "$BATS_TEST_TMPDIR/temp.smtp" \
    --rcpt 'x@temp.test=451 4.7.1 greylisted' --max-conn 1 >/dev/null 2>&1 &
  echo $! >"$BATS_TEST_TMPDIR/temp1.pid"
  sleep 0.5
  run pr_enqueue a alice@a.test x@temp.test
  assert_success
  wait_for 20 grep -q 'END\|QUIT' "$BATS_TEST_TMPDIR/temp.smtp"
  wait_for 10 grep -q 'code=Z' "$BATS_TEST_TMPDIR/a-send.log"
  ip netns exec "$PR-b" python3 "$NETNS_DIR/fakesmtp.py" --bind 10.77.0.4:25 --log "$BATS_TEST_TMPDIR/temp2.smtp" >/dev/null 2>&1 &
  echo $! >"$BATS_TEST_TMPDIR/temp2.pid"
  wait_for 30 grep -q 'END DATA' "$BATS_TEST_TMPDIR/temp2.smtp"
  run grep -c 'greylisted' "$BATS_TEST_TMPDIR/a-send.log"
  refute_output 0
  # no bounce: the retry delivered it
  sleep 1
  assert_equal "$(pr_count a alice@a.test)" 0
}

@test "netns runner: a bounce to a sender that bounces itself: postmaster once, no loop" {
  pr_pochta b mx.b.test b.test
  pr_pochta a mx.a.test a.test
  # sender nobody@b.test does not exist; the recipient is unreachable
  run pr_enqueue a nobody@b.test x@unreach.test
  assert_success
  wait_for 60 pr_has a postmaster@a.test 1
  run pr_mail a postmaster@a.test
  assert_line 'Subject: Postmaster notify: undeliverable delivery report'
  assert_line 'Final-Recipient: rfc822; nobody@b.test'
  # nothing more comes, and the queue empties
  sleep 4
  assert_equal "$(pr_count a postmaster@a.test)" 1
  POCHTA_CONF=$CONF_a wait_for 20 queue_empty
}

@test "netns: each address record of an MX host is asked for once (AAAA once, A once)" {
  pr_pochta b mx.b.test b.test
  run remote_on a b.test alice@a.test alice@b.test
  assert_success
  assert_output --regexp $'^Kalice@b.test\t250 '
  log="$BATS_TEST_TMPDIR/dnsmasq/log"
  grep 'query\[' "$log" >&3 || true
  [ "$(grep -c 'query\[MX\] b.test from' "$log")" = 1 ]
  [ "$(grep -c 'query\[A\] mx.b.test from' "$log")" = 1 ]
  [ "$(grep -c 'query\[AAAA\] mx.b.test from' "$log")" = 1 ]
}
