#!/usr/bin/env bats
# pochta-bounce: one RFC 3464 DSN per call, enqueued through the enqueue
# interface with the null sender; double and triple bounce rules.

load helpers
load netns/remote-lib

setup() {
  remote_conf
  pochta -C "$POCHTA_CONF" compile   # an empty users.cdb: pochta-bounce needs one
  fake_queue
  MSG="$BATS_TEST_TMPDIR/msg"
  printf 'From: Sender <s@a.test>\nTo: x@b.test\nSubject: hello\nMessage-ID: <orig@a.test>\n\nbody line\n' >"$MSG"
  FAIL="$BATS_TEST_TMPDIR/failures"
}
teardown() { stop_all; }

# bounce SENDER: run pochta-bounce with $MSG on fd 0 and $FAIL on fd 3
bounce_run() { pochta-bounce "$@" <"$MSG" 3<"$FAIL" 2>>"$BATS_TEST_TMPDIR/bounce.err"; }

# dsn_check: parse the queued DSN with Python's email package and print
# its structure and fields, one per line
dsn_check() {
  python3 - "$BATS_TEST_TMPDIR/fq.msg" <<'PY'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
print('type', m.get_content_type(), m.get_param('report-type'))
print('from', m['From']); print('to', m['To']); print('auto', m['Auto-Submitted'])
parts = m.get_payload()
print('parts', len(parts), ' '.join(p.get_content_type() for p in parts))
ds = parts[1].get_payload()
for blk in ds:
    for k, v in blk.items():
        print('ds', k, v)
print('headers-subject', email.message_from_string(parts[2].get_payload()).get('Subject'))
PY
}

@test "bounce: Remote-MTA (RFC 3464 2.3.5) from the host that answered; none where no host did, or the field is not one" {
  printf 'bad@x.test\tD\t550 5.1.1 no such user\tmx.x.test[192.0.2.7]\nlit@x.test\tD\t550 5.7.1 go away\t[192.0.2.8]\nslow@y.test\tZ\t4.4.1 y.test [10.0.0.1]: connect: Connection refused\nodd@x.test\tD\t550 5.1.1 gone\tnot a host\n' >"$FAIL"
  run bounce_run s@a.test
  assert_success
  run dsn_check
  python3 - "$BATS_TEST_TMPDIR/fq.msg" <<'PY'
import email, sys
m = email.message_from_binary_file(open(sys.argv[1], 'rb'))
blocks = m.get_payload()[1].get_payload()[1:]
got = [(b['Final-Recipient'], b['Remote-MTA'], b['Diagnostic-Code']) for b in blocks]
assert got == [
  ('rfc822; bad@x.test', 'dns; mx.x.test', 'smtp; 550 5.1.1 no such user'),
  ('rfc822; lit@x.test', 'dns; [192.0.2.8]', 'smtp; 550 5.7.1 go away'),
  ('rfc822; slow@y.test', None, 'x-pochta; 4.4.1 y.test [10.0.0.1]: connect: Connection refused'),
  ('rfc822; odd@x.test', None, 'smtp; 550 5.1.1 gone\tnot a host'),
], got
text = m.get_payload()[0].get_payload()
assert '<bad@x.test>: host mx.x.test[192.0.2.7] said: 550 5.1.1 no such user' in text, text
PY
}

@test "bounce: one DSN for all failures, to the sender, from <>" {
  printf 'bad@x.test\tD\t550 5.1.1 no such user\nslow@y.test\tZ\t4.4.1 y.test [10.0.0.1]: connect: Connection refused\n' >"$FAIL"
  run bounce_run s@a.test
  assert_success
  run cat "$BATS_TEST_TMPDIR/fq.env"
  assert_output $'F\nTs@a.test'
  run dsn_check
  assert_line 'type multipart/report delivery-status'
  assert_line 'from Mail Delivery System <MAILER-DAEMON@mx.a.test>'
  assert_line 'to <s@a.test>'
  assert_line 'auto auto-replied'
  assert_line 'parts 3 text/plain message/delivery-status text/rfc822-headers'
  assert_line 'ds Reporting-MTA dns; mx.a.test'
  assert_line 'ds Final-Recipient rfc822; bad@x.test'
  assert_line 'ds Status 5.1.1'
  assert_line 'ds Diagnostic-Code smtp; 550 5.1.1 no such user'
  assert_line 'ds Final-Recipient rfc822; slow@y.test'
  assert_line 'ds Status 4.4.1'
  assert_line 'ds Diagnostic-Code x-pochta; 4.4.1 y.test [10.0.0.1]: connect: Connection refused'
  assert_equal "$(grep -c '^ds Action failed$' <<<"$output")" 2
  assert_line 'headers-subject hello'
  run grep -c 'body line' "$BATS_TEST_TMPDIR/fq.msg"
  assert_output 0
}

