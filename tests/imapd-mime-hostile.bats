#!/usr/bin/env bats
# The MIME module on hostile input: section syntax, partial windows, huge numbers,
# limits, memory bounds, and nothing on disk changes. (Hostile *messages* - NUL,
# bare CR, invalid UTF-8, broken encodings, unterminated quotes, deep nesting,
# 20000 parts - are compared with Dovecot byte for byte in imapd-mime-dovecot.bats.)
load helpers

setup() {
  MT="${POCHTA_BUILD:-$(dirname "$POCHTA_BIN")}/check/mime-test"
  [ -x "$MT" ] || skip "mime-test not built (make check-progs)"
  C="$TESTS_DIR/imapd-mime/corpus"
}

@test "mime-hostile: malformed section specs are refused (BAD)" {
  for spec in 0 01 1. .1 1..2 99999999999999999999 1.0 HEADERX MIME TEXT.MIME 1.MIME.TEXT \
      'HEADER.FIELDS' 'HEADER.FIELDS ()' 'HEADER.FIELDS (' 'HEADER.FIELDS (A' 'HEADER.FIELDS (A))' \
      'HEADER.FIELDS  (A)' 'HEADER.FIELDS (A  B)' 'HEADER.FIELDS ("A)' 'HEADER.FIELDS.NOT' '1.HEADER.FIELDS.NOT ({3}'; do
    run "$MT" section "$C/04-nested-rfc822.eml" "$spec"
    [ "$output" = BAD ] || { echo "spec [$spec] gave: $output"; return 1; }
  done
}

@test "mime-hostile: a path deeper than the nesting limit is refused" {
  spec=$(printf '1.%.0s' $(seq 101))1
  run "$MT" section "$C/04-nested-rfc822.eml" "$spec"
  assert_output BAD
}

@test "mime-hostile: sections that do not exist are empty" {
  for spec in 9 1.9 2.1.1.1 4294967295 3.1.MIME 1.HEADER 1.TEXT; do
    run "$MT" section "$C/04-nested-rfc822.eml" "$spec"
    [ "$output" = "$(printf '{0}\r')" ] || { echo "[$spec] gave: $output"; return 1; }
  done
}

@test "mime-hostile: field names are matched without case, quoted names work" {
  run "$MT" section "$C/01-simple.eml" 'header.fields ("SUBJECT" to)'
  assert_output "$(printf '{52}\r\nTo: Bob <bob@example.test>\r\nSubject: Hello there\r\n\r')"
}

@test "mime-hostile: partial windows over LF->CRLF text" {
  # BODY[TEXT]<3.10>: the window counts converted octets
  run "$MT" section "$C/01-simple.eml" TEXT 3 10
  assert_output "$(printf 'Bob,\r\n\r\nju')"
  # a window that starts between CR and LF
  run bash -c "'$MT' section '$C/01-simple.eml' TEXT 8 2 | od -An -c | tr -s ' '"
  assert_output " \n \r"
  # beyond the end: nothing; a huge count: up to the end
  run "$MT" section "$C/01-simple.eml" TEXT 100000 10
  assert_output ""
  run bash -c "'$MT' section '$C/01-simple.eml' TEXT 65 18446744073709551615 | od -An -c | tr -s ' '"
  assert_output " l i c e \r \n"
  # generated text (HEADER.FIELDS) too
  run "$MT" section "$C/01-simple.eml" 'HEADER.FIELDS (Subject)' 9 5
  assert_output "Hello"
}

@test "mime-hostile: empty message" {
  : >"$BATS_TEST_TMPDIR/empty"
  run "$MT" bodystructure "$BATS_TEST_TMPDIR/empty"
  assert_output '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL)'
  run "$MT" envelope "$BATS_TEST_TMPDIR/empty"
  assert_output '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)'
  run "$MT" section "$BATS_TEST_TMPDIR/empty" 1
  assert_output "$(printf '{0}\r')"
  run "$MT" binsize "$BATS_TEST_TMPDIR/empty" 1
  assert_output 0
}

@test "mime-hostile: BINARY of an unknown or broken encoding is NO [UNKNOWN-CTE]" {
  run "$MT" binary "$C/27-unknown-cte.eml" 1
  assert_output '!NO'
  run "$MT" binsize "$C/28-base64-junk.eml" 1
  assert_output '!NO'
  run "$MT" binary "$C/29-qp-broken.eml" 1
  assert_output '!NO'
  # BINARY takes part numbers only
  run "$MT" binary "$C/04-nested-rfc822.eml" 2.HEADER
  assert_output BAD
}

@test "mime-hostile: BINARY decodes base64 and quoted-printable exactly" {
  run bash -c "'$MT' binary '$C/12-crlf.eml' 2 | od -An -tx1 -w64 | tr -s ' '"
  assert_output " 7e 7b 31 30 7d 0d 0a 00 01 02 03 04 05 06 07 08 09"
  run "$MT" binary "$C/02-alternative.eml" 1
  assert_output "$(printf '~{48}\r\nCaf\xc3\xa9 au lait, s'"'"'il vous pla\xc3\xaet.\r\nSecond line.\r')"
}

@test "mime-hostile: nothing on disk changes" {
  before=$(cd "$C" && sha256sum -- * | sha256sum)
  for f in "$C"/*.eml; do
    for item in envelope bodystructure body size; do "$MT" $item "$f" >/dev/null; done
    for spec in 1 2 1.1 TEXT HEADER 'HEADER.FIELDS (From)'; do "$MT" section "$f" "$spec" >/dev/null; done
    "$MT" binary "$f" 1 >/dev/null || true
    "$MT" search-text "$f" x >/dev/null || true
  done
  after=$(cd "$C" && sha256sum -- * | sha256sum)
  [ "$before" = "$after" ]
}

@test "mime-hostile: a 100 MB message is parsed without copying it to memory" {
  [ "${POCHTA_SAN:-}" = 1 ] && skip "the sanitizers reserve their own memory"
  big="$BATS_TEST_TMPDIR/big.eml"
  python3 "$TESTS_DIR/imapd-mime/gen-big.py" "$big"
  # 64 MB of heap is far less than the message: it must be mapped, not read
  run bash -c "ulimit -d 65536 && '$MT' bodystructure '$big'"
  assert_success
  assert_output '(("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 100999998 999999 NIL NIL NIL NIL)("application" "octet-stream" NIL NIL NIL "base64" 4 NIL NIL NIL NIL) "mixed" ("boundary" "z") NIL NIL NIL)'
  run bash -c "ulimit -d 65536 && '$MT' binsize '$big' 1"
  assert_output 100999998
  # the last line end belongs to the boundary
  run bash -c "ulimit -d 65536 && '$MT' section '$big' 1 100999990 100 | od -An -c | tr -s ' '"
  assert_output " x x x x x x x x"
}

@test "mime-hostile: many parts stay within the part limit" {
  python3 -c "
import sys
sys.stdout.write('Content-Type: multipart/mixed; boundary=x\n\n' + '--x\n\nt\n' * 30000 + '--x--\n')" >"$BATS_TEST_TMPDIR/many.eml"
  run bash -c "'$MT' tree '$BATS_TEST_TMPDIR/many.eml' | wc -l"
  assert_output 10000
}
