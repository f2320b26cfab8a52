#!/usr/bin/env bats
# SEARCH support of the MIME module: header values with RFC 2047 words decoded, bodies
# decoded from their transfer encoding and charset, case folded for Latin and
# Cyrillic; RFC 5322 dates for SENT*.
load helpers

setup() {
  MT="${POCHTA_BUILD:-$(dirname "$POCHTA_BIN")}/check/mime-test"
  [ -x "$MT" ] || skip "mime-test not built (make check-progs)"
  C="$TESTS_DIR/imapd-mime/corpus"
}

m() { run "$MT" "$@"; assert_output match; }
n() { run "$MT" "$@"; assert_output nomatch; }

@test "mime-search: encoded words in Subject and From, any case" {
  m search-header "$C/05-encoded-words.eml" Subject 'café CRÈME'
  m search-header "$C/05-encoded-words.eml" subject 'ПРИВЕТ'
  m search-header "$C/05-encoded-words.eml" From 'ÉLODÍE'
  m search-header "$C/05-encoded-words.eml" To 'andré pirard'
  n search-header "$C/05-encoded-words.eml" Subject '8NLJ18XU'
}

@test "mime-search: HEADER with an empty string matches when the field exists" {
  m search-header "$C/01-simple.eml" Message-ID ''
  n search-header "$C/01-simple.eml" X-Missing ''
}

@test "mime-search: bodies decoded from quoted-printable, base64 and 8bit, with charsets" {
  m search-body "$C/02-alternative.eml" 'CAFÉ AU LAIT'
  m search-body "$C/04-nested-rfc822.eml" 'grüße'
  m search-body "$C/05-encoded-words.eml" 'привет, МИР'
  m search-body "$C/11-8bit.eml" 'ÉTÉ €'
  n search-body "$C/02-alternative.eml" 'Caf=C3'
}

@test "mime-search: windows-1252, iso-8859-15, soft line breaks, base64 text" {
  f="$BATS_TEST_TMPDIR/m.eml"
  printf 'Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain; charset=windows-1252\nContent-Transfer-Encoding: quoted-printable\n\nPrice: =80 5, =93quoted=94, hel=\nlo\n--b\nContent-Type: text/plain; charset=ISO-8859-15\nContent-Transfer-Encoding: 8bit\n\nsoit \xa4 3\n--b\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nw4Fyw7p6\n--b--\n' >"$f"
  m search-body "$f" '€ 5, “quoted”'
  m search-body "$f" 'hello'
  m search-body "$f" 'soit € 3'
  m search-body "$f" 'ÁRÚZ'
}

@test "mime-search: attachments are not body text; TEXT sees headers and bodies" {
  n search-body "$C/03-mixed-attach.eml" 'PDF-1.4'
  m search-text "$C/03-mixed-attach.eml" 'quarterly REPORT'
  m search-text "$C/03-mixed-attach.eml" 'find the report'
  m search-text "$C/01-simple.eml" 'message-id'
  n search-text "$C/01-simple.eml" 'not in there'
}

@test "mime-search: invalid UTF-8 and NUL octets do not break matching" {
  m search-body "$C/25-invalid-utf8.eml" "$(printf '\xc0\xaf')"
  m search-header "$C/23-nul-bytes.eml" Subject 'nul'
  n search-body "$C/25-invalid-utf8.eml" 'zzz'
}

@test "mime-search: RFC 5322 dates, obsolete forms too" {
  run "$MT" date 'Mon, 23 Nov 2026 10:11:12 +0100'
  assert_output "$(( $(date -u -d '2026-11-23 09:11:12' +%s) )) 60"
  run "$MT" date '1 Dec 26 09:00 GMT'
  assert_output "$(date -u -d '2026-12-01 09:00:00' +%s) 0"
  run "$MT" date 'Fri, 27 Nov 1998 23:59:59 EST'
  assert_output "$(date -u -d '1998-11-28 04:59:59' +%s) -300"
  run "$MT" date '(comment) 2 Jan 2024 00:00 (UTC) +0000'
  assert_output "$(date -u -d '2024-01-02 00:00:00' +%s) 0"
  run "$MT" date 'Mon, 30 Nov 2026 25:61:00 +0100'
  assert_output invalid
  run "$MT" date '31 Feb 2024 00:00 +0000'
  assert_output invalid
  run "$MT" date 'yesterday'
  assert_output invalid
}

@test "mime-search: SENT* day is the Date header's own day" {
  run "$MT" sentday "$C/05-encoded-words.eml"
  # Fri, 27 Nov 2026 23:59:59 -0800: the 27th, whatever the zone
  assert_output $(( $(date -u -d '2026-11-27' +%s) / 86400 ))
  run "$MT" sentday "$C/07-no-content-type.eml"
  assert_output none
}