@test "bounce: status codes: reply without enhanced code, expired without any, class forced" {
  printf 'a@x.test\tD\t554 go away\nb@x.test\tZ\texpired\nc@x.test\tD\t4.4.7 confused\n' >"$FAIL"
  run bounce_run s@a.test
  assert_success
  run dsn_check
  assert_line 'ds Status 5.0.0'
  assert_line 'ds Status 4.4.7'
  assert_line 'ds Status 5.4.7'
}

@test "bounce: a failed bounce goes to postmaster from #@[]" {
  printf 'gone@x.test\tD\t550 5.1.1 no such user\n' >"$FAIL"
  run bounce_run ''
  assert_success
  run cat "$BATS_TEST_TMPDIR/fq.env"
  assert_output $'F#@[]\nTpostmaster@mx.a.test'
  run grep -m1 '^Subject:' "$BATS_TEST_TMPDIR/fq.msg"
  assert_output 'Subject: Postmaster notify: undeliverable delivery report'
}

@test "bounce: a failed double bounce is dropped with a log line, nothing queued" {
  printf 'postmaster@mx.a.test\tD\t550 5.1.1 no\n' >"$FAIL"
  run bounce_run '#@[]'
  assert_success
  [ ! -e "$BATS_TEST_TMPDIR/fq.msg" ]
  run cat "$BATS_TEST_TMPDIR/bounce.err"
  assert_output 'pochta-bounce: event=drop reason="double bounce failed: not sent again"'
}

@test "bounce: malformed failure lines are skipped; none valid means no bounce" {
  printf 'garbage\n\tD\tx\na@x.test\tQ\tx\nok@x.test\tD\t550 5.1.1 no\n' >"$FAIL"
  run bounce_run s@a.test
  assert_success
  run dsn_check
  assert_line 'ds Final-Recipient rfc822; ok@x.test'
  assert_equal "$(grep -c '^ds Final-Recipient' <<<"$output")" 1
  rm -f "$BATS_TEST_TMPDIR/fq.msg"
  printf 'garbage\n' >"$FAIL"
  run bounce_run s@a.test
  assert_success
  [ ! -e "$BATS_TEST_TMPDIR/fq.msg" ]
}

@test "bounce: CR, LF and NUL from the network cannot add headers or parts" {
  printf 'a@x.test\tD\t550 5.1.1 evil\rSubject: injected\r\nX\n' >"$FAIL"
  printf 'Subject: hi\r\nX-Bad: a\0b\r\n\r\nbody\n' >"$MSG"
  run bounce_run $'s@a.test'
  assert_success
  run grep -c '^Subject: injected' "$BATS_TEST_TMPDIR/fq.msg"
  assert_output 0
  run grep -a 'X-Bad' "$BATS_TEST_TMPDIR/fq.msg"
  assert_output 'X-Bad: a?b'
  run dsn_check
  assert_line 'ds Diagnostic-Code smtp; 550 5.1.1 evil?Subject: injected?'
}

@test "bounce: huge headers are cut at a line, a message without body is fine" {
  x40=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
  { printf 'Subject: big\n'; for i in $(seq 1 3000); do printf 'X-Filler-%d: %s\n' $i "$x40"; done; } >"$MSG"
  printf 'a@x.test\tD\t550 no\n' >"$FAIL"
  run bounce_run s@a.test
  assert_success
  size=$(stat -c %s "$BATS_TEST_TMPDIR/fq.msg")
  [ "$size" -lt 70000 ]
  run dsn_check
  assert_line 'headers-subject big'
}

@test "bounce: enqueue failure is a temporary failure (111); usage is 100" {
  printf 'a@x.test\tD\t550 no\n' >"$FAIL"
  FAKEQ_EXIT=53 run bounce_run s@a.test
  assert_failure 111
  run grep -c 'event=defer reason="enqueue failed" exit="53"' "$BATS_TEST_TMPDIR/bounce.err"
  assert_output 1
  run pochta-bounce
  assert_failure 100
  rm "$POCHTA_CONF/me"
  run bounce_run s@a.test
  assert_failure 111
}

@test "bounce: through the real pochta-queue into a real queue" {
  command -v pochta-queue >/dev/null && command -v pochta >/dev/null || skip "pochta-queue or pochta not built yet"
  unset POCHTA_QUEUE
  instance_new
  printf 'a@x.test\tD\t550 5.1.1 no\n' >"$FAIL"
  run bounce_run alice@example.test
  assert_success
  run pochta-queuectl list
  assert_success
  assert_output --partial 'alice@example.test'
}
