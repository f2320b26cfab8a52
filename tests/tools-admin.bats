#!/usr/bin/env bats
# pochta, the admin tool: instance, domains, users, aliases, app passwords,
# and the users.cdb it compiles (read back through pochta-checkpassword and
# the cdb itself).

load helpers

setup() { instance_new; }
teardown() { stop_all; }

# cdb_keys: every key of users.cdb, one per line (a reader of the cdb format
# written independently of lib/ and tools/).
cdb_keys() {
  python3 - "$POCHTA_CONF/${1:-users.cdb}" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
end = min([struct.unpack('<II', d[i*8:i*8+8])[0] for i in range(256)] + [len(d)])
pos = 2048
while pos < end:
    kl, vl = struct.unpack('<II', d[pos:pos+8])
    k = d[pos+8:pos+8+kl]; v = d[pos+8+kl:pos+8+kl+vl]
    print(k.decode(), '=', v.decode().replace('\n', '|'))
    pos += 8 + kl + vl
PY
}

@test "init writes the instance facts" {
  run cat "$POCHTA_CONF/me" "$POCHTA_CONF/queuedir" "$POCHTA_CONF/mailroot" "$POCHTA_CONF/owner"
  assert_success
  assert_line --index 0 mx.example.test
  assert_line --index 1 "$QUEUE"
  assert_line --index 2 "$MAILROOT"
  assert_line --index 3 "$(id -u):$(id -g)"
  [ -d "$QUEUE" ]
  [ -d "$MAILROOT" ]
  [ -f "$POCHTA_CONF/users.cdb" ]
}

@test "init is idempotent and refuses to clobber" {
  run pochta -C "$POCHTA_CONF" init --queue "$QUEUE" --mail "$MAILROOT" --hostname mx.example.test
  assert_success
  run pochta -C "$POCHTA_CONF" init
  assert_success
  run pochta -C "$POCHTA_CONF" init --hostname other.example.test
  assert_failure 100
  assert_output --partial "refusing to clobber"
  run pochta -C "$POCHTA_CONF" init --queue "$INST/otherqueue"
  assert_failure 100
  run cat "$POCHTA_CONF/me"
  assert_output mx.example.test
  # users survive a second init
  run pochta -C "$POCHTA_CONF" user list
  assert_line alice@example.test
}

@test "users.cdb holds domains, users and postmaster; the hashes are apart, for root alone" {
  run cdb_keys
  assert_success
  assert_line "!pochta = users.cdb"
  assert_line "d:example.test = "
  assert_line "u:alice@example.test = $(maildir_of alice@example.test)"
  assert_line "i:postmaster@example.test = alice@example.test"
  refute_output --partial 'p:alice'
  refute_output --partial '$y$'
  run cdb_keys passwords.cdb
  assert_line "!pochta = passwords.cdb"
  assert_line --regexp '^p:alice@example.test = default:\$y\$[^|]+\|$'
  run stat -c %a "$POCHTA_CONF/passwords.cdb"
  assert_output 600
  run stat -c %a "$POCHTA_CONF/users.cdb"
  assert_output 640
}

@test "user add makes a Maildir with the special-use folders" {
  local md; md=$(maildir_of alice@example.test)
  for d in "" /.Sent /.Drafts /.Junk /.Trash /.Archive; do
    [ -d "$md$d/tmp" ] && [ -d "$md$d/new" ] && [ -d "$md$d/cur" ]
  done
  [ -f "$md/.Sent/maildirfolder" ]
  [ ! -e "$md/maildirfolder" ]
  run stat -c %a "$md"
  assert_output 700
}

@test "user add refuses bad addresses, unknown domains, duplicates" {
  run pochta user add "../etc@example.test" --password x
  assert_failure 100
  run pochta user add "a/b@example.test" --password x
  assert_failure 100
  run pochta user add "a:b@example.test" --password x
  assert_failure 100
  run pochta user add "carol@other.test" --password x
  assert_failure 100
  assert_output --partial "not a local domain"
  run pochta user add "alice@example.test" --password x
  assert_failure 100
  run pochta user add "Carol@Example.TEST" --password ""
  assert_failure 100
  [ ! -e "$MAILROOT/example.test/carol" ]
  run pochta user list
  assert_output "alice@example.test
bob@example.test"
}

@test "addresses are stored lowercase" {
  run pochta user add "Carol@Example.TEST" --password pw
  assert_success
  run pochta user list example.test
  assert_line carol@example.test
  [ -d "$MAILROOT/example.test/carol/Maildir/new" ]
}

