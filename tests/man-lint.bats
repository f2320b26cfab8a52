#!/usr/bin/env bats
# The man pages: mandoc -Tlint finds no warning and no error in any of them (what it
# reports at those levels shows garbled or lost in man(1)), and what they must say.

load helpers

setup() { MAN=$(cd "$BATS_TEST_DIRNAME/../man" && pwd); }

@test "mandoc -Tlint: no warning or error in any man page" {
  command -v mandoc >/dev/null || fail "mandoc is missing (./build.sh deps installs it)"
  local pages=("$MAN"/*.[1-8])
  [ ${#pages[@]} -ge 17 ]
  run mandoc -Tlint -Wwarning "${pages[@]}"
  assert_output ""
  assert_success
}

@test "record formats render as written: escapes are text, not roff requests" {
  command -v mandoc >/dev/null || fail "mandoc is missing (./build.sh deps installs it)"
  run sh -c "mandoc -Tascii '$MAN/pochta-remote.8' | col -b"
  assert_line --partial '<code><recipient>\t<text>\n'
  run sh -c "mandoc -Tascii '$MAN/pochta-bounce.8' | col -b"
  assert_line --partial '<recipient>\tD|Z\t<diagnostic>\n'
}

@test "pochta-config(5) describes every smarthost file pochta-remote reads" {
  command -v mandoc >/dev/null || fail "mandoc is missing (./build.sh deps installs it)"
  local f
  run sh -c "mandoc -Tascii '$MAN/pochta-config.5' | col -b"
  for f in $(grep -ohE '"smarthost[a-z-]*"' "$BATS_TEST_DIRNAME/../remote/remote.c" | tr -d '"' | sort -u); do
    assert_line --regexp "^       $f\$"
  done
}
