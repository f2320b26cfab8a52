# Shared helpers for the bats suites. Load with: load helpers
# Every test gets its own instance under $BATS_TEST_TMPDIR; nothing leaves loopback.

bats_load_library bats-support
bats_load_library bats-assert

: "${POCHTA_BIN:=$(cd "$BATS_TEST_DIRNAME/.." && pwd)/build/bin}"
export PATH="$POCHTA_BIN:$PATH"
TESTS_DIR="$BATS_TEST_DIRNAME"

# instance_new [DIR]: a fresh instance: domain example.test, users alice and bob
# (password "secret"), queue and mail store inside DIR. Sets and exports
# INST, POCHTA_CONF, QUEUE, MAILROOT.
instance_new() {
  INST=${1:-$BATS_TEST_TMPDIR/inst}
  export POCHTA_CONF="$INST/etc"
  QUEUE="$INST/queue"; MAILROOT="$INST/mail"
  # The first instance of a file is made by the admin tool, as an admin would; the
  # others are copies of it with their paths changed and users.cdb compiled again:
  # each `user add` hashes a password (yescrypt, ~0.1 s of CPU here), which two per
  # test made a noticeable part of the whole run.
  local t=$BATS_FILE_TMPDIR/instance-template
  if [ ! -f "$t/etc/users.cdb" ]; then
    rm -rf "$t"
    pochta -C "$t/etc" init --queue "$t/queue" --mail "$t/mail" --state "$t/state" --hostname mx.example.test >/dev/null
    pochta -C "$t/etc" domain add example.test >/dev/null
    pochta -C "$t/etc" user add alice@example.test --password secret >/dev/null
    pochta -C "$t/etc" user add bob@example.test --password secret >/dev/null
  fi
  mkdir -p "$INST"
  command cp -a "$t/." "$INST/"   # (command: a test file may define a function cp)
  sed -i "s|$t/|$INST/|" "$POCHTA_CONF/queuedir" "$POCHTA_CONF/mailroot" "$POCHTA_CONF/statedir" "$POCHTA_CONF/users"
  pochta -C "$POCHTA_CONF" compile >/dev/null
  # Failed logins answer at once in tests (the delay has its own tests).
  echo "delay=0" >"$POCHTA_CONF/authfail"
  # The sender checks ask DNS; they have their own tests (smtpd-checks.bats), with a
  # DNS server of their own: elsewhere no test depends on the machine's resolver.
  echo off >"$POCHTA_CONF/checks"
  run_dir
  export INST QUEUE MAILROOT
}

# run_dir: the instance's rundir (connection-limit lock files, pochta-remote's
# state) under $INST/run (the default, /run/pochta, would be shared by every test).
run_dir() {
  mkdir -p "$INST/run"
  echo "$INST/run" >"$POCHTA_CONF/rundir"
}

