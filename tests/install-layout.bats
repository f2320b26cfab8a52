#!/usr/bin/env bats
# The documented install (doc/INSTALL.md), built as a new user would: make install,
# pochta init --system (real system accounts, made here and removed afterwards),
# the shipped runit run scripts under a real runsvdir, real clients over IPv4 and
# IPv6. Every property INSTALL.md promises is checked on the running processes and
# files. The accounts are the real names, so runs of this file take a lock.
load helpers
load netns/remote-lib

ACCTS="pochta pochta-login pochta-tls pochta-mail pochta-log"
GRPS="pochta-auth pochta-drop"
SERVICES="pochta-send pochta-smtpd pochta-submission pochta-smtps pochta-imapd pochta-imaps pochta-pop3d pochta-pop3s"

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::",0)); print(s.getsockname()[1])'; }

setup_file() {
  [ "$(id -u)" = 0 ] || skip "needs root: it makes system accounts"
  command -v runsvdir >/dev/null || skip "runit is not installed (build.sh installs it)"
  exec 9>/tmp/pochta-layout-test.lock
  flock 9
  TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  I=$(mktemp -d /tmp/pochta-layout.XXXXXX)
  chmod 755 "$I"
  export I TOP
  # accounts that exist already are left alone at the end
  : >"$I/made"
  for a in $ACCTS; do getent passwd "$a" >/dev/null || echo "u $a" >>"$I/made"; done
  for g in $GRPS $ACCTS; do getent group "$g" >/dev/null || echo "g $g" >>"$I/made"; done
  make -s -C "$TOP" install PREFIX="$I" O="${POCHTA_BUILD:-$TOP/build}" ${POCHTA_SAN:+SAN=1} ${POCHTA_MUSL:+MUSL=1 MUSLDEPS=$TOP/build/musl-deps} >/dev/null
  export PATH="$I/bin:$PATH" POCHTA_CONF="$I/etc"
  # the connection limits' lock files in the test's own directory, not the host's /run/pochta
  mkdir -p "$I/etc" && echo "$I/run" >"$I/etc/rundir"
  pochta init --system --queue "$I/queue" --mail "$I/mail" --state "$I/state" --hostname mx.example.test 2>"$I/init.log"
  pochta domain add example.test
  printf 'secret\n' | pochta user add alice@example.test
  printf 'secret\n' | pochta user add bob@example.test
  tls_cert "$POCHTA_CONF"
  pochta init --system 2>>"$I/init.log"   # again, as INSTALL.md's certificate step leaves it
  echo "delay=0 max=3 ipmax=50 window=600 ban=600" >"$POCHTA_CONF/authfail"
  echo 1 >"$POCHTA_CONF/retrymin"
  export P_SMTP=$(free_port) P_SUB=$(free_port) P_SMTPS=$(free_port) P_IMAP=$(free_port)
  export P_IMAPS=$(free_port) P_POP3=$(free_port) P_POP3S=$(free_port) P_PEER=
  mkdir -p "$I/sv" "$I/service" "$I/log"
  cp -r "$TOP"/etc/runit/* "$I/sv/"
  for s in $SERVICES; do ln -s "$I/sv/$s" "$I/service/"; done
  ( cd / && exec env POCHTA_LOGDIR="$I/log" POCHTA_LISTEN=0 POCHTA_PORT_SMTP=$P_SMTP POCHTA_PORT_SUBMISSION=$P_SUB \
      POCHTA_PORT_SMTPS=$P_SMTPS POCHTA_PORT_IMAP=$P_IMAP POCHTA_PORT_IMAPS=$P_IMAPS POCHTA_PORT_POP3=$P_POP3 \
      POCHTA_PORT_POP3S=$P_POP3S runsvdir -P "$I/service" >/dev/null 2>&1 ) &
  echo $! >"$I/runsvdir.pid"
  for p in $P_SMTP $P_SUB $P_SMTPS $P_IMAP $P_IMAPS $P_POP3 $P_POP3S; do
    wait_for 20 python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$p"
  done
  wait_for 20 grep -q event=start "$I/log/pochta-send/current"
}

teardown_file() {
  [ -n "${I:-}" ] || return 0
  [ -f "$I/runsvdir.pid" ] && kill -HUP "$(cat "$I/runsvdir.pid")" 2>/dev/null
  sleep 1
  for a in $ACCTS; do pkill -KILL -u "$a" 2>/dev/null || true; done
  pkill -f "tcpserver.*pochta-tlsd" 2>/dev/null || true
  while read -r kind name; do
    [ "$kind" = u ] && userdel "$name" 2>/dev/null
  done <"$I/made"
  while read -r kind name; do
    [ "$kind" = g ] && groupdel "$name" 2>/dev/null
  done <"$I/made"
  rm -rf "$I"
}

teardown() {
  if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
    for f in "$I"/log/*/current; do echo "--- $f"; tail -15 "$f"; done
  fi
}

