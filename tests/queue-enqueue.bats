#!/usr/bin/env bats
# pochta-queue: the enqueue interface, its exit codes, concurrency, fsync order.
load helpers

setup() { instance_new; }
teardown() { stop_all; }

@test "enqueue: exit 0, id on POCHTA_QIDFD, message stored byte for byte" {
  printf 'Subject: x\n\nline\0with NUL\n\xff\xfe\n' >"$BATS_TEST_TMPDIR/m"
  POCHTA_QIDFD=3 pochta-queue <"$BATS_TEST_TMPDIR/m" 1< <(printf 'Fbob@example.test\0Talice@example.test\0\0') 3>"$BATS_TEST_TMPDIR/qid"
  id=$(cat "$BATS_TEST_TMPDIR/qid")
  [[ $id =~ ^[0-9a-f]{16}$ ]]
  [ -f "$QUEUE/new/$id" ]
  cmp "$BATS_TEST_TMPDIR/m" "$QUEUE/mess/${id:0:2}/$id"
  run pochta-queuectl list
  assert_success
  assert_output --regexp "^$id age=[0-9]+s from=bob@example.test rcpts=alice@example.test todo=1 attempts=0 next=now error=\"\"$"
  [ "$(find "$QUEUE/tmp" -type f | wc -l)" = 0 ]
}

@test "enqueue: empty sender and several recipients, UTF-8 addresses" {
  run q_enqueue 'F\0Talice@example.test\0Tbob@example.test\0T\xd0\xbf\xd0\xbe\xd1\x87\xd1\x82\xd0\xb0@example.test\0\0'
  assert_success
  run pochta-queuectl list
  assert_output --partial 'from=<> rcpts=alice@example.test,bob@example.test,почта@example.test todo=3'
}

# Each hostile envelope: exact exit code, and nothing at all left in the queue.
hostile() {
  local code=$1 env=$2
  run q_enqueue "$env"
  [ "$status" -eq "$code" ] || { echo "envelope '$env': exit $status, wanted $code"; return 1; }
  [ "$(q_files)" = 0 ] || { echo "envelope '$env' left files:"; find "$QUEUE" -type f; return 1; }
}

@test "enqueue: hostile envelopes get their exit code and queue nothing" {
  hostile 91 ''                                        # empty envelope
  hostile 91 'Talice@example.test\0\0'                 # no F first
  hostile 91 'Fbob@example.test\0\0'                   # no recipient
  hostile 91 'Fbob@example.test\0Talice@example.test\0'  # no final empty record
  hostile 91 'Fbob@example.test\0Talice@example.test'    # truncated record
  hostile 91 'Fbob@example.test\0Talice@example.test\0\0garbage'  # bytes after the end
  hostile 91 'Fbob@example.test\0Xalice@example.test\0\0'  # unknown record
  hostile 91 'Fbob@example.test\0Talice\0\0'           # recipient without a domain
  hostile 91 'Fbob@example.test\0T@example.test\0\0'   # empty local part
  hostile 91 'Fbob@example.test\0Talice@\0\0'          # empty domain
  hostile 91 'Fbob@example.test\0T\0\0'                # empty recipient
  hostile 91 'Fbob@example.test\0Tal ice@example.test\0\0'   # space
  hostile 91 'Fbob@example.test\0Talice@example.test\r\0\0'  # CR
  hostile 91 'Fbob@example.test\0Talice@exa\nmple.test\0\0'  # LF
  hostile 91 'Fbob@exa\rmple.test\0Talice@example.test\0\0'  # CR in sender
  hostile 91 'Fbob\0Talice@example.test\0\0'           # sender without @
  hostile 91 'Fbob@example.test\0Tal\xffice@example.test\0\0'    # invalid UTF-8
  hostile 91 'Fbob@example.test\0Tal\xc0\xafice@example.test\0\0' # overlong UTF-8
  hostile 91 'Fbob@example.test\0Tal\xed\xa0\x80ice@example.test\0\0' # surrogate
  local long; long=$(printf 'a%.0s' $(seq 1 400))
  hostile 11 "Fbob@example.test\\0T$long@example.test\\0\\0"     # recipient too long
  hostile 11 "F$long@example.test\\0Talice@example.test\\0\\0"   # sender too long
}

@test "enqueue: an envelope over 1 MiB and one with too many recipients are refused" {
  python3 -c 'import sys; sys.stdout.buffer.write(b"Fa@b.c\0" + b"Tx@example.test\0" * 70000 + b"\0")' >"$BATS_TEST_TMPDIR/big"
  run bash -c 'echo hi | pochta-queue 1<"$1"' _ "$BATS_TEST_TMPDIR/big"
  [ "$status" -eq 91 ]
  python3 -c 'import sys; sys.stdout.buffer.write(b"Fa@b.c\0" + b"Tx@example.test\0" * 10001 + b"\0")' >"$BATS_TEST_TMPDIR/many"
  run bash -c 'echo hi | pochta-queue 1<"$1"' _ "$BATS_TEST_TMPDIR/many"
  [ "$status" -eq 91 ]
  [ "$(q_files)" = 0 ]
}

