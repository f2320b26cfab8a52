#!/usr/bin/env bats
# pochta-deliver: content, line endings, names, exit codes, durability order.
load helpers

setup() {
  MD="$BATS_TEST_TMPDIR/Maildir"
  mkdir -p "$MD/tmp" "$MD/new" "$MD/cur"
}
teardown() { stop_all; }

# the one file in new/
one_new() {
  local f
  f=$(ls "$MD/new")
  [ "$(ls "$MD/new" | wc -l)" -eq 1 ] || return 1
  echo "$MD/new/$f"
}

@test "deliver: headers then the message, byte for byte" {
  printf 'From: a@example.test\nSubject: t\n\nbody line\n.leading dot\n\n' >"$BATS_TEST_TMPDIR/msg"
  run pochta-deliver -f sender@example.org -t alice@example.test "$MD" <"$BATS_TEST_TMPDIR/msg"
  assert_success
  assert_output ''
  f=$(one_new)
  { printf 'Return-Path: <sender@example.org>\nDelivered-To: alice@example.test\n'; cat "$BATS_TEST_TMPDIR/msg"; } >"$BATS_TEST_TMPDIR/want"
  cmp "$f" "$BATS_TEST_TMPDIR/want"
  [ -z "$(find "$MD/tmp" -mindepth 1)" ]
  [ -z "$(find "$MD/cur" -mindepth 1)" ]
}