# as USER CMD...: run CMD as USER
as() { local u=$1; shift; runuser -u "$u" -- "$@"; }
# tree_ps: "user args" of every process under our runsvdir (the machine may run
# other tests' pochta programs meanwhile)
tree_ps() {
  python3 - "$(cat "$I/runsvdir.pid")" <<'PY'
import os, pwd, sys
kids = {}
for d in os.listdir('/proc'):
    if not d.isdigit(): continue
    try:
        st = open('/proc/%s/stat' % d).read()
        kids.setdefault(int(st.rsplit(')', 1)[1].split()[1]), []).append(int(d))
    except OSError: pass
todo = [int(sys.argv[1])]
while todo:
    p = todo.pop()
    todo += kids.get(p, [])
    try:
        uid = int([l for l in open('/proc/%d/status' % p) if l.startswith('Uid:')][0].split()[2])
        args = open('/proc/%d/cmdline' % p, 'rb').read().replace(b'\0', b' ').decode().strip()
        print(pwd.getpwuid(uid).pw_name, args)
    except (OSError, IndexError, KeyError): pass
PY
}
# users_of REGEX [FILE]: the users of the processes whose command line (from the
# start) matches REGEX, in tree_ps output (FILE, or now)
users_of() {
  { if [ -n "${2:-}" ]; then cat "$2"; else tree_ps; fi; } |
    awk -v p="$1" '{ u = $1; $1 = ""; sub(/^ +/, ""); if ($0 ~ p) print u }' | sort -u | tr '\n' ' '
}
md() { echo "$I/mail/example.test/$1/Maildir"; }
mails() { find "$(md "$1")/new" "$(md "$1")/cur" -type f 2>/dev/null | wc -l; }
has_mail() { [ "$(mails "$1")" -ge "$2" ]; }

@test "layout: the accounts, their groups and the modes INSTALL.md lists" {
  for a in $ACCTS; do getent passwd "$a" >/dev/null; done
  run id -nG pochta
  assert_output --partial pochta-auth
  run id -nG pochta-login
  assert_output --partial pochta-auth
  run id -nG pochta-mail
  refute_output --partial pochta-auth
  m() { stat -c '%U:%G %a' "$1"; }
  [ "$(m "$I/etc")" = "root:root 755" ]
  [ "$(m "$I/etc/passwords")" = "root:root 600" ]
  [ "$(m "$I/etc/users")" = "root:root 600" ]
  [ "$(m "$I/etc/passwords.cdb")" = "root:root 600" ]
  [ "$(m "$I/etc/users.cdb")" = "root:pochta 640" ]
  [ "$(m "$I/etc/tls")" = "root:pochta-tls 750" ]
  [ "$(m "$I/etc/tls/key.pem")" = "root:pochta-tls 640" ]
  [ "$(m "$I/queue")" = "pochta:pochta-drop 710" ]
  [ "$(m "$I/queue/drop")" = "pochta:pochta-drop 1770" ]
  [ "$(m "$I/queue/trigger")" = "pochta:pochta-drop 620" ]
  [ "$(m "$I/mail")" = "pochta-mail:pochta-mail 700" ]
  [ "$(m "$I/state/auth")" = "root:root 700" ]
  [ "$(m "$I/state/spam")" = "pochta:pochta 700" ]
  [ "$(m "$I/bin/pochta-checkpassword")" = "root:pochta-auth 4750" ]
  [ "$(m "$I/bin/pochta-postdrop")" = "root:pochta-drop 2755" ]
  [ "$(m "$(md alice)/new")" = "pochta-mail:pochta-mail 700" ]
  [ "$(m "$I/bin/pochta-dkimsign")" = "root:pochta-dkim 2755" ]
  [ "$(m "$I/run")" = "root:root 755" ]
  [ "$(m "$I/run/smtp.lock")" = "pochta:pochta 600" ]
  [ "$(m "$I/run/submission.lock")" = "pochta:pochta 600" ]
  [ "$(m "$I/run/pop3.lock")" = "pochta-login:pochta-login 600" ]
  [ "$(m "$I/run/imap.lock")" = "pochta-login:pochta-login 600" ]
}


