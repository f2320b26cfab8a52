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
  # Each writer: 20 messages of random sizes, one pochta-queue after another, each
  # recording the id it got on POCHTA_QIDFD. Then every id is checked against the
  # message and the recipient it was given. (Python: a shell writer cost ten
  # processes per message, and the run was mostly their start-up.)
  run python3 - "$QUEUE" <<'PY'
import base64, hashlib, os, random, subprocess, sys, threading
queue = sys.argv[1]
got, fails = [], []
lock = threading.Lock()
def writer(n):
    for i in range(1, 21):
        msg = b'Subject: w%d-%d\n\n' % (n, i) + base64.encodebytes(os.urandom(random.randrange(200000)))
        env_r, env_w = os.pipe()
        os.write(env_w, b'Fw%d@example.test\0Tr%d-%d@example.test\0\0' % (n, n, i))
        os.close(env_w)
        id_r, id_w = os.pipe()
        p = subprocess.Popen(['pochta-queue'], stdin=subprocess.PIPE, stdout=env_r, stderr=subprocess.DEVNULL,
                             pass_fds=(id_w,), env=dict(os.environ, POCHTA_QIDFD=str(id_w)))
        os.close(env_r); os.close(id_w)
        p.communicate(msg)
        qid = os.read(id_r, 100).decode().strip()
        os.close(id_r)
        with lock:
            if p.returncode != 0 or not qid: fails.append('%d-%d exit %d' % (n, i, p.returncode))
            else: got.append((qid, hashlib.sha256(msg).hexdigest(), 'r%d-%d@example.test' % (n, i)))
ts = [threading.Thread(target=writer, args=(n,)) for n in range(1, 51)]
for t in ts: t.start()
for t in ts: t.join()
print('failed', len(fails), fails[:5])
print('ids', len(got), 'distinct', len({q for q, _, _ in got}))
print('in new/', len(os.listdir(os.path.join(queue, 'new'))))
bad = 0
for qid, digest, rcpt in got:
    with open(os.path.join(queue, 'mess', qid[:2], qid), 'rb') as f:
        if hashlib.sha256(f.read()).hexdigest() != digest: bad += 1; print(qid, 'data differs')
    with open(os.path.join(queue, 'new', qid), 'rb') as f:
        if b'\0T' + rcpt.encode() + b'\0' not in b'\0' + f.read(): bad += 1; print(qid, 'envelope differs')
print('differ', bad)
PY
  assert_success
  assert_line 'failed 0 []'
  assert_line 'ids 1000 distinct 1000'
  assert_line 'in new/ 1000'
  assert_line 'differ 0'
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

@test "enqueue: killed as it enters each step of taking files over from trash/, it leaves no message or a whole one, never old octets" {
  command -v strace >/dev/null || skip "strace missing"
  pochta-queuectl check >/dev/null   # lay the queue out first
  msg=$'Subject: crash point\n\nnew body\n'
  # The writer's steps in order, each as SYSCALL:N (its Nth call of it): the data
  # file taken over (times, rename), its write, the envelope's file taken over and
  # written, both cut to length, both fsynced, the data's directory fsynced, the
  # commit (rename into new/) and new/ fsynced. A SIGKILL delivered as the call is
  # entered (strace's fault injection) ends the writer before the call runs.
  points="utimensat:1 renameat2:1 write:1 utimensat:2 renameat2:2 write:2 ftruncate:1 ftruncate:2 fsync:1 fsync:2 fsync:3 rename,renameat:1 fsync:4"
  for p in $points; do
    sys=${p%:*} n=${p#*:}
    # files left in trash/ by removals: longer than the new message, and of octets
    # that must never be seen in it
    find "$QUEUE/trash" -type f -delete
    for i in 1 2 3 4 5 6 7 8; do head -c 5000 /dev/zero | tr '\0' O >"$QUEUE/trash/000000000000000$i.m"; done
    before=$(find "$QUEUE/new" -type f | wc -l)
    if printf '%s' "$msg" | ASAN_OPTIONS=detect_leaks=0 strace -o /dev/null -e trace="$sys" -e inject="$sys:signal=SIGKILL:when=$n" \
        pochta-queue 1< <(printf 'Fbob@example.test\0Talice@example.test\0\0'); then
      echo "$p: the writer was not killed"; return 1
    fi
    after=$(find "$QUEUE/new" -type f | wc -l)
    # only once the commit's rename has run is there a message, and then all of it
    want=$before; [ "$p" = fsync:4 ] && want=$((before + 1))
    [ "$after" = "$want" ] || { echo "$p: $before messages before, $after after"; return 1; }
    # killed before its first write, the writer had taken a file over: its old
    # octets are there under a new name, and no envelope names it
    if [ "$p" = write:1 ]; then
      old=$(grep -rl OOOO "$QUEUE/mess")
      [ -n "$old" ] && [ ! -e "$QUEUE/new/${old##*/}" ]
    fi
    for e in "$QUEUE"/new/*; do
      [ -e "$e" ] || continue
      id=${e##*/}
      [ "$(cat "$QUEUE/mess/${id:0:2}/$id")" = "$(printf '%s' "$msg")" ] || { echo "$p: $id is not the message"; return 1; }
      [ "$(stat -c %s "$QUEUE/mess/${id:0:2}/$id")" = "${#msg}" ]
    done
  done
  run pochta-queuectl check
  assert_output --partial 'problems=0'
  # the runner delivers exactly the one committed message, then a writer not killed
  # takes over what is left and its message arrives whole too
  start_send
  q_enqueue 'Fbob@example.test\0Talice@example.test\0\0' $'Subject: after\n\nlast body\n'
  wait_for 30 user_has alice@example.test 2
  wait_for 20 queue_empty
  md=$(maildir_of alice@example.test)
  [ "$(grep -l '^new body$' "$md"/new/* | wc -l)" = 1 ]
  [ "$(grep -l '^last body$' "$md"/new/* | wc -l)" = 1 ]
  ! grep -q OOO "$md"/new/*
}
