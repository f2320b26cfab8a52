#!/usr/bin/env bats
# The DNS answer parser, the message authentication engines (DKIM, ARC, DMARC, A-R)
# and SPF under libFuzzer for about 10 seconds each, from the seeds in
# tests/fuzz/fuzz-{dnsparse,msgauth,spf}. Uses $POCHTA_BUILD/fuzz/ when `make fuzz`
# made them, else builds them once (fuzz_targets).

load helpers

setup_file() { fuzz_targets fuzz-dnsparse fuzz-msgauth fuzz-spf; }
setup() {
  [ -z "$FZ_SKIP" ] || skip "$FZ_SKIP"
  top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
}

fuzz_for() {
  F=$FZ/$1
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
