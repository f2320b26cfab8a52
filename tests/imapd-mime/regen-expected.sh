#!/bin/sh
# regen-expected.sh — record Dovecot's answers for the MIME corpus.
#
# Starts a private Dovecot (Debian dovecot-imapd; as root) on a free loopback port
# with its configuration, state and Maildir in a temporary directory, puts each
# corpus message into the Maildir exactly as it is on disk (LF line ends, as pochta
# stores them), and writes what Dovecot answers to FETCH into expected/:
#   NN.envelope NN.bodystructure NN.body NN.size   (ENVELOPE, BODYSTRUCTURE, BODY, RFC822.SIZE)
#   NN.sec.<SECTION>                              (BODY[SECTION] / BINARY[...] values)
# The tests compare pochta's output to these files and never need Dovecot.
# Usage: sh tests/imapd-mime/regen-expected.sh   (needs root and dovecot-imapd)
# MIME_CORPUS and MIME_EXPECTED name other directories (for one-off comparisons).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "regen-expected: run as root" >&2; exit 100; }
command -v dovecot >/dev/null || { echo "regen-expected: install dovecot-imapd" >&2; exit 100; }
tmp=$(mktemp -d /tmp/mime-dovecot.XXXXXX)
chmod 755 "$tmp"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
uid=$(id -u nobody) gid=$(id -g nobody)
mkdir -p "$tmp/run" "$tmp/state" "$tmp/home/Maildir/new" "$tmp/home/Maildir/cur" "$tmp/home/Maildir/tmp"
chown -R nobody "$tmp/home"
echo "mime:{PLAIN}secret::::::" >"$tmp/users"
chmod 644 "$tmp/users"
cat >"$tmp/dovecot.conf" <<CONF
protocols = imap
listen = 127.0.0.1
base_dir = $tmp/run
state_dir = $tmp/state
instance_name = mime-expected
log_path = $tmp/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = $uid
last_valid_uid = $uid
first_valid_gid = $gid
last_valid_gid = $gid
mail_location = maildir:~/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN $tmp/users
}
userdb {
  driver = static
  args = uid=$uid gid=$gid home=$tmp/home
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
service imap-login {
  chroot =
}
CONF
dovecot -c "$tmp/dovecot.conf"
trap 'kill "$(cat "$tmp/run/master.pid")" 2>/dev/null; sleep 1; rm -rf "$tmp"' EXIT
sleep 1
python3 "$here/fetch-expected.py" 127.0.0.1 "$port" "$tmp/home/Maildir" "${MIME_CORPUS:-$here/corpus}" "${MIME_EXPECTED:-$here/expected}"
[ -n "${MIME_CORPUS:-}" ] && exit 0
# The limit messages are generated (megabytes): keep only the SHA-256 of each answer.
python3 "$here/gen-limits.py" "$tmp/limits"
rm -rf "$tmp/home/Maildir/cur/"* "$tmp/home/Maildir/new/"* "$tmp/home/Maildir/dovecot"*
python3 "$here/fetch-expected.py" 127.0.0.1 "$port" "$tmp/home/Maildir" "$tmp/limits" "$tmp/limits-expected"
(cd "$tmp/limits-expected" && sha256sum -- *) >"$here/limits.sha256"