@test "enqueue: no queuedir configured is 55, an unusable queue dir 62" {
  rm "$POCHTA_CONF/queuedir"
  run q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  [ "$status" -eq 55 ]
  echo /nonexistent/queue >"$POCHTA_CONF/queuedir"
  run q_enqueue 'Fbob@example.test\0Talice@example.test\0\0'
  [ "$status" -eq 62 ]
}

@test "enqueue: 50 concurrent writers x 20 messages: nothing lost, nothing mixed up" {
  cat >"$BATS_TEST_TMPDIR/writer" <<'W'
#!/bin/bash
# writer N: 20 messages of random sizes, each recording "id sha256 rcpt".
n=$1
for i in $(seq 1 20); do
  f=$(mktemp -p "$BATS_TEST_TMPDIR")
  { printf 'Subject: w%s-%s\n\n' "$n" "$i"; head -c $((RANDOM * 7 % 200000)) /dev/urandom | base64; } >"$f"
  exec 3>"$f.id"
  POCHTA_QIDFD=3 pochta-queue <"$f" 1< <(printf "Fw$n@example.test\0Tr$n-$i@example.test\0\0") || echo "FAIL $n $i"
  exec 3>&-
  echo "$(cat "$f.id") $(sha256sum <"$f" | cut -c1-64) r$n-$i@example.test"
  rm -f "$f" "$f.id"
done
W
  chmod +x "$BATS_TEST_TMPDIR/writer"
  export BATS_TEST_TMPDIR
  for n in $(seq 1 50); do "$BATS_TEST_TMPDIR/writer" "$n" >"$BATS_TEST_TMPDIR/out.$n" & done
  wait
  cat "$BATS_TEST_TMPDIR"/out.* >"$BATS_TEST_TMPDIR/all"
  run grep -c FAIL "$BATS_TEST_TMPDIR/all"
  [ "$output" = 0 ]
  [ "$(wc -l <"$BATS_TEST_TMPDIR/all")" = 1000 ]
  [ "$(cut -d' ' -f1 "$BATS_TEST_TMPDIR/all" | sort -u | wc -l)" = 1000 ]
  [ "$(ls "$QUEUE/new" | wc -l)" = 1000 ]
  while read -r id sum rcpt; do
    [ "$(sha256sum <"$QUEUE/mess/${id:0:2}/$id" | cut -c1-64)" = "$sum" ] || { echo "$id data differs"; return 1; }
    tr '\0' '\n' <"$QUEUE/new/$id" | grep -qx "T$rcpt" || { echo "$id envelope differs"; return 1; }
  done <"$BATS_TEST_TMPDIR/all"
  run pochta-queuectl check
  assert_output --partial 'messages=1000 problems=0'
}

@test "enqueue: fsync order: data and envelope written, both fsynced, the data's directory, rename, then new/" {
  command -v strace >/dev/null || skip "strace missing"
  printf 'Subject: s\n\nx\n' >"$BATS_TEST_TMPDIR/m"
  pochta-queuectl check >/dev/null   # lay the queue out first: only the enqueue is traced
  ASAN_OPTIONS=detect_leaks=0 strace -f -o "$BATS_TEST_TMPDIR/trace" -e trace=%file,fsync,fdatasync,openat,rename,renameat,renameat2 \
    pochta-queue <"$BATS_TEST_TMPDIR/m" 1< <(printf 'Fbob@example.test\0Talice@example.test\0\0')
  # Keep the relevant calls, in order, as short tags.
  awk '
    /open(at)?\(.*"mess\/..\/[0-9a-f]+".*O_EXCL/ { print "create-mess"; next }
    /open(at)?\(.*"mess\/..".*O_DIRECTORY/ { d="messdir"; print "open-messdir"; next }
    /open(at)?\(.*"tmp\/[0-9a-f]+".*O_EXCL/ { print "create-tmp"; next }
    /open(at)?\(.*"new".*O_DIRECTORY/ { print "open-newdir"; next }
    /rename.*"tmp\/[0-9a-f]+".*"new\/[0-9a-f]+"/ { print "rename"; next }
    /fsync\(/ { print "fsync"; next }
  ' "$BATS_TEST_TMPDIR/trace" | tr '\n' ' ' >"$BATS_TEST_TMPDIR/order"
  run cat "$BATS_TEST_TMPDIR/order"
  assert_output "create-mess create-tmp fsync fsync open-messdir fsync rename open-newdir fsync "
}

@test "enqueue: SIGKILL at random moments leaves no visible message, only debris check removes" {
  for i in $(seq 1 30); do
    # A writer that feeds the message slowly, killed at a random moment.
    { printf 'Subject: k%s\n\n' "$i"; for c in $(seq 1 30); do head -c 10000 /dev/zero | tr '\0' x; sleep 0.005; done; } 2>/dev/null |
      pochta-queue 1< <(printf "Fb@example.test\0Tk$i@example.test\0\0") &
    pid=$!
    sleep "0.0$((RANDOM % 9))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  # Whatever got committed is complete; nothing half is in new/.
  for f in "$QUEUE"/new/*; do
    [ -e "$f" ] || continue
    id=${f##*/}
    [ "$(wc -c <"$QUEUE/mess/${id:0:2}/$id")" -gt 300000 ]
  done
  run pochta-queuectl check
  assert_success
  assert_output --partial 'problems=0'
}
