#!/usr/bin/env bats
# Hostile input for the spam engines: huge messages, millions of tokens, binary
# attachments, MIME nested past the parser's limits, 50000 parts, broken HTML,
# endless lines, 100000 header fields, a million URLs, NUL and invalid UTF-8;
# hostile configuration and token database files. Nothing crashes; tokens, text and
# hosts stay within their limits and memory stays bounded whatever the size (the
# times are printed, never asserted).

load helpers
load spam/lib

setup_file() {
  export HOSTILE="$BATS_FILE_TMPDIR/hostile"
  python3 "$BATS_TEST_DIRNAME/spam/gen-hostile.py" "$HOSTILE" 0.3
}

setup() { [ -x "$SPAMTEST" ] || skip "spam-test not built"; }
teardown() { stop_all; }

# field NAME: the value of NAME= in $output
field() { echo "$output" | sed -n "s/.*[ ^]$1=\([^ ]*\).*/\1/p"; }

@test "hostile messages: the tokenizer's tokens, text, hosts and memory stay bounded" {
  for f in "$HOSTILE"/*.eml; do
    run "$SPAMTEST" tokens "$f"
    echo "$(basename "$f"): $output"
    assert_success
    [ "$(field tokens)" -le 10000 ]
    [ "$(field text)" -le 524288 ]
    [ "$(field hosts)" -le 100 ]
    # memory: the message is mapped, only its first 2 MiB read; the rest is bounded
    # (ASan's own bookkeeping is not ours to bound)
    if [ -z "${POCHTA_SAN:-}" ]; then [ "$(field maxrss_kb)" -le 65536 ]; fi
  done
}

@test "hostile messages: what must still be seen is seen" {
  run "$SPAMTEST" view "$HOSTILE/html.eml"
  assert_success
  refute_output --partial "xxxxxxxxxx"     # the endless script is not text
  run "$SPAMTEST" view "$HOSTILE/deep.eml"
  assert_success
  run "$SPAMTEST" tokens "$HOSTILE/words.eml"
  [ "$(field tokens)" = 10000 ] && [ "$(field cut)" = 1 ]
  run "$SPAMTEST" tokens "$HOSTILE/urls.eml"
  [ "$(field hosts)" = 100 ]
}

@test "hostile messages: scoring and learning them works and the database stays valid" {
  instance_new
  md=$(maildir_of alice@example.test)
  for f in "$HOSTILE"/*.eml; do
    run pochta spam check --ip 192.0.2.1 --helo mail.x.test <"$f"
    echo "$(basename "$f"): ${lines[0]} ${lines[1]:-}"
    assert_success
    [ "${lines[0]}" = accept ]
    cp "$f" "$md/.Junk/cur/$(basename "$f")"
  done
  run pochta learn spam alice@example.test
  assert_success
  assert_output --partial "spam: 9 learned"
  run "$SPAMTEST" db "$(dirname "$md")/pochta-bayes"
  assert_success
}

@test "hostile messages: NUL, invalid UTF-8, bare CR, a header without end, nothing at all" {
  instance_new
  printf 'Subject: \xff\xfe\xc0\xaf =?utf-8?B?////?= =?x?Q?=ZZ?=\r\nFrom: <\x00@\x00>\r\n\r\nbody \x00 with NUL \xed\xa0\x80 \r bare CR http://\xff.test/ http://[::1\n' >"$BATS_TEST_TMPDIR/bin"
  printf 'Subject: no end of header' >"$BATS_TEST_TMPDIR/nohdrend"
  : >"$BATS_TEST_TMPDIR/empty"
  printf '\n\n\n' >"$BATS_TEST_TMPDIR/blank"
  for f in bin nohdrend empty blank; do
    run "$SPAMTEST" tokens "$BATS_TEST_TMPDIR/$f"
    assert_success
    run pochta spam check --ip 192.0.2.1 --helo "$(printf 'bad\001helo')" <"$BATS_TEST_TMPDIR/$f"
    assert_success
    assert_line --index 0 accept
  done
}

@test "hostile configuration: NUL, overlong lines, invalid UTF-8, huge numbers: refused with the line, never a crash" {
  instance_new
  printf 'body OK 1 fine\nbody \x00BAD 1 x\n' >"$POCHTA_CONF/spamrules"
  run pochta spam conf
  assert_failure 111
  assert_output --partial "spamrules line 2"
  head -c 100000 /dev/zero | tr '\0' 'a' >"$POCHTA_CONF/spamrules"
  run pochta spam conf
  assert_failure 111
  assert_output --partial "spamrules line 1: unknown kind of rule"
  printf 'body X 1 \xff\xfe\xc0\n' >"$POCHTA_CONF/spamrules"
  run pochta spam conf
  assert_success
  printf 'ratelimit 99999999999999999999/1\n' >"$POCHTA_CONF/spam"
  : >"$POCHTA_CONF/spamrules"
  run pochta spam conf
  assert_failure 111
  printf 'reject 1e999999\n' >"$POCHTA_CONF/spam"
  run pochta spam conf
  assert_failure 111
  for i in $(seq 1 5001); do echo "body R$i 1 phrase $i"; done >"$POCHTA_CONF/spamrules"
  : >"$POCHTA_CONF/spam"
  run pochta spam conf
  assert_failure 111
  assert_output --partial "spamrules line 5001: more than 5000 rules"
}

@test "hostile token databases: truncated, zero-filled, lying counts, a directory, a symlink: no opinion, never a crash" {
  instance_new
  home=$(dirname "$(maildir_of alice@example.test)")
  printf 'Received: from x\nX-Spam-Score: 1.0\n\nhello\n' >"$BATS_TEST_TMPDIR/m"
  printf 'pochtaB1\x05\x00\x00\x00' >"$BATS_TEST_TMPDIR/short"
  head -c 4096 /dev/zero >"$BATS_TEST_TMPDIR/zeros"
  { printf 'pochtaB1'; printf '\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff'; head -c 40 /dev/zero; } >"$BATS_TEST_TMPDIR/lying"
  for f in short zeros lying; do
    cp "$BATS_TEST_TMPDIR/$f" "$home/pochta-bayes"
    run pochta spam classify alice@example.test <"$BATS_TEST_TMPDIR/m"
    assert_success
    assert_line --index 0 INBOX
    assert_output --partial 'problem="pochta-bayes is not a database"'
  done
  rm "$home/pochta-bayes"; mkdir "$home/pochta-bayes"
  run pochta spam classify alice@example.test <"$BATS_TEST_TMPDIR/m"
  assert_success
  rmdir "$home/pochta-bayes"; ln -s /etc/passwd "$home/pochta-bayes"
  run pochta spam classify alice@example.test <"$BATS_TEST_TMPDIR/m"
  assert_success
  assert_output --partial "cannot open pochta-bayes"
  # a learner does not follow the symlink either
  run pochta learn ham alice@example.test
  assert_failure 111
  [ "$(head -c 4 /etc/passwd)" = "root" ]
}
