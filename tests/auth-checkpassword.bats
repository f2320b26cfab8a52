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

@test "a ban is per account and address: bob still logs in from where alice was banned" {
  export TCPREMOTEIP=127.0.0.7
  run cp alice@example.test wrong1
  assert_failure 1
  run cp alice@example.test wrong2
  assert_failure 1
  run cp alice@example.test wrong3
  assert_failure 1
  assert_output --partial "event=ban ip=127.0.0.7 scope=account failures=3"
  # right and wrong passwords get the same answer while banned
  run cp alice@example.test secret
  assert_failure 1
  assert_output --partial "event=refused reason=banned ip=127.0.0.7"
  run cp alice@example.test wrong4
  assert_failure 1
  assert_output --partial "event=refused reason=banned ip=127.0.0.7"
  # the same address, another account (NAT, a webmail, a /64): not locked out
  run cp bob@example.test secret
  assert_success
  # another address is not affected
  TCPREMOTEIP=127.0.0.8 run cp alice@example.test secret
  assert_success
  # the ban ends (ban=2 seconds)
  wait_for 10 cp alice@example.test secret
  run cp alice@example.test secret
  assert_success
}

@test "the per-address limit bans the address for every account" {
  echo "max=3 ipmax=4 window=600 ban=600 delay=0" >"$POCHTA_CONF/authfail"
  export TCPREMOTEIP=127.0.0.12
  for u in a b c d; do run cp "$u@example.test" wrong; assert_failure 1; done
  assert_output --partial "event=ban ip=127.0.0.12 scope=address failures=4"
  run cp bob@example.test secret
  assert_failure 1
  assert_output --partial "reason=banned"
  TCPREMOTEIP=127.0.0.13 run cp bob@example.test secret
  assert_success
}

@test "a trusted proxy has no per-address limit, its accounts still have theirs" {
  echo "max=3 ipmax=2 window=600 ban=600 delay=0 trusted=127.0.0.0/29,::1" >"$POCHTA_CONF/authfail"
  export TCPREMOTEIP=127.0.0.5
  for u in a b c d e; do run cp "$u@example.test" wrong; assert_failure 1; done
  refute_output --partial "event=ban"
  run cp bob@example.test secret
  assert_success
  for i in 1 2 3; do run cp alice@example.test wrong; done
  assert_output --partial "scope=account"
  run cp alice@example.test secret
  assert_failure 1
  # outside the trusted prefix the address limit holds
  TCPREMOTEIP=127.0.0.9 run cp a@example.test w
  TCPREMOTEIP=127.0.0.9 run cp b@example.test w
  assert_output --partial "scope=address"
}

@test "a good login clears its account's count; nothing is recorded for it" {
  export TCPREMOTEIP=127.0.0.14
  run cp alice@example.test wrong
  run cp alice@example.test wrong
  run cp alice@example.test secret
  assert_success
  run cp alice@example.test wrong
  run cp alice@example.test wrong
  refute_output --partial "event=ban"
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
  TCPREMOTEIP=127.0.0.10 run cp alice@example.test w
  TCPREMOTEIP=::ffff:127.0.0.10 run cp alice@example.test w
  assert_output --partial "event=ban ip=127.0.0.10"
}

@test "a hostile TCPREMOTEIP never becomes a path; systemd's REMOTE_ADDR counts too" {
  # (a path of its own: /tmp/x may well exist, e.g. a clone of this tree)
  export TCPREMOTEIP="../../../../../../../../../..$BATS_TEST_TMPDIR/escaped"
  run cp alice@example.test wrong
  assert_failure 1
  assert_output --partial "ip=invalid"
  run ls "$INST/state/auth"
  assert_output authfail.db
  [ ! -e "$BATS_TEST_TMPDIR/escaped" ]
  unset TCPREMOTEIP
  for i in 1 2 3; do REMOTE_ADDR=::ffff:127.0.0.15 run cp alice@example.test wrong; done
  assert_output --partial "event=ban ip=127.0.0.15"
}

@test "the table stays the same size however many addresses fail" {
  # (each failure costs a full password hash: 100 addresses, not more, keep it short)
  for i in $(seq 1 100); do TCPREMOTEIP=10.0.$i.1 cp "u$i@example.test" w >/dev/null 2>&1 || true; done
  run stat -c %s "$INST/state/auth/authfail.db"
  assert_output 262144
  # what was banned last is still banned
  export TCPREMOTEIP=10.9.9.9
  for i in 1 2 3; do run cp alice@example.test w; done
  run cp alice@example.test secret
  assert_failure 1
}

@test "accounting that cannot be used refuses right and wrong passwords alike (no oracle)" {
  rm -rf "$INST/state/auth"
  export TCPREMOTEIP=127.0.0.16
  run cp alice@example.test secret
  assert_failure 111
  run cp alice@example.test wrong
  assert_failure 111
  # a planted symlink is never written through
  mkdir -m 700 "$INST/state/auth"
  echo "keep me" >"$BATS_TEST_TMPDIR/victim"
  ln -s "$BATS_TEST_TMPDIR/victim" "$INST/state/auth/authfail.db"
  run cp alice@example.test secret
  assert_failure 111
  run cat "$BATS_TEST_TMPDIR/victim"
  assert_output "keep me"
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

@test "no, an empty or a zero-filled users.cdb or passwords.cdb: a temporary failure, loudly" {
  rm "$POCHTA_CONF/users.cdb"
  run cp alice@example.test secret
  assert_failure 111
  assert_output --partial "users.cdb: missing"
  : >"$POCHTA_CONF/users.cdb"
  run cp alice@example.test secret
  assert_failure 111
  head -c 4096 /dev/zero >"$POCHTA_CONF/users.cdb"
  run cp alice@example.test secret
  assert_failure 111
  assert_output --partial "not written by pochta compile"
  pochta compile
  head -c 4096 /dev/zero >"$POCHTA_CONF/passwords.cdb"
  run cp alice@example.test secret
  assert_failure 111
  assert_output --partial "passwords.cdb"
  pochta compile
  run cp alice@example.test secret
  assert_success
}

@test "root switches to the owner before running PROG" {
  [ "$(id -u)" = 0 ] || skip "needs root"
  # The owner must be able to reach its Maildirs: a directory every uid may traverse.
  local inst2; inst2=$(mktemp -d /tmp/auth-owner.XXXXXX)
  chmod 755 "$inst2"
  echo "$inst2" >"$BATS_TEST_TMPDIR/cleanup-dir"
  export POCHTA_CONF=$inst2/etc
  pochta init --queue "$inst2/q" --mail "$inst2/m" --state "$inst2/s" --hostname mx.example.test --owner 65534:65534
  pochta domain add example.test 2>/dev/null
  pochta user add carol@example.test --password pw
  run stat -c %u:%g "$inst2/m/example.test/carol/Maildir/new"
  assert_output 65534:65534
  run cp carol@example.test pw sh -c 'echo "$(id -u):$(id -g):$(id -G)"'
  assert_success
  assert_line 65534:65534:65534
}
