#!/usr/bin/env bats
# tools/demo-run (what ./build.sh run starts): the instance it makes, the
# --check round trip through SMTP, queue, runner and Maildir, and a clean stop.

load helpers

setup() {
  TOP=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  export POCHTA_DEMO_DIR="$BATS_TEST_TMPDIR/run" POCHTA_DEMO_PORTBASE=0 POCHTA_BIN
  unset POCHTA_CONF
}
teardown() { stop_all; }

@test "demo-run --check: one message from swaks lands in the demo Maildir" {
  command -v swaks >/dev/null || skip "swaks missing"
  [ -x "$POCHTA_BIN/pochta-smtpd" ] && [ -x "$POCHTA_BIN/pochta-send" ] || skip "smtpd or send not built yet"
  run sh "$TOP/tools/demo-run" --check
  assert_success
  assert_output --partial "demo-run: OK: message delivered to $POCHTA_DEMO_DIR/mail/example.test/demo/Maildir/new/"
  # the instance it made
  [ -s "$POCHTA_DEMO_DIR/demo-password" ]
  [ -s "$POCHTA_DEMO_DIR/etc/tls/cert.pem" ]
  run stat -c %a "$POCHTA_DEMO_DIR/etc/tls/key.pem"
  assert_output 600
  [ ! -e "$POCHTA_DEMO_DIR/etc/plainauth" ]
  run openssl x509 -in "$POCHTA_DEMO_DIR/etc/tls/cert.pem" -noout -subject
  assert_output --partial "CN = mx.example.test"
  # nothing left running: every port file's port is closed again
  for f in "$POCHTA_DEMO_DIR"/log/*.port; do
    run python3 -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0)' "$(cat "$f")"
    assert_success
  done
}

@test "demo-run keeps its password and instance across runs" {
  command -v swaks >/dev/null || skip "swaks missing"
  [ -x "$POCHTA_BIN/pochta-smtpd" ] && [ -x "$POCHTA_BIN/pochta-send" ] || skip "smtpd or send not built yet"
  sh "$TOP/tools/demo-run" --check
  local pw; pw=$(cat "$POCHTA_DEMO_DIR/demo-password")
  run sh "$TOP/tools/demo-run" --check
  assert_success
  [ "$(cat "$POCHTA_DEMO_DIR/demo-password")" = "$pw" ]
  # the kept password logs in
  printf '%s\0%s\0x\0' demo@example.test "$pw" >"$BATS_TEST_TMPDIR/fd3"
  POCHTA_CONF="$POCHTA_DEMO_DIR/etc" run pochta-checkpassword true 3<"$BATS_TEST_TMPDIR/fd3"
  assert_success
  run sh -c "ls '$POCHTA_DEMO_DIR/mail/example.test/demo/Maildir/new' | wc -l"
  assert_output 2
}

@test "demo-run prints how to connect, and TERM stops every child" {
  [ -x "$POCHTA_BIN/pochta-smtpd" ] || skip "smtpd not built yet"
  sh "$TOP/tools/demo-run" >"$BATS_TEST_TMPDIR/demo.out" 2>&1 &
  local pid=$!
  echo $pid >"$BATS_TEST_TMPDIR/demo.pid"
  wait_for 20 grep -q "Ctrl-C stops everything" "$BATS_TEST_TMPDIR/demo.out"
  run cat "$BATS_TEST_TMPDIR/demo.out"
  assert_line --partial "user:      demo@example.test"
  assert_line --partial "password:  $(cat "$POCHTA_DEMO_DIR/demo-password")"
  assert_output --partial "swaks --server 127.0.0.1 --port $(cat "$POCHTA_DEMO_DIR/log/smtp.port" | tr -d '[:space:]')"
  local kids; kids=$(pgrep -P $pid | tr '\n' ' ')
  [ -n "$kids" ]
  # the SMTP listener answers
  run python3 -c 'import smtplib,sys; s=smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10); print(s.noop()[0]); s.quit()' "$(cat "$POCHTA_DEMO_DIR/log/smtp.port")"
  assert_output 250
  kill -TERM $pid
  wait $pid || true
  rm -f "$BATS_TEST_TMPDIR/demo.pid"
  for k in $kids; do
    wait_for 5 sh -c "! kill -0 $k 2>/dev/null"
  done
}

@test "demo-run refuses a bad port base and a missing build" {
  POCHTA_DEMO_PORTBASE=abc run sh "$TOP/tools/demo-run" --check
  assert_failure 100
  POCHTA_BIN=$BATS_TEST_TMPDIR/nothing run sh "$TOP/tools/demo-run" --check
  assert_failure 111
  run sh "$TOP/tools/demo-run" --frobnicate
  assert_failure 100
}

# demo_start: the demo in the background (pid in $DEMO_PID, its output in
# $BATS_TEST_TMPDIR/demo.out), once it has printed everything; teardown stops it.
demo_start() {
  sh "$TOP/tools/demo-run" >"$BATS_TEST_TMPDIR/demo.out" 2>&1 &
  DEMO_PID=$!
  echo $DEMO_PID >"$BATS_TEST_TMPDIR/demo.pid"
  wait_for 30 grep -q "Ctrl-C stops everything" "$BATS_TEST_TMPDIR/demo.out"
}

# printed_commands: each command the demo printed (an indented line whose first word
# is a program on PATH, joined with its "\" continuation lines), one per line.
printed_commands() {
  local line first
  awk '{ if (sub(/\\$/, "")) { acc = acc $0; next } print acc $0; acc = "" }' \
      "$BATS_TEST_TMPDIR/demo.out" |
  while IFS= read -r line; do
    case $line in "  "[a-z]*) ;; *) continue ;; esac
    read -r first _ <<<"$line"
    command -v "$first" >/dev/null 2>&1 && printf '%s\n' "$line"
  done
}

@test "every command the demo prints works as printed, and its mail arrives" {
  command -v swaks >/dev/null || skip "swaks missing"
  [ -x "$POCHTA_BIN/pochta-smtpd" ] && [ -x "$POCHTA_BIN/pochta-send" ] && [ -x "$POCHTA_BIN/pochta-tlsd" ] || skip "smtpd, send or tlsd not built yet"
  demo_start
  local md="$POCHTA_DEMO_DIR/mail/example.test/demo/Maildir" n=0 cmd
  printed_commands >"$BATS_TEST_TMPDIR/commands"
  # the plain SMTP one and the authenticated submission one
  run grep -c '^  swaks ' "$BATS_TEST_TMPDIR/commands"
  assert_output 2
  run grep -c 'swaks' "$BATS_TEST_TMPDIR/demo.out"
  assert_output 2
  while IFS= read -r cmd; do
    run sh -c "$cmd" </dev/null
    assert_success
    n=$((n + 1))
    wait_for 20 maildir_has "$md" "$n"
  done <"$BATS_TEST_TMPDIR/commands"
  [ "$n" -eq 2 ]
  # the submission one logged in after STARTTLS
  run grep -rl '^From: demo@example.test' "$md/new"
  assert_success
  run grep -c 'pochta-smtpd: event=auth .*result=ok mech=plain user=demo@example.test' "$POCHTA_DEMO_DIR/log/submission/current"
  assert_output 1
}

@test "the mail client settings the demo prints log in, over STARTTLS and TLS" {
  [ -x "$POCHTA_BIN/pochta-imapd" ] && [ -x "$POCHTA_BIN/pochta-pop3d" ] && [ -x "$POCHTA_BIN/pochta-tlsd" ] || skip "imapd, pop3d or tlsd not built yet"
  demo_start
  run grep -cE '^  (IMAP|POP3|SMTP) +127\.0\.0\.1 port [0-9]+ \(STARTTLS\), port [0-9]+ \(SSL/TLS\)' "$BATS_TEST_TMPDIR/demo.out"
  assert_output 3
  run python3 - "$BATS_TEST_TMPDIR/demo.out" "$POCHTA_DEMO_DIR/etc/tls/cert.pem" <<'PY'
import imaplib, poplib, re, smtplib, ssl, sys
out = open(sys.argv[1]).read()
user = re.search(r'^  user:\s+(\S+)$', out, re.M).group(1)
pw = re.search(r'^  password:\s+(\S+)$', out, re.M).group(1)
ctx = ssl.create_default_context(cafile=sys.argv[2])   # verified, host name included
for proto, plain, tls in re.findall(r'^  (IMAP|POP3|SMTP) +127\.0\.0\.1 port (\d+) \(STARTTLS\), port (\d+) \(SSL/TLS\)', out, re.M):
    plain, tls = int(plain), int(tls)
    if proto == 'IMAP':
        for c in (imaplib.IMAP4('127.0.0.1', plain), imaplib.IMAP4_SSL('127.0.0.1', tls, ssl_context=ctx)):
            if isinstance(c, imaplib.IMAP4) and not isinstance(c, imaplib.IMAP4_SSL): c.starttls(ssl_context=ctx)
            assert c.login(user, pw)[0] == 'OK'; assert c.select('INBOX')[0] == 'OK'; c.logout()
    elif proto == 'POP3':
        for c in (poplib.POP3('127.0.0.1', plain), poplib.POP3_SSL('127.0.0.1', tls, context=ctx)):
            if not isinstance(c, poplib.POP3_SSL): c.stls(context=ctx)
            c.user(user); assert c.pass_(pw).startswith(b'+OK'); c.stat(); c.quit()
    else:
        c = smtplib.SMTP('127.0.0.1', plain, timeout=20); c.starttls(context=ctx); c.login(user, pw); c.quit()
        c = smtplib.SMTP_SSL('127.0.0.1', tls, context=ctx, timeout=20); c.login(user, pw); c.quit()
    print(proto, 'ok')
PY
  assert_success
  assert_line "IMAP ok"
  assert_line "POP3 ok"
  assert_line "SMTP ok"
}

@test "the demo says what it is, without the root-owner warning of a real instance" {
  [ -x "$POCHTA_BIN/pochta-smtpd" ] || skip "smtpd not built yet"
  demo_start
  run cat "$BATS_TEST_TMPDIR/demo.out"
  refute_output --partial "warning"
  refute_output --partial "owner of the Maildirs"
  assert_output --partial "A first look, not a real host"
  assert_output --partial "doc/INSTALL.md"
  # the owner is whoever runs it, chosen explicitly
  run cat "$POCHTA_DEMO_DIR/etc/owner"
  assert_output "$(id -u):$(id -g)"
}

@test "a second demo on the same directory says another instance holds it, and stops" {
  [ -x "$POCHTA_BIN/pochta-smtpd" ] && [ -x "$POCHTA_BIN/pochta-send" ] || skip "smtpd or send not built yet"
  demo_start
  local port; port=$(tr -d '[:space:]' <"$POCHTA_DEMO_DIR/log/smtp.port")
  # (timeout: a demo that does not see the first one would run on until stopped)
  run timeout 60 sh "$TOP/tools/demo-run"
  assert_failure 111
  assert_output --partial "another demo instance (pid $DEMO_PID) holds $POCHTA_DEMO_DIR"
  refute_output --partial "Running:"
  run timeout 60 sh "$TOP/tools/demo-run" --check
  assert_failure 111
  assert_output --partial "another demo instance"
  # the first one is undisturbed
  kill -0 "$DEMO_PID"
  run python3 -c 'import smtplib,sys; s=smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10); print(s.noop()[0]); s.quit()' "$port"
  assert_output 250
}

@test "a demo whose queue another runner holds says so and starts nothing" {
  [ -x "$POCHTA_BIN/pochta-smtpd" ] && [ -x "$POCHTA_BIN/pochta-send" ] || skip "smtpd or send not built yet"
  command -v swaks >/dev/null || skip "swaks missing"
  sh "$TOP/tools/demo-run" --check
  # a runner left over from an earlier demo (its shell killed with -9, say)
  export POCHTA_CONF="$POCHTA_DEMO_DIR/etc"
  bg leftover pochta-send
  unset POCHTA_CONF
  wait_for 10 grep -q "event=start" "$BATS_TEST_TMPDIR/leftover.log"
  run timeout 60 sh "$TOP/tools/demo-run"
  assert_failure 111
  assert_output --partial "another instance holds $POCHTA_DEMO_DIR: a pochta-send runs on its queue"
  refute_output --partial "Running:"
  # nothing of the refused demo is left: its logger stopped, no port file written
  run pgrep -f "svlogd -tt $POCHTA_DEMO_DIR/log/"
  assert_failure
  run find "$POCHTA_DEMO_DIR/log" -name '*.port' -newer "$BATS_TEST_TMPDIR/leftover.log"
  assert_output ""
}

@test "the demo's logs are timestamped lines, the programs' own lines unchanged" {
  command -v swaks >/dev/null || skip "swaks missing"
  [ -x "$POCHTA_BIN/pochta-smtpd" ] && [ -x "$POCHTA_BIN/pochta-send" ] || skip "smtpd or send not built yet"
  run sh "$TOP/tools/demo-run" --check
  assert_success
  local stamp='^[0-9]{4}-[0-9]{2}-[0-9]{2}_[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{5} '
  run cat "$POCHTA_DEMO_DIR/log/send/current"
  assert_line --regexp "${stamp}pochta-send: event=start "
  assert_line --regexp "${stamp}pochta-send: event=delivery .*rcpt=demo@example.test .*result=ok"
  assert_line --regexp "${stamp}pochta-send: event=exit"
  run cat "$POCHTA_DEMO_DIR/log/smtp/current"
  assert_line --regexp "${stamp}pochta-smtpd: event=queued "
  # every line stamped once, by the logger: what follows the stamp is a program's line
  run grep -rvhE "${stamp}pochta-[a-z0-9]+: " "$POCHTA_DEMO_DIR/log" --include=current
  assert_output ""
}