@test "password from stdin when not a terminal" {
  run sh -c 'echo "from stdin" | pochta user add dave@example.test'
  assert_success
  run sh -c 'printf "new one\n" | pochta user passwd dave@example.test'
  assert_success
  run grep -c '^dave@example.test:default:\$y\$' "$POCHTA_CONF/passwords"
  assert_output 1
}

@test "user del removes the login but keeps the Maildir" {
  run pochta user del bob@example.test
  assert_success
  assert_output --partial "Maildir is kept"
  run cdb_keys
  refute_line --partial "bob@example.test"
  [ -d "$(maildir_of bob@example.test)/new" ]
  run pochta user del bob@example.test
  assert_failure 100
}

@test "domain add/list/del" {
  run pochta domain add Other.Test
  assert_success
  run pochta domain add other.test
  assert_success
  run pochta domain list
  assert_output "example.test
other.test"
  run pochta domain del example.test
  assert_failure 100
  assert_output --partial "still has users"
  run pochta domain del other.test
  assert_success
  run pochta domain del other.test
  assert_failure 100
  run pochta domain add "bad_domain"
  assert_failure 100
  run pochta domain add "../x"
  assert_failure 100
  run pochta domain list
  assert_output "example.test"
}

@test "aliases and catch-all compile into a: keys" {
  run pochta alias add sales@example.test alice@example.test Bob@Example.test
  assert_success
  run pochta alias add sales@example.test alice@example.test ext@remote.test
  assert_success
  run cdb_keys
  assert_line "a:sales@example.test = alice@example.test|bob@example.test|ext@remote.test"
  refute_line --partial "a:@example.test"
  run pochta catchall example.test bob@example.test
  assert_success
  run cdb_keys
  assert_line "a:@example.test = bob@example.test"
  run pochta catchall example.test off
  assert_success
  run cdb_keys
  refute_line --partial "a:@example.test"
  run pochta alias del sales@example.test
  assert_success
  run pochta alias list
  assert_output ""
  run pochta alias add x@remote.test alice@example.test
  assert_failure 100
}

@test "postmaster follows the postmaster file and an explicit alias" {
  echo bob@example.test >"$POCHTA_CONF/postmaster"
  run pochta compile
  assert_success
  run cdb_keys
  assert_line "i:postmaster@example.test = bob@example.test"
  run pochta alias add postmaster@example.test ext@remote.test
  run cdb_keys
  assert_line "a:postmaster@example.test = ext@remote.test"
  refute_output --partial "i:postmaster@example.test"
}

@test "apppass add prints a password once, list and del" {
  run pochta apppass add alice@example.test phone
  assert_success
  assert_output --regexp '^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$'
  run pochta apppass add alice@example.test phone
  assert_failure 100
  run pochta apppass add alice@example.test default
  assert_failure 100
  run pochta apppass add nobody@example.test phone
  assert_failure 100
  run pochta apppass list alice@example.test
  assert_output phone
  # app passwords are random: a cheap hash ($5$, 1000 rounds), see pochta(8)
  run cdb_keys passwords.cdb
  assert_line --regexp '^p:alice@example.test = default:\$y\$[^|]+\|phone:\$5\$rounds=1000\$[^|]+\|$'
  run pochta apppass del alice@example.test phone
  assert_success
  run pochta apppass list alice@example.test
  assert_output ""
}

@test "the text files are replaced atomically, no temporary file left" {
  pochta domain add other.test
  pochta user add x@other.test --password pw
  run sh -c "ls -a '$POCHTA_CONF' | grep -c tmp"
  assert_output 0
}

@test "usage errors exit 100" {
  run pochta
  assert_failure 100
  run pochta frobnicate
  assert_failure 100
  run pochta user
  assert_failure 100
  run pochta init --queue
  assert_failure 100
}

@test "concurrent changes do not lose each other (the instance lock)" {
  local i
  for i in 1 2 3 4 5 6 7 8; do
    pochta user add "p$i@example.test" --password pw &
  done
  wait
  run sh -c "pochta user list | grep -c '^p[1-8]@example.test$'"
  assert_output 8
  run sh -c "grep -c '^p[1-8]@example.test:default:' '$POCHTA_CONF/passwords'"
  assert_output 8
}