@test "layout: no network-facing account can read a password hash, the TLS key or a mailbox" {
  for a in pochta pochta-login; do
    run as "$a" cat "$I/etc/passwords.cdb"
    assert_failure
    run as "$a" cat "$I/etc/tls/key.pem"
    assert_failure
    run as "$a" ls "$(md alice)/new"
    assert_failure
  done
  run as pochta-tls cat "$I/etc/passwords.cdb"
  assert_failure
  run as pochta-tls cat "$I/etc/tls/key.pem"
  assert_success
  # pochta reads users.cdb (smtpd looks up recipients), pochta-login need not
  run as pochta cat "$I/etc/users.cdb"
  assert_success
  # nobody else may run the login step
  run as nobody "$I/bin/pochta-checkpassword" true
  assert_failure
  assert_output --partial "Permission denied"
}

@test "layout: mail from outside lands in the Maildir, as the Maildir owner, over IPv4 and IPv6" {
  run swaks --server 127.0.0.1 --port "$P_SMTP" --from x@remote.test --to alice@example.test --body v4
  assert_success
  run swaks --server ::1 --port "$P_SMTP" --from x@remote.test --to alice@example.test --body v6
  assert_success
  wait_for 20 has_mail alice 2
  run find "$(md alice)/new" -type f ! -user pochta-mail
  assert_output ""
  grep -q 'ip=::1' "$I/log/pochta-smtpd/current"
  grep -q 'ip=127.0.0.1' "$I/log/pochta-smtpd/current"
}

@test "layout: who runs as whom (smtpd, tlsd engine, imapd before and after a login, the runner, its worker)" {
  # hold one session of each kind open while ps looks
  declare -f tree_ps >"$I/tree_ps.sh"
  TREE_PS=$I/tree_ps.sh python3 - "$P_SMTP" "$P_IMAP" "$P_IMAPS" "$I/ps" <<'PY' &
import imaplib, os, socket, ssl, subprocess, sys, time
s = socket.create_connection(('127.0.0.1', int(sys.argv[1]))); s.recv(100)
pre = socket.create_connection(('127.0.0.1', int(sys.argv[2]))); pre.recv(100)
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[3]), ssl_context=ctx)
m.login('alice@example.test', 'secret'); m.select('INBOX')
time.sleep(0.5)
open(sys.argv[4], 'w').write(subprocess.run(['bash', '-c', 'source ' + os.environ['TREE_PS'] + '; tree_ps'], capture_output=True, text=True).stdout)
m.logout(); s.close(); pre.close()
PY
  wait
  run users_of '^pochta-smtpd$' "$I/ps"
  assert_output "pochta "
  run users_of "^[^ ]*pochta-imapd -P$" "$I/ps"
  assert_output "pochta-mail "
  # the pre-login imapd of the connection without a login, and the waiter of the other
  run users_of '^pochta-imapd$' "$I/ps"
  assert_output "pochta-login "
  run users_of '^pochta-wait' "$I/ps"
  assert_output "pochta-login "
  # every pochta-tlsd engine; root was only tcpserver's child for an instant
  run users_of '^pochta-tlsd ' "$I/ps"
  assert_output "pochta-tls "
  run users_of '^pochta-send$'
  assert_output "pochta pochta-mail "
  run users_of '^svlogd'
  assert_output "pochta-log "
  run users_of '^tcpserver'
  assert_output "root "
}

