#!/usr/bin/env bats
# pochta-imapd and Dovecot on the same Maildir: same folders, flags, keywords, UIDs and
# UIDVALIDITY, both ways. Dovecot (Debian dovecot-imapd) runs privately here, with
# its own configuration in $BATS_TEST_TMPDIR, on a free loopback port, as "nobody".
load helpers

setup() {
  command -v dovecot >/dev/null || skip "dovecot-imapd not installed"
  instance_new
  allow_plain_auth
  start_imapd
  # Dovecot refuses uid 0 for mail: the Maildirs go to nobody, who needs +x on the way
  d=$MAILROOT
  while [ "$d" != / ]; do chmod o+x "$d"; d=$(dirname "$d"); done
  chmod -R o+x "$MAILROOT"
}

teardown() {
  [ -f "$BATS_TEST_TMPDIR/dv/run/master.pid" ] && kill "$(cat "$BATS_TEST_TMPDIR/dv/run/master.pid")" 2>/dev/null
  stop_all
}

start_dovecot() {
  local D=$BATS_TEST_TMPDIR/dv
  mkdir -p "$D"
  DOVECOT_PORT=$(python3 -c "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])")
  cat >"$D/dovecot.conf" <<CONF
base_dir = $D/run
state_dir = $D/state
instance_name = pochta-imapd-test-$$
log_path = $D/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = 65534
last_valid_uid = 65534
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  separator = .
}
passdb {
  driver = static
  args = password=secret
}
userdb {
  driver = static
  args = uid=65534 gid=65534 home=$MAILROOT/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $DOVECOT_PORT
  }
  inet_listener imaps {
    port = 0
  }
  chroot =
}
service anvil {
  chroot =
}
CONF
  dovecot -c "$D/dovecot.conf"
  wait_for 5 python3 -c "import socket; socket.create_connection(('127.0.0.1', $DOVECOT_PORT))" 2>/dev/null
}

snap() { python3 "$TESTS_DIR/imapd/snapshot.py" "$@"; }

@test "imapd-dovecot: Dovecot opens a Maildir pochta wrote: same folders, flags, UIDs" {
  ours=$(snap "$IMAP_PORT" alice@example.test fill)
  echo "pochta:  $ours"
  chown -R 65534:65534 "$(maildir_of alice@example.test)"
  start_dovecot
  theirs=$(snap "$DOVECOT_PORT" alice@example.test)
  echo "dovecot: $theirs"
  cat "$BATS_TEST_TMPDIR/dv/dovecot.log" >&2 || true
  [ "$ours" = "$theirs" ]
  [[ "$ours" == *'"$Junk"'* ]] && [[ "$ours" == *'"custom"'* ]]
}

@test "imapd-dovecot: pochta opens a Maildir Dovecot wrote: same folders, flags, UIDs" {
  mkdir -p "$(maildir_of bob@example.test)"
  chown -R 65534:65534 "$MAILROOT/example.test/bob"
  start_dovecot
  theirs=$(snap "$DOVECOT_PORT" bob@example.test fill)
  echo "dovecot: $theirs"
  ours=$(snap "$IMAP_PORT" bob@example.test)
  echo "pochta:  $ours"
  [ "$ours" = "$theirs" ]
}
