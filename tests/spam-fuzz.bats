#!/usr/bin/env bats
# spam/'s libFuzzer targets (messages and every engine over them, configuration
# files, token databases, clamd and DNS answers) for about 10 seconds each from
# their seed corpora in tests/fuzz/. Uses $POCHTA_BUILD/fuzz/ when `make fuzz` made
# them, else builds them.

load helpers

setup_file() { fuzz_targets fuzz-spammsg fuzz-spamconf fuzz-bayesdb fuzz-spamreply; }
setup() {
  [ -z "$FZ_SKIP" ] || skip "$FZ_SKIP"
  top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
}

fuzz() {
  local f=$1
  mkdir -p "$BATS_TEST_TMPDIR/corpus-$f"
  run timeout 120 "$FZ/$f" -max_total_time=10 -max_len=16384 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$BATS_TEST_TMPDIR/" "$BATS_TEST_TMPDIR/corpus-$f" "$top/tests/fuzz/$f"
  [ "$status" -eq 0 ] || { echo "$output" | tail -40; false; }
  assert_output --partial "Done "
}

@test "spam fuzz: messages through every engine" { fuzz fuzz-spammsg; }
@test "spam fuzz: configuration files" { fuzz fuzz-spamconf; }
@test "spam fuzz: token database files" { fuzz fuzz-bayesdb; }
@test "spam fuzz: clamd and DNS answers, greylisting records" { fuzz fuzz-spamreply; }

@test "spam fuzz: every seed runs clean" {
  for f in fuzz-spammsg fuzz-spamconf fuzz-bayesdb fuzz-spamreply; do
    run "$FZ/$f" -runs=0 "$top"/tests/fuzz/$f/*
    assert_success
  done
}
