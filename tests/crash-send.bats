#!/usr/bin/env bats
# Durability (issue 2): 20 parallel SMTP clients send 2,000 messages through
# pochta-smtpd under tcpserver while pochta-send is killed with SIGKILL several
# times and restarted. Every message that got 250 must arrive, and exactly
# once: repeated deliveries find their keyed file (pochta-queue(5)).
load helpers

setup() { instance_new; }
teardown() { stop_all; }

@test "crash: 2,000 messages over SMTP, pochta-send SIGKILLed 6 times: none lost" {
  command -v pochta-smtpd >/dev/null || skip "pochta-smtpd not built"
  start_smtpd
  bg send pochta-send
  cat >"$BATS_TEST_TMPDIR/clients.py" <<'PY'
import smtplib, sys, threading
port, out = int(sys.argv[1]), sys.argv[2]
ok, lock = [], threading.Lock()
def client(n):
    for i in range(100):
        tok = "crash-%02d-%03d" % (n, i)
        msg = "From: c%d@example.test\r\nTo: alice@example.test\r\nSubject: %s\r\n\r\n%s" % (n, tok, ("x" * 70 + "\r\n") * (i * 37 % 60))
        for attempt in range(3):
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=60, local_hostname="client.test") as s:
                    s.sendmail("c%d@example.test" % n, ["alice@example.test"], msg)
                with lock: ok.append(tok)
                break
            except (smtplib.SMTPException, OSError) as e:
                sys.stderr.write("%s: %r\n" % (tok, e))
                continue
ts = [threading.Thread(target=client, args=(n,)) for n in range(20)]
[t.start() for t in ts]; [t.join() for t in ts]
open(out, "w").write("\n".join(sorted(ok)) + "\n")
PY
  python3 "$BATS_TEST_TMPDIR/clients.py" "$SMTP_PORT" "$BATS_TEST_TMPDIR/accepted" 2>"$BATS_TEST_TMPDIR/clients.log" &
  cpid=$!
  for k in 1 2 3 4 5 6; do
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 "$(cat "$BATS_TEST_TMPDIR/send.pid")"
    sleep 0.1
    bg send pochta-send
  done
  wait "$cpid"
  md=$(maildir_of alice@example.test)
  accepted=$(wc -l <"$BATS_TEST_TMPDIR/accepted")
  echo "# crash: accepted=$accepted" >&3
  [ "$accepted" -ge 1990 ]     # the clients retry; nearly all must get 250
  wait_for 120 queue_empty
  grep -h '^Subject: crash-' -r "$md/new" "$md/cur" | sed 's/^Subject: //' | sort >"$BATS_TEST_TMPDIR/arrived"
  # Nothing accepted is missing.
  missing=$(comm -23 "$BATS_TEST_TMPDIR/accepted" <(sort -u "$BATS_TEST_TMPDIR/arrived") | wc -l)
  dups=$(uniq -d "$BATS_TEST_TMPDIR/arrived" | wc -l)
  thrice=$(uniq -c "$BATS_TEST_TMPDIR/arrived" | awk '$1 > 2' | wc -l)
  extra=$(( $(wc -l <"$BATS_TEST_TMPDIR/arrived") - $(sort -u "$BATS_TEST_TMPDIR/arrived" | wc -l) ))
  redelivered=$(grep -c 'event=redelivery' "$BATS_TEST_TMPDIR/send.log" || true)
  echo "# crash: accepted=$accepted arrived=$(wc -l <"$BATS_TEST_TMPDIR/arrived") missing=$missing duplicates=$dups thrice=$thrice extra=$extra redelivered=$redelivered restarts=6" >&3
  [ "$missing" = 0 ]
  # A delivery that had committed but was not recorded when a runner died is
  # run again by the next runner with the same key (-k), and finds its file in
  # new/: no copy too many. (Only a file a reader had moved to cur/ meanwhile
  # could come twice; nothing reads this Maildir here.)
  [ "$extra" = 0 ]
  run pochta-queuectl check
  assert_output --partial 'problems=0'
}