@test "layout: submission with AUTH over STARTTLS and over implicit TLS; IMAP and POP3 over TLS" {
  run swaks --server 127.0.0.1 --port "$P_SUB" --tls --auth PLAIN --auth-user alice@example.test \
      --auth-password secret --from alice@example.test --to bob@example.test --body sub
  assert_success
  run swaks --server ::1 --port "$P_SMTPS" --tlsc --auth LOGIN --auth-user alice@example.test \
      --auth-password secret --from alice@example.test --to bob@example.test --body smtps
  assert_success
  wait_for 20 has_mail bob 2
  run python3 - "$P_IMAP" "$P_IMAPS" "$P_POP3" "$P_POP3S" <<'PY'
import imaplib, poplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4('::1', int(sys.argv[1])); m.starttls(ssl_context=ctx)
m.login('bob@example.test', 'secret'); print('imap', m.select('INBOX')[1][0].decode()); m.logout()
m = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[2]), ssl_context=ctx)
m.login('bob@example.test', 'secret'); print('imaps', m.select('INBOX')[1][0].decode()); m.logout()
p = poplib.POP3('127.0.0.1', int(sys.argv[3])); p.stls(context=ctx)
p.user('bob@example.test'); p.pass_('secret'); print('pop3', p.stat()[0]); p.quit()
p = poplib.POP3_SSL('::1', int(sys.argv[4]), context=ctx)
p.user('bob@example.test'); p.pass_('secret'); print('pop3s', p.stat()[0]); p.quit()
PY
  assert_success
  assert_line imap\ 2
  assert_line imaps\ 2
  assert_line pop3\ 2
  assert_line pop3s\ 2
  # a copy into Junk over IMAPS trains bob's classifier, as the Maildir owner
  run python3 - "$P_IMAPS" <<'PY'
import imaplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[1]), ssl_context=ctx)
m.login('bob@example.test', 'secret'); m.select('INBOX'); print(m.copy('1', 'Junk')[0]); m.logout()
PY
  assert_output OK
  run pochta spam user bob@example.test
  assert_line --partial "learned 1 spam, 0 ham"
  owner=$(stat -c %U "$(md bob)")
  [ "$(stat -c '%U %a' "$(dirname "$(md bob)")/pochta-bayes")" = "$owner 600" ]
}

@test "layout: sendmail as an ordinary user (cron, www-data): through pochta-postdrop, uid recorded" {
  run as nobody sh -c "printf 'Subject: from cron\n\nhello\n' | $I/bin/pochta-sendmail -f alice@example.test alice@example.test"
  assert_success
  wait_for 20 grep -rlq 'Subject: from cron' "$(md alice)/new"
  f=$(grep -rl 'Subject: from cron' "$(md alice)/new")
  run grep -E '^Received: \(from userid [0-9]+ nobody\)' "$f"
  assert_success
  grep -q 'event=pickup .*user=nobody' "$I/log/pochta-send/current"
  # the user never sees the queue itself
  run as nobody ls "$I/queue/new"
  assert_failure
  run as nobody ls "$I/queue/drop"
  assert_failure
}

@test "layout: an undeliverable recipient makes a bounce, built and delivered as pochta" {
  run as nobody sh -c "printf 'Subject: to nobody\n\nx\n' | $I/bin/pochta-sendmail -f alice@example.test nobody@example.test"
  assert_success
  wait_for 30 grep -rlq 'Content-Type: multipart/report' "$(md alice)/new"
  f=$(grep -rl 'Content-Type: multipart/report' "$(md alice)/new")
  grep -q 'nobody@example.test' "$f"
  grep -q 'event=bounce .*result=queued' "$I/log/pochta-send/current"
}

@test "layout: failed logins are counted per account and address, the same over IMAP and SMTP" {
  run python3 - "$P_IMAPS" <<'PY'
import imaplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
for pw in ('w1', 'w2', 'w3', 'secret'):
    m = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[1]), ssl_context=ctx)
    try:
        m.login('bob@example.test', pw); print('ok', pw)
    except imaplib.IMAP4.error as e:
        print('no', pw)
    m.shutdown()
# alice, from the same address, is not locked out
m = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[1]), ssl_context=ctx)
m.login('alice@example.test', 'secret'); print('ok alice'); m.logout()
PY
  assert_line "no w3"
  assert_line "no secret"
  assert_line "ok alice"
  grep -q 'event=ban ip=127.0.0.1 scope=account' "$I/log/pochta-imaps/current"
  # bob stays refused over SMTP too: one table for every daemon
  run swaks --server 127.0.0.1 --port "$P_SUB" --tls --auth PLAIN --auth-user bob@example.test \
      --auth-password secret --from bob@example.test --to alice@example.test
  assert_failure
  assert_output --partial "535"
}

