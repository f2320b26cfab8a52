#!/usr/bin/env bats
# pochta-checkpassword: the checkpassword interface (fd 3), app passwords,
# failed-login accounting and bans per remote address.

load helpers

setup() {
  instance_new
  # Small figures so that bans happen and end within a test; no waiting by default.
  echo "max=3 window=600 ban=2 delay=0" >"$POCHTA_CONF/authfail"
  unset TCPREMOTEIP
}
teardown() {
  stop_all
  if [ -f "$BATS_TEST_TMPDIR/cleanup-dir" ]; then rm -rf "$(cat "$BATS_TEST_TMPDIR/cleanup-dir")"; fi
}

# cp USER PASS [PROG...]: run pochta-checkpassword with USER\0PASS\0TIMESTAMP\0 on fd 3.
cp() {
  local user=$1 pass=$2; shift 2
  [ $# -gt 0 ] || set -- true
  printf '%s\0%s\0%s\0' "$user" "$pass" "<1.2@host>" >"$BATS_TEST_TMPDIR/fd3"
  pochta-checkpassword "$@" 3<"$BATS_TEST_TMPDIR/fd3"
}

# raw FILE PROG...: fd 3 from FILE, as is.
raw() {
  local f=$1; shift
  pochta-checkpassword "$@" 3<"$f"
}

@test "right password: exit 0, environment set, chdir HOME, PROG run" {
  run cp alice@example.test secret sh -c 'echo "U=$USER H=$HOME M=$MAILDIR L=$AUTHLABEL P=$(pwd)"'
  assert_success
  local md; md=$(maildir_of alice@example.test)
  assert_line "U=alice@example.test H=${md%/Maildir} M=$md L=default P=${md%/Maildir}"
}

@test "the user name is matched without regard to case; USER is canonical" {
  run cp Alice@EXAMPLE.test secret sh -c 'echo "$USER"'
  assert_success
  assert_line alice@example.test
}

@test "wrong password, unknown user, empty fields: exit 1" {
  run cp alice@example.test wrong
  assert_failure 1
  assert_output --partial "event=fail reason=password"
  run cp nobody@example.test secret
  assert_failure 1
  assert_output --partial "reason=unknown"
  run cp alice secret
  assert_failure 1
  run cp alice@example.test ""
  assert_failure 1
  run cp "" secret
  assert_failure 1
  run cp alice@other.test secret
  assert_failure 1
}

@test "a password that is the prefix or extension of the right one fails" {
  run cp alice@example.test secre
  assert_failure 1
  run cp alice@example.test secretx
  assert_failure 1
  run cp alice@example.test "secret "
  assert_failure 1
}

@test "malformed fd 3 input: exit 2" {
  printf 'alice@example.test' >"$BATS_TEST_TMPDIR/nonul"
  run raw "$BATS_TEST_TMPDIR/nonul" true
  assert_failure 2
  printf 'alice@example.test\0secret' >"$BATS_TEST_TMPDIR/onenul"
  run raw "$BATS_TEST_TMPDIR/onenul" true
  assert_failure 2
  : >"$BATS_TEST_TMPDIR/empty"
  run raw "$BATS_TEST_TMPDIR/empty" true
  assert_failure 2
  { printf 'alice@example.test\0secret\0'; head -c 600 /dev/zero | tr '\0' 1; printf '\0'; } >"$BATS_TEST_TMPDIR/long"
  run raw "$BATS_TEST_TMPDIR/long" true
  assert_failure 2
  assert_output --partial "more than 512"
  # exactly 512 octets is fine
  { printf 'alice@example.test\0secret\0'; head -c $((512 - 27)) /dev/zero | tr '\0' 1; printf '\0'; } >"$BATS_TEST_TMPDIR/max"
  [ "$(stat -c %s "$BATS_TEST_TMPDIR/max")" -eq 512 ]
  run raw "$BATS_TEST_TMPDIR/max" true
  assert_success
  # no program to run, no fd 3
  run pochta-checkpassword
  assert_failure 2
  run sh -c 'pochta-checkpassword true 3<&-'
  assert_failure 2
}

@test "a timestamp is optional; NUL-free garbage after it is ignored" {
  printf 'alice@example.test\0secret\0' >"$BATS_TEST_TMPDIR/nots"
  run raw "$BATS_TEST_TMPDIR/nots" true
  assert_success
}

@test "hostile user names are logged escaped, never as raw bytes" {
  run cp "$(printf 'x"y\\z\001\033[2J@example.test')" pw
  assert_failure 1
  assert_output --partial 'user="x\x22y\x5cz\x01\x1b[2J@example.test"'
}

@test "app passwords: each works and says which; revoked ones stop working" {
  local phone laptop
  phone=$(pochta apppass add alice@example.test phone)
  laptop=$(pochta apppass add alice@example.test laptop)
  run cp alice@example.test "$phone" sh -c 'echo "L=$AUTHLABEL"'
  assert_success
  assert_line L=phone
  run cp alice@example.test "$laptop" sh -c 'echo "L=$AUTHLABEL"'
  assert_line L=laptop
  run cp bob@example.test "$phone"
  assert_failure 1
  pochta apppass del alice@example.test phone
  run cp alice@example.test "$phone"
  assert_failure 1
  run cp alice@example.test "$laptop"
  assert_success
  run cp alice@example.test secret sh -c 'echo "L=$AUTHLABEL"'
  assert_line L=default
}

@test "user passwd changes the password; user del ends logins" {
  pochta user passwd alice@example.test --password n3w
  run cp alice@example.test secret
  assert_failure 1
  run cp alice@example.test n3w
  assert_success
  pochta user del alice@example.test
  run cp alice@example.test n3w
  assert_failure 1
}

@test "hashes of other crypt(3) schemes are accepted" {
  local h; h=$(openssl passwd -6 -salt s4ltS4lt legacy)
  echo "bob@example.test:old:$h" >>"$POCHTA_CONF/passwords"
  pochta compile
  run cp bob@example.test legacy sh -c 'echo "L=$AUTHLABEL"'
  assert_success
  assert_line L=old
}

@test "ban after max failures from one address, even with the right password, then expiry" {
  export TCPREMOTEIP=127.0.0.7
  run cp alice@example.test wrong1
  assert_failure 1
  run cp alice@example.test wrong2
  assert_failure 1
  run cp bob@example.test wrong3
  assert_failure 1
  assert_output --partial "event=ban ip=127.0.0.7 failures=3"
  run cp alice@example.test secret
  assert_failure 1
  assert_output --partial "event=refused reason=banned ip=127.0.0.7"
  # another address is not affected
  TCPREMOTEIP=127.0.0.8 run cp alice@example.test secret
  assert_success
  # the ban ends (ban=2 seconds)
  wait_for 10 cp alice@example.test secret
  run cp alice@example.test secret
  assert_success
}

@test "failures outside the window do not count" {
  echo "max=2 window=1 ban=600 delay=0" >"$POCHTA_CONF/authfail"
  export TCPREMOTEIP=127.0.0.9
  run cp alice@example.test wrong
  assert_failure 1
  sleep 2
  run cp alice@example.test wrong
  assert_failure 1
  refute_output --partial "event=ban"
  run cp alice@example.test secret
  assert_success
}

@test "IPv6 addresses count per /64; v4-mapped counts as v4" {
  export TCPREMOTEIP=2001:db8:1:2::1
  run cp alice@example.test w
  TCPREMOTEIP=2001:db8:1:2::abcd run cp alice@example.test w
  TCPREMOTEIP=2001:db8:1:2:ffff::9 run cp alice@example.test w
  assert_output --partial "event=ban"
  run cp alice@example.test secret
  assert_failure 1
  TCPREMOTEIP=2001:db8:1:3::1 run cp alice@example.test secret
  assert_success
  TCPREMOTEIP=::ffff:127.0.0.10 run cp alice@example.test w
  assert_output --partial "ip=127.0.0.10"
  [ -f "$MAILROOT/.authfail/4-127.0.0.10" ]
}

@test "a hostile TCPREMOTEIP never becomes a path" {
  # (a path of its own: /tmp/x may well exist, e.g. a clone of this tree)
  export TCPREMOTEIP="../../../../../../../../../..$BATS_TEST_TMPDIR/escaped"
  run cp alice@example.test wrong
  assert_failure 1
  run ls "$MAILROOT/.authfail"
  assert_output invalid
  [ ! -e "$BATS_TEST_TMPDIR/escaped" ]
}

@test "growing delay, capped" {
  echo "max=10 window=600 ban=60 delay=1 maxdelay=2" >"$POCHTA_CONF/authfail"
  export TCPREMOTEIP=127.0.0.11
  run cp alice@example.test w
  assert_output --partial "delay=1"
  run cp alice@example.test w
  assert_output --partial "delay=2"
  run cp alice@example.test w
  assert_output --partial "delay=2"
}

@test "a bad authfail file is a temporary failure" {
  echo "max=lots" >"$POCHTA_CONF/authfail"
  run cp alice@example.test secret
  assert_failure 111
}

@test "no users.cdb at all: every login fails" {
  rm "$POCHTA_CONF/users.cdb"
  run cp alice@example.test secret
  assert_failure 1
}

@test "root switches to the owner before running PROG" {
  [ "$(id -u)" = 0 ] || skip "needs root"
  # The owner must be able to reach its Maildirs: a directory every uid may traverse.
  local inst2; inst2=$(mktemp -d /tmp/auth-owner.XXXXXX)
  chmod 755 "$inst2"
  echo "$inst2" >"$BATS_TEST_TMPDIR/cleanup-dir"
  export POCHTA_CONF=$inst2/etc
  pochta init --queue "$inst2/q" --mail "$inst2/m" --hostname mx.example.test --owner 65534:65534
  pochta domain add example.test 2>/dev/null
  pochta user add carol@example.test --password pw
  run stat -c %u:%g "$inst2/m/example.test/carol/Maildir/new"
  assert_output 65534:65534
  run cp carol@example.test pw sh -c 'echo "$(id -u):$(id -g):$(id -G)"'
  assert_success
  assert_line 65534:65534:65534
}
