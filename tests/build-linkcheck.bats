#!/usr/bin/env bats
# The build must refuse a binary that takes objects from both skalibs and libowfat
# (same symbol names, different ABIs), and allow libowfat's base64 objects alone.
load helpers

setup() { cd "$BATS_TEST_DIRNAME/.."; W=$BATS_TEST_TMPDIR; }

@test "a program linking skalibs and libowfat's DNS is refused" {
  cat >"$W/both.c" <<'C'
#include <skalibs/buffer.h>
extern int dns_domain_length(const char *);
int main(void) { buffer_putsflush(buffer_1, "x"); return dns_domain_length("\0"); }
C
  gcc -o "$W/both" "$W/both.c" -l:libskarnet.a /usr/lib/libowfat.a -Wl,-Map="$W/both.map"
  run sh mk/check-link "$W/both.map"
  assert_failure
  assert_output --partial "links both skalibs"
}

@test "a skalibs program may take libowfat's base64 objects" {
  cat >"$W/b64.c" <<'C'
#include <stddef.h>
#include <skalibs/buffer.h>
extern size_t fmt_base64(char *, const char *, size_t);
int main(void) { char o[8]; buffer_putsflush(buffer_1, "x"); return (int)fmt_base64(o, "ab", 2) - 4; }
C
  gcc -o "$W/b64" "$W/b64.c" -l:libskarnet.a /usr/lib/libowfat.a -Wl,-Map="$W/b64.map"
  run sh mk/check-link "$W/b64.map"
  assert_success
}

@test "every built program passed the link check and is hardened" {
  for b in "$POCHTA_BIN"/pochta*; do
    case $b in *.map|*.tmp) continue ;; esac
    [ -f "$b.map" ] || continue
    run sh mk/check-link "$b.map"
    assert_success
    # full RELRO (BIND_NOW) and PIE
    run readelf -d "$b"
    assert_output --partial "BIND_NOW"
    run readelf -h "$b"
    assert_output --partial "DYN"
  done
}
