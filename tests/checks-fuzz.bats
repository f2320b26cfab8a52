#!/usr/bin/env bats
# The DNS answer parser, the message authentication engines (DKIM, ARC, DMARC, A-R)
# and SPF under libFuzzer for about 10 seconds each, from the seeds in
# tests/fuzz/fuzz-{dnsparse,msgauth,spf}. Uses $POCHTA_BUILD/fuzz/ when `make fuzz`
# made them, else builds them.

load helpers

setup() {
  top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  B=${POCHTA_BUILD:-$POCHTA_BIN/..}
}

# fuzzer NAME: the path of a built fuzz target in $F (skips when none can be built)
fuzzer() {
  F=$B/fuzz/$1
  [ -x "$F" ] && return 0
  command -v clang >/dev/null || skip "clang not installed: no libFuzzer build"
  make -s -C "$top" O="$BATS_TEST_TMPDIR/b" "$BATS_TEST_TMPDIR/b/fuzz/$1" >/dev/null 2>&1 || skip "$1 did not build"
  F=$BATS_TEST_TMPDIR/b/fuzz/$1
}

fuzz_for() {
  fuzzer "$1"
  mkdir -p "$BATS_TEST_TMPDIR/corpus"
  run timeout 120 "$F" -max_total_time=10 -max_len="$2" -timeout=10 -rss_limit_mb=1024 \
    -artifact_prefix="$BATS_TEST_TMPDIR/" "$BATS_TEST_TMPDIR/corpus" "$top/tests/fuzz/$1"
  [ "$status" -eq 0 ] || { echo "$output" | tail -40; false; }
  assert_output --partial "Done "
  run "$F" -runs=0 "$top"/tests/fuzz/"$1"/*
  assert_success
}

@test "fuzz-dnsparse: DNS answers of any shape parse within bounds" { fuzz_for fuzz-dnsparse 4096; }
@test "fuzz-msgauth: messages through DKIM, ARC, DMARC and the A-R writer" { fuzz_for fuzz-msgauth 16384; }
@test "fuzz-spf: SPF records, macros, includes and limits" { fuzz_for fuzz-spf 2048; }
