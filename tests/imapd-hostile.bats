#!/usr/bin/env bats
# pochta-imapd: bad input gets BAD/NO (or a clean BYE), the session goes on where it
# can, nothing crashes and nothing on disk changes.
load helpers

setup() {
  instance_new
  allow_plain_auth
  start_imapd
  MD=$(maildir_of alice@example.test)
  # one message and a first login, so that the Maildir has its files
  printf 'a LOGIN alice@example.test secret\r\nb APPEND INBOX {20}\r\nSubject: x\r\n\r\nbody\r\n\r\nc LOGOUT\r\n' |
    python3 "$TESTS_DIR/imapd/raw.py" "$IMAP_PORT" >/dev/null
  BEFORE=$(tree_state "$MD")
}
teardown() {
  # nothing on disk changed, and the server still answers
  [ "$(tree_state "$MD")" = "$BEFORE" ]
  run sh -c "printf 'z NOOP\r\n' | python3 '$TESTS_DIR/imapd/raw.py' '$IMAP_PORT'"
  [ "$output" = "z OK NOOP completed" ]
  stop_all
}

raw() { run python3 "$TESTS_DIR/imapd/raw.py" "$IMAP_PORT" "$@"; echo "$output"; }

@test "imapd-hostile: commands in the wrong state" {
  raw <<<$'a SELECT INBOX\r\nb FETCH 1 FLAGS\r\nc LOGOUT\r'
  [ "${lines[0]}" = "a BAD Log in first" ]
  [ "${lines[1]}" = "b BAD Log in first" ]
  [ "${lines[3]}" = "c OK LOGOUT completed" ]
  raw --login alice@example.test <<<$'a FETCH 1 FLAGS\r\nb EXPUNGE\r\nc STARTTLS\r\nd LOGIN a b\r'
  [ "${lines[0]}" = "a BAD No mailbox selected" ]
  [ "${lines[1]}" = "b BAD No mailbox selected" ]
  [ "${lines[2]}" = "c BAD Not allowed now" ] || [ "${lines[2]}" = "c BAD No mailbox selected" ]
}

@test "imapd-hostile: overlong line gets a tagged BAD (issue 15, 10), then the session goes on" {
  run sh -c "python3 -c \"import sys; sys.stdout.buffer.write(b'a NOOP ' + b'x'*70000 + b'\r\nb NOOP\r\n' + b'y'*70000 + b'\r\nc NOOP\r\n')\" | python3 '$TESTS_DIR/imapd/raw.py' '$IMAP_PORT'"
  [ "${lines[0]}" = "a BAD Line too long" ]
  [ "${lines[1]}" = "b OK NOOP completed" ]
  # no tag to be seen: untagged
  [ "${lines[2]}" = "* BAD Line too long" ]
  [ "${lines[3]}" = "c OK NOOP completed" ]
}

@test "imapd-hostile: NUL octets, bare CR, empty lines, no tag" {
  raw < <(printf 'a NO\0OP\r\nb NOOP\r\n\r\n*\r\n+ x\r\nc\r\nd NOOP\r\n')
  [ "${lines[0]}" = "a BAD NUL octet in command" ]
  [ "${lines[1]}" = "b OK NOOP completed" ]
  [ "${lines[2]}" = "* BAD Missing or invalid tag" ]
  [ "${lines[3]}" = "* BAD Missing or invalid tag" ]
  [ "${lines[4]}" = "* BAD Missing or invalid tag" ]
  [ "${lines[5]}" = "c BAD Missing command" ]
  [ "${lines[6]}" = "d OK NOOP completed" ]
}

@test "imapd-hostile: literal too large before login; non-synchronizing one closes" {
  raw <<<$'a LOGIN {99999}\r\nb NOOP\r'
  [ "${lines[0]}" = "a BAD Literal too large" ]
  [ "${lines[1]}" = "b OK NOOP completed" ]
  raw <<<$'a LOGIN {99999+}\r\nxxxx\r'
  [ "$output" = "* BYE Literal too large" ]
}

@test "imapd-hostile: APPEND over databytes is refused, nothing stored" {
  echo 1000 >"$POCHTA_CONF/databytes"
  raw --login alice@example.test <<<$'a APPEND INBOX {100000}\r\nb NOOP\r'
  [ "${lines[0]}" = "a NO [TOOBIG] Message too large" ]
  [ "${lines[1]}" = "b OK NOOP completed" ]
}

@test "imapd-hostile: unterminated literal ends the session cleanly" {
  raw --login alice@example.test < <(printf 'a APPEND INBOX {100}\r\nshort')
  [ "${lines[0]}" = "+ Ready for literal data" ]
  [ "${lines[1]}" = "* BYE Connection closed" ]
  # the half message is not in the Maildir (its spool file is gone too)
  [ -z "$(ls "$MD/tmp")" ]
}