@test "layout: the runner reads and writes nothing outside the queue, whatever its account plants in it" {
  victim=$I/victim
  printf 'root only\n' >"$victim"; chmod 600 "$victim"
  before=$(sha256sum "$victim")
  qid() { printf '%016x' "$((RANDOM * 65536 + RANDOM + 4096))"; }
  # as the queue's account: a message whose data is a symlink to a root-only file
  a=$(qid); h=${a:0:2}
  as pochta mkdir -p "$I/queue/mess/$h"
  as pochta ln -s "$victim" "$I/queue/mess/$h/$a"
  as pochta sh -c "printf 'B1\0Fx@remote.test\0Talice@example.test\0\0' >'$I/queue/new/$a'"
  # a FIFO as message data, a hard link to a file of another account, a symlinked envelope
  b=$(qid); h=${b:0:2}; as pochta mkdir -p "$I/queue/mess/$h"
  as pochta mkfifo "$I/queue/mess/$h/$b"
  as pochta sh -c "printf 'B1\0Fx@remote.test\0Talice@example.test\0\0' >'$I/queue/new/$b'"
  c=$(qid)
  as pochta ln -s "$victim" "$I/queue/new/$c"
  # an envelope with a newline in the sender (forged log lines) and a state temp name planted as a symlink
  d=$(qid); h=${d:0:2}; as pochta mkdir -p "$I/queue/mess/$h"
  as pochta sh -c "printf 'hi\n' >'$I/queue/mess/$h/$d'; printf 'B1\0Fx@r.test\nevent=forged\0Talice@example.test\0\0' >'$I/queue/new/$d'"
  as pochta ln -s "$victim" "$I/queue/tmp/$d.s"
  n0=$(mails alice)
  echo >"$I/queue/trigger"
  wait_for 20 bash -c "grep -c 'event=quarantine' '$I/log/pochta-send/current' | grep -q '^[3-9]'"
  sleep 1
  [ "$(sha256sum "$victim")" = "$before" ]
  [ "$(stat -c %U "$victim")" = root ]
  run grep -c 'event=forged' "$I/log/pochta-send/current"
  assert_output 0
  run grep -rl 'root only' "$I/mail"
  assert_output ""
  [ "$(mails alice)" = "$n0" ]
  # the runner still works
  run swaks --server 127.0.0.1 --port "$P_SMTP" --from x@remote.test --to alice@example.test --body still
  assert_success
  wait_for 20 has_mail alice $((n0 + 1))
}

