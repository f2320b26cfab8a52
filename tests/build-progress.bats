#!/usr/bin/env bats
# ./build.sh build: a line when the build starts and one when it ends, the compiler's
# lines in a log; a failed build says where the log is and shows its end.

load helpers

setup() { TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd); O=$BATS_TEST_TMPDIR/o; }

@test "build.sh build: two lines of progress, the full output in the log" {
  run "$TOP/build.sh" build O="$O"
  assert_success
  [ "${#lines[@]}" -eq 2 ]
  assert_line --index 0 --regexp "^build.sh: building into $O/: [0-9]+ steps \(full output in $O/build.log\)$"
  assert_line --index 1 --regexp "^build.sh: built into $O/ in [0-9]+ s \([0-9]+ steps; full output in $O/build.log\)$"
  refute_output --partial " -c -o "
  # every compiler line went to the log
  run grep -c -- " -c -o $O/" "$O/build.log"
  [ "$output" -ge 50 ]
  [ -x "$O/bin/pochta" ]
  # up to date: nothing to say
  run "$TOP/build.sh" build O="$O"
  assert_success
  assert_output ""
}

@test "build.sh build: a failed build names its log and shows the compiler's error" {
  run "$TOP/build.sh" build O="$O" CC="gcc -include $BATS_TEST_TMPDIR/missing.h"
  assert_failure
  assert_output --partial "build.sh: the build failed (make exited 2); full output in $O/build.log, which ends:"
  assert_output --partial "fatal error: $BATS_TEST_TMPDIR/missing.h: No such file or directory"
  [ "${#lines[@]}" -le 30 ]
  run grep -c "missing.h" "$O/build.log"
  [ "$output" -ge 1 ]
}