@test "imapd-hostile: huge numbers and invalid sequence sets" {
  raw --login alice@example.test --select INBOX <<<$'a FETCH 99999999999999999999 FLAGS\r\nb FETCH 4294967296 FLAGS\r\nc FETCH 0 FLAGS\r\nd FETCH 1:2,,3 FLAGS\r\ne FETCH 5 FLAGS\r\nf SEARCH LARGER 99999999999\r\ng UID FETCH 4294967295 FLAGS\r\nh FETCH 1 BODY[]<0.0>\r\ni FETCH 1 BODY[1.99999999999]\r'
  [ "${lines[0]}" = "a BAD Syntax: FETCH set items" ]
  [ "${lines[1]}" = "b BAD Syntax: FETCH set items" ]
  [ "${lines[2]}" = "c BAD Syntax: FETCH set items" ]
  [ "${lines[3]}" = "d BAD Syntax: FETCH set items" ]
  [ "${lines[4]}" = "e BAD Invalid message sequence number" ]
  [ "${lines[5]}" = "f BAD Invalid search program" ]
  [ "${lines[6]}" = "g OK FETCH completed" ]
  [ "${lines[7]}" = "h BAD Invalid FETCH item" ]
  [ "${lines[8]}" = "i BAD Invalid FETCH item" ]
}

@test "imapd-hostile: deeply nested parentheses" {
  run sh -c "python3 -c \"import sys; sys.stdout.buffer.write(b'a SEARCH ' + b'('*5000 + b'ALL' + b')'*5000 + b'\r\nb FETCH 1 ' + b'('*1000 + b'\r\nc NOOP\r\n')\" | python3 '$TESTS_DIR/imapd/raw.py' '$IMAP_PORT' --login alice@example.test --select INBOX"
  echo "$output"
  [ "${lines[0]}" = "a BAD Invalid search program" ]
  [ "${lines[1]}" = "b BAD Invalid FETCH item" ]
  [ "${lines[2]}" = "c OK NOOP completed" ]
}

@test "imapd-hostile: bad mailbox names: 8-bit, path tricks, wildcards" {
  raw --login alice@example.test < <(printf 'a CREATE "\xff\xfe"\r\nb CREATE ../../x\r\nc CREATE a/b\r\nd CREATE "x*"\r\ne SELECT ../..\r\nf RENAME INBOX ../x\r\ng DELETE .\r\n')
  [ "${lines[0]}" = "a NO [CANNOT] Invalid mailbox name" ]
  [ "${lines[1]}" = "b NO [CANNOT] Invalid mailbox name" ]
  [ "${lines[2]}" = "c NO [CANNOT] Invalid mailbox name" ]
  [ "${lines[3]}" = "d NO [CANNOT] Invalid mailbox name" ]
  [ "${lines[4]}" = "e NO [NONEXISTENT] No such mailbox" ]
  [ "${lines[5]}" = "f NO [CANNOT] Invalid target name" ]
  [ "${lines[6]}" = "g NO [NONEXISTENT] No such mailbox" ]
}

@test "imapd-hostile: malformed arguments of every kind" {
  raw --login alice@example.test --select INBOX <<<$'a STORE 1 +FLAGS (\\Seen\r\nb STORE 1 FROB (\\Seen)\r\nc COPY 1\r\nd UID BOGUS\r\ne LIST\r\nf STATUS INBOX (BOGUS)\r\ng SELECT\r\nh APPEND INBOX (\\Seen) "bad date" {1+}\r\nx\r\ni SEARCH CHARSET\r\nj AUTHENTICATE PLAIN\r\nk ENABLE\r\nl ID (\r\nm IDLE x\r\nn NOOP x\r'
  [ "${lines[0]}" = "a BAD Invalid flag list" ]
  [ "${lines[1]}" = "b BAD Unknown STORE item" ]
  [ "${lines[2]}" = "c BAD Syntax: COPY set mailbox" ]
  [ "${lines[3]}" = "d BAD Unknown UID command" ]
  [ "${lines[4]}" = "e BAD Syntax: LIST reference pattern" ]
  [ "${lines[5]}" = "f BAD Syntax: STATUS mailbox (items)" ]
  [ "${lines[6]}" = "g BAD Syntax: SELECT mailbox" ]
  [ "${lines[7]}" = "h BAD Invalid date-time" ]
  [ "${lines[8]}" = "i BAD Syntax: CHARSET name" ]
  [ "${lines[9]}" = "j BAD Not allowed now" ] || [ "${lines[9]}" = "j BAD No mailbox selected" ]
  [ "${lines[10]}" = "k BAD Missing capability" ]
  [ "${lines[11]}" = "l BAD Invalid ID" ]
  [ "${lines[12]}" = "m BAD Unexpected arguments" ]
  [ "${lines[13]}" = "n BAD Unexpected arguments" ]
}