@test "layout: systemd units verify, and a listener runs under systemd-socket-activate as its unit says" {
  command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
  u=$I/units
  mkdir -p "$u"
  for f in "$TOP"/etc/systemd/*; do sed "s#/usr/local/bin#$I/bin#g" "$f" >"$u/${f##*/}"; done
  run systemd-analyze verify --man=no "$u"/*.socket "$u"/*.service
  echo "$output"
  refute_output --partial "rror"
  refute_output --partial "nknown"
  refute_output --partial "is not executable"
  # the submission unit's command line and environment, as systemd would start it per connection
  exec_line=$(sed -n 's/^ExecStart=//p' "$u/pochta-submission@.service")
  # systemd-socket-activate passes on only what -E names (as systemd passes only Environment=)
  envs=$(sed -n 's/^Environment=/-E /p' "$u/pochta-submission@.service" | sed "s#/etc/pochta#$POCHTA_CONF#")
  port=$(free_port)
  systemd-socket-activate --inetd -a -l "127.0.0.1:$port" $envs $exec_line 2>>"$I/log/activate.log" &
  echo $! >"$I/activate.pid"
  wait_for 10 python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$port"
  run swaks --server 127.0.0.1 --port "$port" --tls --auth PLAIN --auth-user alice@example.test \
      --auth-password secret --from alice@example.test --to bob@example.test --body socket-activated
  kill "$(cat "$I/activate.pid")" 2>/dev/null || true
  cat "$I/log/activate.log"
  assert_success
  # no TCPREMOTEIP: the address (from the socket) reached the daemon and the login
  grep -q 'pochta-smtpd: event=connect .*ip=127.0.0.1' "$I/log/activate.log"
  grep -q 'pochta-checkpassword: event=login ip=127.0.0.1' "$I/log/activate.log"
  # systemd's own Accept=yes instances get REMOTE_ADDR: that is the address then
  port=$(free_port)
  systemd-socket-activate --inetd -a -l "127.0.0.1:$port" $envs -E REMOTE_ADDR=192.0.2.7 $exec_line 2>>"$I/log/activate2.log" &
  echo $! >"$I/activate.pid"
  wait_for 10 python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1).close()" "$port"
  run swaks --server 127.0.0.1 --port "$port" --tls --auth PLAIN --auth-user alice@example.test \
      --auth-password wrong --from alice@example.test --to bob@example.test
  kill "$(cat "$I/activate.pid")" 2>/dev/null || true
  grep -q 'pochta-smtpd: event=connect .*ip=192.0.2.7' "$I/log/activate2.log"
  grep -q 'pochta-checkpassword: event=fail reason=password ip=192.0.2.7' "$I/log/activate2.log"
}

@test "layout: the connection limits hold in every daemon (no lock file missing), and the run scripts remake them" {
  # every session of the tests above took its slots: none logged that no limit is enforced
  run grep -h 'no connection limit enforced' "$I"/log/*/current
  assert_output ""
  # /run emptied (a reboot): the run scripts make the lock files again as they start
  rm -f "$I"/run/*.lock
  for s in pochta-smtpd pochta-pop3d; do sv restart "$I/service/$s" >/dev/null; done
  wait_for 20 test -f "$I/run/smtp.lock"
  wait_for 20 test -f "$I/run/pop3.lock"
  [ "$(stat -c '%U %a' "$I/run/smtp.lock")" = "pochta 600" ]
  [ "$(stat -c '%U %a' "$I/run/pop3.lock")" = "pochta-login 600" ]
  # systemd-tmpfiles makes the same from the shipped tmpfiles.d file
  if command -v systemd-tmpfiles >/dev/null; then
    sed "s|/run/pochta|$I/tmpfiles|" "$TOP/etc/systemd/pochta.tmpfiles" >"$I/pochta.tmpfiles"
    run systemd-tmpfiles --create "$I/pochta.tmpfiles"
    assert_success
    [ "$(stat -c '%U:%G %a' "$I/tmpfiles/smtp.lock")" = "pochta:pochta 600" ]
    [ "$(stat -c '%U:%G %a' "$I/tmpfiles/imap.lock")" = "pochta-login:pochta-login 600" ]
  fi
}

@test "layout: the runner's delivery processes live on as the Maildir owner; smtpd takes queue files over from trash/ as pochta" {
  n=$(mails bob)
  for i in 1 2 3; do
    run swaks --server 127.0.0.1 --port "$P_SMTP" --from x@remote.test --to bob@example.test --body "pool $i"
    assert_success
  done
  wait_for 30 has_mail bob $((n + 3))
  # the worker and its delivery processes: the Maildir owner's, and the same ones
  # after more deliveries (no process per delivery)
  before=$(pgrep -u pochta-mail -x pochta-send | sort | tr '\n' ' ')
  [ "$(echo $before | wc -w)" -ge 2 ]
  # one at a time: with two at once, the worker may rightly start one more process
  for i in 4 5 6; do
    run swaks --server 127.0.0.1 --port "$P_SMTP" --from x@remote.test --to bob@example.test --body "pool $i"
    assert_success
    wait_for 30 has_mail bob $((n + i))
  done
  [ "$(pgrep -u pochta-mail -x pochta-send | sort | tr '\n' ' ')" = "$before" ]
  # what the runner removed stays in trash/, the queue account's; with the runner
  # down (it empties trash/ when it starts), the next message smtpd accepts is
  # written into files taken over from there
  wait_for 20 bash -c "[ \$(find '$I/queue/trash' -type f | wc -l) -gt 0 ]"
  sv -w 20 down "$I/service/pochta-send" >/dev/null
  wait_for 20 bash -c "! pgrep -u pochta -x pochta-send >/dev/null"
  inodes=" $(find "$I/queue/trash" -type f -user pochta -printf '%i ') "
  [ "$inodes" != "  " ]
  find "$I/queue/new" -type f -printf '%f\n' | sort >"$I/queued.before"
  run swaks --server 127.0.0.1 --port "$P_SMTP" --from x@remote.test --to bob@example.test --body "taken over"
  assert_success
  id=$(find "$I/queue/new" -type f -printf '%f\n' | sort | comm -13 "$I/queued.before" -)
  [ -n "$id" ]
  data=$I/queue/mess/${id:0:2}/$id
  env=$I/queue/new/$id
  [ "$(stat -c %U "$data" "$env" | sort -u)" = pochta ]
  case "$inodes" in *" $(stat -c %i "$data") "*) ;; *) echo "data not taken over: $(stat -c %i "$data") not in$inodes"; false ;; esac
  case "$inodes" in *" $(stat -c %i "$env") "*) ;; *) echo "envelope not taken over"; false ;; esac
  sv -w 20 up "$I/service/pochta-send" >/dev/null
  wait_for 30 has_mail bob $((n + 7))
  grep -rlx 'taken over' "$(md bob)/new" >/dev/null
}
