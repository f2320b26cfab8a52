#!/usr/bin/env bats
# The SMTP session engine (commands, AUTH, DATA/BDAT state machines) under
# libFuzzer for about 20 seconds, from the seed corpus in tests/fuzz/fuzz-smtpd.
# Uses $POCHTA_BUILD/fuzz/fuzz-smtpd when `make fuzz` made it, else builds it.

load helpers

setup() {
  top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  F=${POCHTA_BUILD:-$POCHTA_BIN/..}/fuzz/fuzz-smtpd
  if [ ! -x "$F" ]; then
    command -v clang >/dev/null || skip "clang not installed: no libFuzzer build"
    echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$BATS_TEST_TMPDIR/t.c"
    clang -fsanitize=fuzzer -o "$BATS_TEST_TMPDIR/t" "$BATS_TEST_TMPDIR/t.c" 2>/dev/null ||
      skip "clang's libFuzzer is unavailable (libclang-rt-14-dev)"
    make -s -C "$top" O="$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/b/fuzz/fuzz-smtpd" >/dev/null 2>&1 ||
      skip "fuzz-smtpd did not build"
    F=$BATS_TEST_TMPDIR/b/fuzz/fuzz-smtpd
  fi
}

@test "smtpd fuzz: 20 s of libFuzzer on the session engine finds nothing" {
  mkdir -p "$BATS_TEST_TMPDIR/corpus"
  run timeout 120 "$F" -max_total_time=20 -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="$BATS_TEST_TMPDIR/" "$BATS_TEST_TMPDIR/corpus" "$top/tests/fuzz/fuzz-smtpd"
  [ "$status" -eq 0 ] || { echo "$output" | tail -40; false; }
  assert_output --partial "Done "
}

@test "smtpd fuzz: every seed runs clean" {
  run "$F" -runs=0 "$top"/tests/fuzz/fuzz-smtpd/*
  assert_success
}
