#!/usr/bin/env bats
# The SMTP session engine (commands, AUTH, DATA/BDAT state machines) under
# libFuzzer for about 20 seconds, from the seed corpus in tests/fuzz/fuzz-smtpd.
# Uses $POCHTA_BUILD/fuzz/fuzz-smtpd when `make fuzz` made it, else builds it once
# (fuzz_targets).

load helpers

setup_file() { fuzz_targets fuzz-smtpd; }
setup() {
  [ -z "$FZ_SKIP" ] || skip "$FZ_SKIP"
  top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  F=$FZ/fuzz-smtpd
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