# maildir_of ADDR: the user's Maildir path.
maildir_of() {
  local u=${1%@*} d=${1#*@}
  echo "$MAILROOT/$d/$u/Maildir"
}

# bg NAME CMD...: start CMD in the background, remember its pid for teardown.
bg() {
  local name=$1; shift
  "$@" 2>>"$BATS_TEST_TMPDIR/$name.log" &
  echo $! >"$BATS_TEST_TMPDIR/$name.pid"
}

# start_tcpserver NAME VAR CMD...: run CMD under tcpserver on a free loopback port;
# the port lands in variable VAR. tcpserver -1 prints the port it bound. As the
# run scripts: a listen backlog of 1024 (-b) and room above the connection limits
# of connlimits (-c), so that a full service can still say so.
start_tcpserver() {
  local name=$1 var=$2; shift 2
  local portfile="$BATS_TEST_TMPDIR/$name.port"
  rm -f "$portfile"
  tcpserver -1 -HR -b 1024 -c 400 -l localhost 127.0.0.1 0 "$@" >"$portfile" 2>>"$BATS_TEST_TMPDIR/$name.log" &
  echo $! >"$BATS_TEST_TMPDIR/$name.pid"
  local i=0
  while [ ! -s "$portfile" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
  printf -v "$var" '%s' "$(head -n1 "$portfile" | tr -d '[:space:]')"
  export "$var"
}

# start_smtpd [ARGS...]: pochta-smtpd under tcpserver; port in SMTP_PORT.
start_smtpd() { start_tcpserver smtpd SMTP_PORT pochta-smtpd "$@"; }

# start_send: the runner in the background.
start_send() { bg send pochta-send; }

# stop NAME: kill a background program started by bg/start_tcpserver.
stop() {
  local f="$BATS_TEST_TMPDIR/$1.pid"
  [ -f "$f" ] || return 0
  kill "$(cat "$f")" 2>/dev/null || true
  rm -f "$f"
}

# stop_all: for teardown. When the test failed, the tail of every log of the
# programs it started goes to the TAP output (bats shows it with the failure).
stop_all() {
  local f
  if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
    for f in "$BATS_TEST_TMPDIR"/*.log; do
      [ -f "$f" ] || continue
      echo "--- tail of ${f##*/}"
      tail -15 "$f"
    done
  fi
  for f in "$BATS_TEST_TMPDIR"/*.pid; do
    [ -f "$f" ] || continue
    kill "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
}

# wait_for N CMD...: retry CMD every 0.1 s, at most N seconds.
wait_for() {
  local n=$(( $1 * 10 )); shift
  while [ $n -gt 0 ]; do
    "$@" && return 0
    sleep 0.1; n=$((n-1))
  done
  "$@"
}

# count_new MAILDIR: number of messages in new/ and cur/.
count_mail() {
  local d=$1
  find "$d/new" "$d/cur" -type f 2>/dev/null | wc -l
}

# maildir_has DIR N / user_has ADDR N: exactly N messages there. For wait_for,
# which must re-count on every try (a $(count_mail) argument is counted once).
maildir_has() { [ "$(count_mail "$1")" -eq "$2" ]; }
user_has() { maildir_has "$(maildir_of "$1")" "$2"; }

# queue_empty: no message left in the queue (pochta-queuectl list prints nothing).
queue_empty() { [ -z "$(pochta-queuectl list 2>/dev/null)" ]; }

# allow_plain_auth: password logins without TLS from loopback (most protocol tests).
allow_plain_auth() { echo loopback >"$POCHTA_CONF/plainauth"; }

# --- pop3d (pop3d+deliver engineer) ---------------------------------------
# pop3_instance: an instance for POP3 tests with plainauth=loopback. Uses the
# real tools (pochta, pochta-checkpassword) when built; else a minimal
# configuration and a shell stand-in for the checkpassword program.
# Sets MD_ALICE, MD_BOB (Maildirs; password of both: "secret").
pop3_instance() {
  if command -v pochta >/dev/null && command -v pochta-checkpassword >/dev/null && [ -z "${POP3_STANDIN:-}" ]; then
    instance_new
    allow_plain_auth
    MD_ALICE=$(maildir_of alice@example.test); MD_BOB=$(maildir_of bob@example.test)
    unset POCHTA_CHECKPASSWORD
  else
    INST=$BATS_TEST_TMPDIR/inst
    export POCHTA_CONF="$INST/etc" MAILROOT="$INST/mail"
    mkdir -p "$POCHTA_CONF" "$INST/bin"
    echo mx.example.test >"$POCHTA_CONF/me"
    echo "$(id -u):$(id -g)" >"$POCHTA_CONF/owner"
    echo loopback >"$POCHTA_CONF/plainauth"
    run_dir
    MD_ALICE=$MAILROOT/example.test/alice/Maildir; MD_BOB=$MAILROOT/example.test/bob/Maildir
    mkdir -p "$MD_ALICE"/{tmp,new,cur} "$MD_BOB"/{tmp,new,cur}
    printf 'alice@example.test:secret:%s\nbob@example.test:secret:%s\n' "$MD_ALICE" "$MD_BOB" >"$POCHTA_CONF/test-passwords"
    cat >"$INST/bin/checkpassword-standin" <<'SH'
#!/bin/bash
# Stand-in for pochta-checkpassword: user\0password\0timestamp\0 on fd 3.
IFS= read -r -d '' u <&3; IFS= read -r -d '' p <&3
found=
while IFS=: read -r a b m; do
  if [ "$a" = "$u" ] && [ "$b" = "$p" ]; then found=$m; break; fi
done <"$POCHTA_CONF/test-passwords"
[ -n "$found" ] || exit 1
# exec outside the loop: inside it, stdin is the password file
export USER=$u MAILDIR=$found HOME=${found%/Maildir} AUTHLABEL=default
cd "$HOME" && exec "$@"
exit 111
SH
    chmod +x "$INST/bin/checkpassword-standin"
    export POCHTA_CHECKPASSWORD="$INST/bin/checkpassword-standin"
  fi
  export INST MD_ALICE MD_BOB
}

# stale_tmp MAILDIR: in tmp/, two files untouched for 40 hours (what killed
# deliveries leave), one read 2 hours ago, one written now, and a
# 40-hour-old directory and symlink that are not ours to remove
stale_tmp() {
  local t=$1/tmp
  printf 'killed\n' >"$t/1.M1P1Q1.host"; touch -d '40 hours ago' "$t/1.M1P1Q1.host"
  printf 'killed\n' >"$t/2.M2P2Q2.host"; touch -d '37 hours ago' "$t/2.M2P2Q2.host"
  printf 'read\n' >"$t/3.M3P3Q3.host"; touch -m -d '40 hours ago' "$t/3.M3P3Q3.host"; touch -a -d '2 hours ago' "$t/3.M3P3Q3.host"
  printf 'writing\n' >"$t/4.M4P4Q4.host"
  mkdir "$t/olddir"; touch -d '40 hours ago' "$t/olddir"
  ln -s /etc/passwd "$t/oldlink"; touch -h -d '40 hours ago' "$t/oldlink"
}
# the names left in tmp/, sorted, space separated
tmp_left() { ls "$1/tmp" | sort | tr '\n' ' '; }

# start_pop3d [ARGS...]: pochta-pop3d under tcpserver; port in POP3_PORT.
start_pop3d() { start_tcpserver pop3d POP3_PORT pochta-pop3d "$@"; }

# pop3_raw PORT: send stdin (give CRLF yourself) at once, half-close, print
# everything the server says until it closes (10 s at most).
pop3_raw() {
  python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d: break
        out += d
except socket.timeout:
    out += b"<timeout>"
sys.stdout.buffer.write(out.replace(b"\r\n", b"\n"))
' "$1"
}

# put_mail MAILDIR [FILE]: deliver FILE (or stdin) with pochta-deliver.
put_mail() { pochta-deliver "$1" <"${2:-/dev/stdin}"; }

# --- pochta-smtpd helpers (smtpd engineer) ---

# smtpd_fakeq: install a stand-in enqueue program in $BATS_TEST_TMPDIR/bin and point
# POCHTA_QUEUE at it. It stores message and envelope as $FAKEQ_DIR/<id>.msg/.env only
# when the envelope is complete (ends in \0\0), writes the id on $POCHTA_QIDFD, and
# exits $FAKEQ_EXIT (default 0; non-zero stores nothing).
smtpd_fakeq() {
  mkdir -p "$BATS_TEST_TMPDIR/bin" "$BATS_TEST_TMPDIR/fakeq"
  cat >"$BATS_TEST_TMPDIR/bin/fakeq" <<'EOS'
#!/bin/sh
d=${FAKEQ_DIR:?}; t=$d/.tmp.$$
cat >"$t.msg" || exit 54
cat <&1 >"$t.env" || exit 54
if [ "$(tail -c 2 "$t.env" | od -An -tx1 | tr -d ' \n')" != 0000 ]; then rm -f "$t.msg" "$t.env"; exit 54; fi
if [ "${FAKEQ_EXIT:-0}" != 0 ]; then rm -f "$t.msg" "$t.env"; exit "$FAKEQ_EXIT"; fi
id=$(printf '%016x' "$$")
mv "$t.msg" "$d/$id.msg"; mv "$t.env" "$d/$id.env"
[ -n "${POCHTA_QIDFD:-}" ] && eval "echo $id >&$POCHTA_QIDFD"
exit 0
EOS
  chmod +x "$BATS_TEST_TMPDIR/bin/fakeq"
  export FAKEQ_DIR="$BATS_TEST_TMPDIR/fakeq" POCHTA_QUEUE="$BATS_TEST_TMPDIR/bin/fakeq"
}

# smtpd_queued: number of messages the stand-in queue holds.
smtpd_queued() { find "$FAKEQ_DIR" -name '*.msg' | wc -l; }

# smtpd_raw PORT: send stdin as is, close our sending side, print all replies (CRLF
# kept as \r\n made visible: lines end in LF, a CR left over shows as <CR>).
smtpd_raw() {
  python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(sys.stdin.buffer.read())
s.shutdown(socket.SHUT_WR)
out = b""
try:
    while True:
        d = s.recv(65536)
        if not d: break
        out += d
except socket.timeout:
    out += b"<timeout>"
except ConnectionResetError:
    out += b"<reset>"
sys.stdout.buffer.write(out.replace(b"\r\n", b"\n").replace(b"\r", b"<CR>"))
' "$1"
}

# smtpd_codes: the reply codes of smtpd_raw output, space separated, one per reply
# (continuation lines of a multi-line reply are skipped).
smtpd_codes() { grep -E '^[0-9]{3} ' | cut -c1-3 | tr '\n' ' ' | sed 's/ $//'; }

# tls_cert CONFDIR [rsa|ec] [CN]: a self-signed certificate for CN (default
# mx.example.test, also its subjectAltName) in CONFDIR/tls/cert.pem and key.pem.
tls_cert() {
  local dir=$1/tls type=${2:-rsa} cn=${3:-mx.example.test}
  mkdir -p "$dir"
  local key=(-newkey rsa:2048)
  [ "$type" = ec ] && key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
  openssl req -x509 "${key[@]}" -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" \
    -days 30 -subj "/CN=$cn" -addext "subjectAltName=DNS:$cn" 2>/dev/null
}

# --- queue helpers (queue engineer) ---

# q_enqueue ENVELOPE_PRINTF [MESSAGE]: run pochta-queue with the message on fd 0
# and the envelope (printf format, \0 allowed) on fd 1; sets status like run.
q_enqueue() {
  local env=$1 msg=${2:-$'Subject: test\n\nbody\n'}
  printf "%s" "$msg" | pochta-queue 1< <(printf "$env") 2>>"$BATS_TEST_TMPDIR/queue.log"
}

# q_files: number of files in the queue's new/, state/, mess/ and tmp/.
q_files() { find "$QUEUE/new" "$QUEUE/state" "$QUEUE/mess" "$QUEUE/tmp" -type f 2>/dev/null | wc -l; }

# q_standin DIR NAME SCRIPT: a small shell stand-in program NAME in DIR.
q_standin() {
  mkdir -p "$1"
  printf '#!/bin/bash\n%s\n' "$3" >"$1/$2"
  chmod +x "$1/$2"
}

# start_imapd [ARGS...]: pochta-imapd under tcpserver; port in IMAP_PORT.
start_imapd() { start_tcpserver imapd IMAP_PORT pochta-imapd "$@"; }

# imapd_instance: a new instance with pochta-imapd on IMAP_PORT, plain LOGIN
# allowed on loopback, and MD naming alice's Maildir (the usual IMAP test setup).
imapd_instance() {
  instance_new
  allow_plain_auth
  start_imapd
  export MD=$(maildir_of alice@example.test)
}

# tree_state DIR: one line per file under DIR (name, size, checksum), sorted; for
# "nothing on disk changed" checks.
tree_state() {
  (cd "$1" && find . -type f ! -name '*.lock' -print0 | sort -z | xargs -0 -r sha1sum)
}

# smtpd_clean_log: fail if a sanitizer reported anything in the smtpd log (SAN build).
smtpd_clean_log() {
  local f="$BATS_TEST_TMPDIR/smtpd.log"
  [ -f "$f" ] || return 0
  if grep -qE 'Sanitizer|runtime error:' "$f"; then grep -E -A20 'Sanitizer|runtime error:' "$f" | head -40 >&2; return 1; fi
}

# mutt_reads_over_imap [MUTTRC-LINE...]: mutt (batch mode, under script(1) for a
# terminal) copies alice's first message, appended over IMAP, to an mbox; the
# message must be there. Extra lines go into the muttrc.
mutt_reads_over_imap() {
  command -v mutt >/dev/null || skip "mutt not installed"
  command -v script >/dev/null || skip "script (util-linux) not installed"
  python3 -c "
import imaplib; m = imaplib.IMAP4('127.0.0.1', $IMAP_PORT); m.login('alice@example.test', 'secret')
m.append('INBOX', None, None, b'From: bob@example.test\r\nSubject: for mutt\r\n\r\nmutt body text\r\n')"
  cat >"$BATS_TEST_TMPDIR/muttrc" <<RC
set imap_user=alice@example.test
set imap_pass=secret
set ssl_starttls=no
set ssl_force_tls=no
set folder=imap://127.0.0.1:$IMAP_PORT/
set spoolfile=+INBOX
set header_cache=
set message_cachedir=
set mbox_type=mbox
set confirmappend=no
set confirmcreate=no
set mail_check=0
set timeout=1
set quit=yes
set delete=no
set move=no
RC
  local l
  for l in "$@"; do echo "$l" >>"$BATS_TEST_TMPDIR/muttrc"; done
  # mutt wants a terminal: script(1) gives it one; it copies message 1 to an mbox and quits
  TERM=dumb timeout 30 script -qec "mutt -n -F '$BATS_TEST_TMPDIR/muttrc' -e 'push \"<copy-message>$BATS_TEST_TMPDIR/saved.mbox<enter><quit>\"'" /dev/null >/dev/null 2>&1
  run cat "$BATS_TEST_TMPDIR/saved.mbox"
  echo "$output"
  [[ "$output" == *"Subject: for mutt"* ]]
  [[ "$output" == *"mutt body text"* ]]
}

# without_ours [FILE]: a queued message (or, from stdin, one from its Received field
# on) less what pochta-smtpd put in front of it: its Received field and the block
# of fields its inspection writes (Authentication-Results, X-Spam-*, ...).
without_ours() {
  awk 'state == 2 { print; next }
    /^[ \t]/ { next }                 # a continuation of a field left out
    state == 0 { state = 1; next }    # our Received field
    tolower($0) ~ /^(authentication-results|x-spam-[a-z]+|x-virus-status|x-pochta-junk|dkim-signature|arc-[a-z-]+):/ { next }
    { state = 2; print }' "${1:--}"
}

# --- fuzz targets ---

# fuzz_targets NAME...: from setup_file, the libFuzzer targets NAME... in one
# directory, exported as FZ: $POCHTA_BUILD/fuzz when `make fuzz` made them all there,
# else built once for the whole file into $BATS_FILE_TMPDIR/b (one make, the objects
# they share compiled once). FZ_SKIP says why there are none: clang or its libFuzzer
# runtime missing. Any other failure to build fails the file.
fuzz_targets() {
  local top f missing=
  top=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
  FZ=${POCHTA_BUILD:-$POCHTA_BIN/..}/fuzz FZ_SKIP=
  for f in "$@"; do [ -x "$FZ/$f" ] || missing=1; done
  if [ -n "$missing" ]; then
    FZ=$BATS_FILE_TMPDIR/b/fuzz
    echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }' >"$BATS_FILE_TMPDIR/t.c"
    if ! command -v clang >/dev/null; then FZ_SKIP="clang not installed: no libFuzzer build"
    elif ! clang -fsanitize=fuzzer -o "$BATS_FILE_TMPDIR/t" "$BATS_FILE_TMPDIR/t.c" 2>/dev/null; then
      FZ_SKIP="clang's libFuzzer is unavailable (libclang-rt-14-dev)"
    elif ! make -s -j2 -C "$top" O="$BATS_FILE_TMPDIR/b" $(for f in "$@"; do printf '%s ' "$FZ/$f"; done) \
        >"$BATS_FILE_TMPDIR/fuzz-build.log" 2>&1; then
      tail -30 "$BATS_FILE_TMPDIR/fuzz-build.log"
      return 1
    fi
  fi
  export FZ FZ_SKIP
}