@test "deliver: empty sender gives Return-Path <>; no -f/-t adds nothing" {
  printf 'x\n' | pochta-deliver -f '' "$MD"
  f=$(one_new)
  [ "$(cat "$f")" = "$(printf 'Return-Path: <>\nx')" ]
  rm -f "$MD"/new/*
  printf 'no headers added' | pochta-deliver "$MD"
  f=$(one_new)
  [ "$(cat "$f")" = "no headers added" ]
}

@test "deliver: CRLF becomes LF, bare CR and bare LF stay, also across read boundaries" {
  python3 - "$BATS_TEST_TMPDIR" <<'PY'
import sys, random
d = sys.argv[1]
random.seed(7)
parts = [b"Subject: crlf\r\n\r\n"]
# put a CRLF exactly across every 64 KiB boundary, plus random CR, LF, CRLF
body = bytearray()
while len(body) < 300000:
    body += bytes(random.choice(b"abc \r\n") for _ in range(random.randint(1, 200)))
    body += random.choice([b"\r\n", b"\n", b"\r", b"x"])
for k in range(1, 5):
    pos = 65536 * k - 1 - len(parts[0])
    body[pos:pos+2] = b"\r\n"
msg = parts[0] + bytes(body)
open(d + "/msg", "wb").write(msg)
open(d + "/want", "wb").write(msg.replace(b"\r\n", b"\n"))
PY
  pochta-deliver "$MD" <"$BATS_TEST_TMPDIR/msg"
  cmp "$(one_new)" "$BATS_TEST_TMPDIR/want"
  rm -f "$MD"/new/*
  # the same through a pipe, read in whatever pieces the pipe gives
  cat "$BATS_TEST_TMPDIR/msg" | pochta-deliver "$MD"
  cmp "$(one_new)" "$BATS_TEST_TMPDIR/want"
}

@test "deliver: file name is unique per the spec and carries S= and W= sizes" {
  printf 'a\nb\r\nc' | pochta-deliver "$MD"
  f=$(one_new); n=$(basename "$f")
  [[ "$n" =~ ^[0-9]+\.M[0-9]+P[0-9]+Q[0-9]+\.[^/:]+,S=([0-9]+),W=([0-9]+)$ ]]
  [ "${BASH_REMATCH[1]}" -eq "$(stat -c %s "$f")" ]
  [ "${BASH_REMATCH[1]}" -eq 5 ]
  [ "${BASH_REMATCH[2]}" -eq 9 ]   # a\r\n b\r\n c\r\n
  [ "$(stat -c %a "$f")" = 600 ]
}

@test "deliver: a Maildir++ folder is a Maildir" {
  mkdir -p "$MD/.Sent/tmp" "$MD/.Sent/new" "$MD/.Sent/cur"
  printf 'to sent\n' | pochta-deliver -t alice@example.test "$MD/.Sent"
  [ "$(ls "$MD/.Sent/new" | wc -l)" -eq 1 ]
  [ "$(ls "$MD/new" | wc -l)" -eq 0 ]
  grep -q '^to sent$' "$MD"/.Sent/new/*
}

@test "deliver: 100 concurrent deliveries, 100 unique files, tmp/ empty" {
  pids=()
  for i in $(seq 1 100); do
    printf 'Subject: %s\n\nmessage %s\n' "$i" "$i" | pochta-deliver "$MD" &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done
  [ "$(ls "$MD/new" | wc -l)" -eq 100 ]
  [ "$(ls "$MD/new" | sed 's/,.*//' | sort -u | wc -l)" -eq 100 ]
  [ -z "$(find "$MD/tmp" -mindepth 1)" ]
  for i in $(seq 1 100); do grep -lx "message $i" "$MD"/new/* >/dev/null; done
}

@test "deliver: a 50 MB message through a pipe is streamed (small RSS)" {
  head -c 50000000 /dev/zero | tr '\0' 'a' | fold -w 998 >"$BATS_TEST_TMPDIR/big"
  run bash -c "cat '$BATS_TEST_TMPDIR/big' | /usr/bin/time -f %M pochta-deliver '$MD'"
  assert_success
  [ "$output" -lt 20000 ]   # kB: far below the message size
  cmp "$(one_new)" "$BATS_TEST_TMPDIR/big"
}

@test "deliver: missing Maildir is a temporary failure, nothing created" {
  run pochta-deliver "$BATS_TEST_TMPDIR/nope" <<<"x"
  assert_failure 111
  assert_output --partial 'is not a Maildir'
  [ ! -e "$BATS_TEST_TMPDIR/nope" ]
  rm -rf "$MD/cur"
  run pochta-deliver "$MD" <<<"x"
  assert_failure 111
  [ -z "$(find "$MD/new" "$MD/tmp" -mindepth 1)" ]
}

@test "deliver: unwritable Maildir is a temporary failure" {
  if [ "$(id -u)" = 0 ]; then
    chmod 700 "$MD" "$MD/tmp"
    run setpriv --reuid=65534 --regid=65534 --clear-groups pochta-deliver "$MD" <<<"x"
  else
    chmod 500 "$MD/tmp"
    run pochta-deliver "$MD" <<<"x"
  fi
  assert_failure 111
  assert_output --partial 'temporary failure'
  [ -z "$(find "$MD/new" -mindepth 1)" ]
}

@test "deliver: usage errors and header injection are permanent, nothing written" {
  run pochta-deliver
  assert_failure 100
  assert_output --partial usage
  run pochta-deliver -x "$MD"
  assert_failure 100
  run pochta-deliver -f $'a@b\nX-Evil: 1' "$MD" <<<"x"
  assert_failure 100
  assert_output --partial 'line break'
  run pochta-deliver -t $'a@b\rX' "$MD" <<<"x"
  assert_failure 100
  [ -z "$(find "$MD/new" "$MD/tmp" -mindepth 1)" ]
}

@test "deliver: a read error on the input removes the tmp file" {
  run pochta-deliver "$MD" <"$MD"   # reading a directory fails with EISDIR
  assert_failure 111
  assert_output --partial 'cannot read'
  [ -z "$(find "$MD/new" "$MD/tmp" -mindepth 1)" ]
}

@test "deliver: SIGTERM while reading removes the tmp file" {
  mkfifo "$BATS_TEST_TMPDIR/fifo"
  pochta-deliver "$MD" <"$BATS_TEST_TMPDIR/fifo" &
  pid=$!
  exec 7>"$BATS_TEST_TMPDIR/fifo"
  printf 'partial' >&7
  tmp_made() { [ -n "$(ls -A "$MD/tmp")" ]; }
  wait_for 10 tmp_made
  kill -TERM "$pid"
  st=0; wait "$pid" || st=$?
  exec 7>&-
  [ "$st" -eq 111 ]
  [ -z "$(find "$MD/new" "$MD/tmp" -mindepth 1)" ]
}

@test "deliver: disk full is a temporary failure and leaves nothing" {
  [ "$(id -u)" = 0 ] || skip "needs root to mount a small tmpfs"
  mkdir "$BATS_TEST_TMPDIR/small"
  mount -t tmpfs -o size=256k tmpfs "$BATS_TEST_TMPDIR/small" 2>/dev/null || skip "cannot mount tmpfs here"
  mkdir -p "$BATS_TEST_TMPDIR/small/M/tmp" "$BATS_TEST_TMPDIR/small/M/new" "$BATS_TEST_TMPDIR/small/M/cur"
  run bash -c "head -c 2000000 /dev/zero | tr '\\0' 'z' | pochta-deliver '$BATS_TEST_TMPDIR/small/M'"
  left=$(find "$BATS_TEST_TMPDIR/small/M/new" "$BATS_TEST_TMPDIR/small/M/tmp" -mindepth 1)
  umount "$BATS_TEST_TMPDIR/small"
  [ "$status" -eq 111 ]
  [[ "$output" == *"No space left on device"* ]]
  [ -z "$left" ]
}

@test "deliver: fsync(file) before link into new/, fsync(new/) after, then unlink tmp" {
  command -v strace >/dev/null || skip "no strace"
  printf 'Subject: s\n\nx\n' >"$BATS_TEST_TMPDIR/msg"
  ASAN_OPTIONS=detect_leaks=0 strace -f -o "$BATS_TEST_TMPDIR/trace" -e trace=open,openat,fsync,link,rename,renameat2,unlink,close \
    pochta-deliver "$MD" <"$BATS_TEST_TMPDIR/msg"
  [ "$(ls "$MD/new" | wc -l)" -eq 1 ]
  # reduce the trace to events: fsync of the tmp file's fd, the link, fsync of new/'s fd
  run python3 - "$BATS_TEST_TMPDIR/trace" <<'PY'
import re, sys
fds = {}
ev = []
for line in open(sys.argv[1]):
    m = re.search(r'open(?:at)?\((?:AT_FDCWD, )?"([^"]*)".*= (\d+)$', line)
    if m: fds[m.group(2)] = m.group(1); continue
    m = re.search(r'fsync\((\d+)\)\s+= 0', line)
    if m:
        p = fds.get(m.group(1), "?")
        ev.append("fsync-new" if p.endswith("/new") else "fsync-tmpfile" if "/tmp/" in p else "fsync-" + p)
        continue
    if re.search(r'\blink\("[^"]*/tmp/[^"]*", "[^"]*/new/', line): ev.append("link"); continue
    if re.search(r'\bunlink\("[^"]*/tmp/', line): ev.append("unlink-tmp")
print(" ".join(ev))
PY
  assert_output 'fsync-tmpfile link fsync-new unlink-tmp'
}

