#!/usr/bin/env bats
# pochta-imapd: COMPRESS=DEFLATE (RFC 4978).
load helpers

setup() { imapd_instance; }
teardown() { stop_all; }

zc() { run python3 "$TESTS_DIR/imapd/compress.py" "$1" "$IMAP_PORT"; echo "$output"; [ "$status" -eq 0 ]; }

@test "compress: SELECT, APPEND and FETCH of 1 MiB, pipelining, LOGOUT under DEFLATE" { zc basic; }
@test "compress: IDLE reports a delivery through the compressed stream" { zc idle; }
@test "compress: not before login, unknown or malformed BAD, twice NO [COMPRESSIONACTIVE]" { zc errors; }
@test "compress: garbage, plain text, an ended stream or a 50 MB line end the session cleanly" {
  zc garbage
  ! grep -E 'Sanitizer|runtime error' "$BATS_TEST_TMPDIR/imapd.log"
}

@test "compress: mutt with imap_deflate reads a message over a compressed session" {
  mutt_reads_over_imap "set imap_deflate=yes"
  grep -q 'event=compress mechanism=deflate' "$BATS_TEST_TMPDIR/imapd.log"
}