@test "a hand-edited file with junk lines compiles what is valid and warns" {
  printf '# comment\n\nBAD LINE\nzed@example.test:relative/path\nEve@Example.Test:/x/Maildir\n' >>"$POCHTA_CONF/users"
  printf 'nocolon\n@bad_domain: a@b.test\nx@example.test: not an address\n' >>"$POCHTA_CONF/aliases"
  run pochta compile
  assert_success
  assert_output --partial "users line 5: not address:maildir"
  assert_output --partial "users line 6: maildir is not an absolute path"
  assert_output --partial "aliases line 1"
  run cdb_keys
  assert_line "u:eve@example.test = /x/Maildir"
  refute_line --partial "zed@"
  refute_line --partial "a:x@example.test"
}

@test "pochta queue runs pochta-queuectl" {
  [ -x "$POCHTA_BIN/pochta-queuectl" ] || skip "pochta-queuectl not built yet"
  run pochta queue list
  assert_success
  run pochta queue frobnicate
  assert_failure
}

@test "alias add refuses a local target nobody holds, unless --force, and says so" {
  run pochta alias add foo@example.test nobody@example.test
  assert_failure 100
  assert_output --partial "no such user or alias: nobody@example.test"
  assert_output --partial "--force"
  run pochta alias list
  assert_output ""
  # one bad target among good ones: nothing changes
  run pochta alias add foo@example.test alice@example.test nobody@example.test
  assert_failure 100
  run pochta alias list
  assert_output ""
  # an alias naming itself keeps a copy only for a user
  run pochta alias add foo@example.test foo@example.test
  assert_failure 100
  assert_output --partial "names itself but is not a user"
  # users, aliases, postmaster and remote addresses are fine, silently
  run pochta alias add foo@example.test alice@example.test postmaster@example.test ext@remote.test
  assert_success
  assert_output ""
  run pochta alias add bar@example.test foo@example.test
  assert_success
  assert_output ""
  # forced: added, and still said
  run pochta alias add --force baz@example.test carol@example.test
  assert_success
  assert_output --partial "warning: no such user or alias: carol@example.test"
  run pochta alias add qux@example.test carol@example.test --force
  assert_success
  run cdb_keys
  assert_line "a:baz@example.test = carol@example.test"
  assert_line "a:qux@example.test = carol@example.test"
  # the same for a catch-all
  run pochta catchall example.test nobody@example.test
  assert_failure 100
  run pochta catchall --force example.test nobody@example.test
  assert_success
  assert_output --partial "warning: no such user or alias"
}

@test "alias add to a deleted user is refused; user del names the aliases left" {
  pochta alias add sales@example.test bob@example.test alice@example.test
  run pochta user del bob@example.test
  assert_success
  assert_output --partial "aliases still name bob@example.test: sales@example.test"
  run pochta alias add team@example.test bob@example.test
  assert_failure 100
  assert_output --partial "no such user or alias: bob@example.test"
  run pochta user del alice@example.test
  refute_output --partial "aliases still name alice@example.test: postmaster"
}

@test "user add --password works but warns that ps shows it; standard input is quiet" {
  run pochta user add carol@example.test --password pw1
  assert_success
  assert_output --partial "warning: --password puts the password where ps and the shell history show it"
  assert_output --partial "pochta user add ADDR"
  run pochta user passwd carol@example.test --password pw2
  assert_success
  assert_output --partial "warning: --password"
  assert_output --partial "pochta user passwd ADDR"
  run sh -c 'printf "pw3\n" | pochta user add dave@example.test'
  assert_success
  assert_output ""
  run sh -c 'printf "pw4\n" | pochta user passwd dave@example.test'
  assert_success
  assert_output ""
  printf '%s\0%s\0x\0' carol@example.test pw2 >"$BATS_TEST_TMPDIR/fd3"
  run pochta-checkpassword true 3<"$BATS_TEST_TMPDIR/fd3"
  assert_success
}

@test "init as root without --owner warns (a real instance); with --owner it does not" {
  [ "$(id -u)" = 0 ] || skip "needs root"
  run pochta -C "$BATS_TEST_TMPDIR/real" init --queue "$BATS_TEST_TMPDIR/rq" --mail "$BATS_TEST_TMPDIR/rm" --state "$BATS_TEST_TMPDIR/rs"
  assert_success
  assert_output --partial "the owner of the Maildirs is root"
  run pochta -C "$BATS_TEST_TMPDIR/demo" init --queue "$BATS_TEST_TMPDIR/dq" --mail "$BATS_TEST_TMPDIR/dm" --state "$BATS_TEST_TMPDIR/ds" --owner 0:0
  assert_success
  refute_output --partial "warning"
}