@test "deliver: -k names the file for good; the same key again delivers nothing more" {
  printf 'Subject: once\n\nbody\n' >"$BATS_TEST_TMPDIR/msg"
  run pochta-deliver -k 1795960000.Q0123456789abcdefR0 -f s@example.org -t alice@example.test "$MD" <"$BATS_TEST_TMPDIR/msg"
  assert_success
  f=$(one_new)
  [[ "${f##*/}" == 1795960000.Q0123456789abcdefR0.*,S=*,W=* ]]
  # the runner died before it recorded the delivery: it runs again
  run pochta-deliver -k 1795960000.Q0123456789abcdefR0 -f s@example.org -t alice@example.test "$MD" <"$BATS_TEST_TMPDIR/msg"
  assert_success
  assert_output --partial "already delivered"
  [ "$(one_new)" = "$f" ]
  [ -z "$(find "$MD/tmp" -mindepth 1)" ]
  # another recipient of the same message is another key
  run pochta-deliver -k 1795960000.Q0123456789abcdefR1 -f s@example.org -t bob@example.test "$MD" <"$BATS_TEST_TMPDIR/msg"
  assert_success
  [ "$(ls "$MD/new" | wc -l)" -eq 2 ]
  # keys that could leave the name or break its fields are refused
  for k in '' '../x' 'a:2,S' 'a,S=1' "$(head -c 81 /dev/zero | tr '\0' a)"; do
    run pochta-deliver -k "$k" "$MD" <"$BATS_TEST_TMPDIR/msg"
    assert_failure 100
  done
  [ "$(ls "$MD/new" | wc -l)" -eq 2 ]
}

@test "deliver: stale files in tmp/ (36 hours untouched) are removed, nothing else" {
  stale_tmp "$MD"
  printf 'Subject: x\n\ny\n' | pochta-deliver "$MD"
  run tmp_left "$MD"
  assert_output '3.M3P3Q3.host 4.M4P4Q4.host olddir oldlink '
  [ -e /etc/passwd ]
  [ "$(ls "$MD/new" | wc -l)" = 1 ]
}
