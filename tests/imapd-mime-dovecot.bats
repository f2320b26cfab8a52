#!/usr/bin/env bats
# The MIME module against Dovecot: for every message of tests/imapd-mime/corpus,
# ENVELOPE, BODY, BODYSTRUCTURE, RFC822.SIZE, 19 BODY[section]s and 6 BINARY items
# must equal, byte for byte, what Dovecot 2.3 (Debian 12) answered for the same file
# in a Maildir (tests/imapd-mime/expected, recorded by regen-expected.sh; Dovecot
# is not needed here). Deliberate differences are listed, with their reasons, in
# mime/mime-test.c (BINARY of a multipart or message/rfc822: Dovecot re-encodes
# the parts inside, we send the body as BODY does).
load helpers

setup() {
  MT="${POCHTA_BUILD:-$(dirname "$POCHTA_BIN")}/check/mime-test"
  [ -x "$MT" ] || skip "mime-test not built (make check-progs)"
  CORPUS="$TESTS_DIR/imapd-mime/corpus"
  EXP="$TESTS_DIR/imapd-mime/expected"
}

# compare NN: every item of one corpus message
compare() {
  run "$MT" check "$CORPUS" "$EXP"
  # the driver prints one line per comparison: keep this message's
  local mine
  mine=$(printf '%s\n' "$output" | grep -a -E "^(ok|FAIL) $1 ")
  [ -n "$mine" ] || { echo "no comparisons for $1"; return 1; }
  if printf '%s\n' "$mine" | grep -q '^FAIL'; then
    printf '%s\n' "$output" | grep -a -A3 "^FAIL $1 " >&2
    return 1
  fi
  [ "$(printf '%s\n' "$mine" | wc -l)" -eq 29 ]
}

@test "mime: all corpus comparisons match Dovecot" {
  run "$MT" check "$CORPUS" "$EXP"
  assert_success
  assert_output --partial "986 of 986 comparisons match"
}

@test "mime: 01 plain message without MIME headers" { compare 01; }
@test "mime: 02 multipart/alternative, quoted-printable" { compare 02; }
@test "mime: 03 mixed with attachments, RFC 2231 filename, language, location, md5" { compare 03; }
@test "mime: 04 nested message/rfc822 with its own multipart" { compare 04; }
@test "mime: 05 encoded words kept as they are in ENVELOPE" { compare 05; }
@test "mime: 06 address groups, Sender and Reply-To" { compare 06; }
@test "mime: 07 MIME-Version without Content-Type" { compare 07; }
@test "mime: 08 boundary prefix matches and junk lines" { compare 08; }
@test "mime: 09 missing final boundary" { compare 09; }
@test "mime: 10 odd parameters: case, comments, continuations, escapes" { compare 10; }
@test "mime: 11 raw 8-bit header and invalid bytes" { compare 11; }
@test "mime: 12 CRLF line ends" { compare 12; }
@test "mime: 13 header only, no empty line" { compare 13; }
@test "mime: 14 no final newline" { compare 14; }
@test "mime: 15 multipart without boundary parameter" { compare 15; }
@test "mime: 16 multipart/digest defaults to message/rfc822" { compare 16; }
@test "mime: 17 three levels of multipart and an rfc822 without From" { compare 17; }
@test "mime: 18 broken addresses, quoting, literals" { compare 18; }
@test "mime: 19 folded headers" { compare 19; }
@test "mime: 20 message/global, empty parts" { compare 20; }
@test "mime: 21 long subject and escaped parameter" { compare 21; }
@test "mime: 22 boundary with blanks and trailing white space" { compare 22; }
@test "mime: 23 NUL octets in header and body" { compare 23; }
@test "mime: 24 bare CR line ends only" { compare 24; }
@test "mime: 25 invalid UTF-8" { compare 25; }
@test "mime: 26 unterminated quotes and comments" { compare 26; }
@test "mime: 27 unknown transfer encoding (NO [UNKNOWN-CTE])" { compare 27; }
@test "mime: 28 base64 with junk (NO [UNKNOWN-CTE])" { compare 28; }
@test "mime: 29 broken quoted-printable (NO [UNKNOWN-CTE])" { compare 29; }
@test "mime: 30 repeated fields: which one counts" { compare 30; }
@test "mime: 31 routes, domain literals, empty address, type without subtype" { compare 31; }
@test "mime: 32 inner boundary that extends the outer one" { compare 32; }
@test "mime: 33 multipart with preamble and epilogue only" { compare 33; }
@test "mime: 34 8-bit Date, empty address fields, empty parameter" { compare 34; }

@test "mime: limits (200 nested multiparts, 20000 parts, 1 MB header line, boundary flood, 150 nested messages, 4000 messages) match Dovecot" {
  # the messages are generated; Dovecot's answers are kept as SHA-256 sums
  python3 "$TESTS_DIR/imapd-mime/gen-limits.py" "$BATS_TEST_TMPDIR/limits"
  run "$MT" check-sums "$BATS_TEST_TMPDIR/limits" "$TESTS_DIR/imapd-mime/limits.sha256"
  assert_success
  assert_output --partial "174 of 174 comparisons match"
}
