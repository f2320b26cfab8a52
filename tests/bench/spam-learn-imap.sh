#!/bin/sh
# spam-learn-imap.sh — the classifier trained the way users train it (prints,
# asserts nothing): spam-corpus.py writes N ham and N spam; the first T of each
# are delivered, the spam into INBOX and the ham into Junk (misfiled), and a
# user with Python's imaplib moves them, in moves of 10 as a mail client does,
# spam into Junk and ham out of it, through pochta-imapd under tcpserver.
# pochta-imapd learns from each move; the held-out rest is then classified
# against the database it wrote, as delivery does (spam-bench classify).
# Prints accuracy, false positives and negatives, and the time a MOVE takes
# with its learning.   sh tests/bench/spam-learn-imap.sh [N] [T]
set -eu
N=${1:-1000} T=${2:-200}
top=$(cd "$(dirname "$0")/../.." && pwd)
b=${POCHTA_BUILD:-$top/build}
PATH=$b/bin:$PATH; export PATH
tmp=$(mktemp -d /tmp/spam-learn-imap.XXXXXX)
trap 'kill $(cat "$tmp/tcpserver.pid" 2>/dev/null) 2>/dev/null; rm -rf "$tmp"' EXIT
python3 "$top/tests/bench/spam-corpus.py" "$tmp/corpus" "$N" 1
POCHTA_CONF=$tmp/etc; export POCHTA_CONF
pochta init --queue "$tmp/queue" --mail "$tmp/mail" --state "$tmp/state" --hostname mx.example.test >/dev/null 2>&1
pochta domain add example.test >/dev/null
printf 'secret\n' | pochta user add alice@example.test >/dev/null 2>&1
echo loopback >"$POCHTA_CONF/plainauth"
MD=$tmp/mail/example.test/alice/Maildir
maildir_make() { mkdir -p "$1/tmp" "$1/new" "$1/cur"; }
maildir_make "$MD"; maildir_make "$MD/.Junk"; touch "$MD/.Junk/maildirfolder"
ls "$tmp/corpus/spam" | sort | head -n "$T" | while read -r f; do pochta-deliver "$MD" <"$tmp/corpus/spam/$f"; done
ls "$tmp/corpus/ham" | sort | head -n "$T" | while read -r f; do pochta-deliver "$MD/.Junk" <"$tmp/corpus/ham/$f"; done
tcpserver -1 -HR -c 20 -l localhost 127.0.0.1 0 pochta-imapd >"$tmp/port" 2>"$tmp/imapd.log" &
echo $! >"$tmp/tcpserver.pid"
i=0; while [ ! -s "$tmp/port" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
echo "# spam-learn-imap: corpus $N ham + $N spam, $T of each trained over IMAP; load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$(head -n1 "$tmp/port")" "$T" <<'EOF'
import imaplib, sys, time
port, t = int(sys.argv[1]), int(sys.argv[2])
m = imaplib.IMAP4('127.0.0.1', port)
m.login('alice@example.test', 'secret')
def moves(folder, target, crit):
    # the messages crit finds, in moves of 10; the time of the MOVE commands
    assert m.select(folder)[0] == 'OK'
    uids = m.uid('SEARCH', crit)[1][0].split()
    spent = 0.0
    for i in range(0, len(uids), 10):
        s = time.monotonic()
        r = m.uid('MOVE', b','.join(uids[i:i + 10]).decode(), target)
        spent += time.monotonic() - s
        assert r[0] == 'OK', r
    return len(uids), spent
# the spam out of INBOX (all it has), then the ham out of Junk: delivered before
# any move, they have its first uids
ns, ts = moves('INBOX', 'Junk', 'ALL')
nh, th = moves('Junk', 'INBOX', 'UID 1:%d' % t)
print("spam-learn-imap: %d moves of 10: %.2f ms per MOVE with learning (%.2f ms per message)"
      % ((nh + ns) // 10, 1e3 * (th + ts) / ((nh + ns) / 10), 1e3 * (th + ts) / (nh + ns)))
m.logout()
EOF
grep -c 'event=learn user' "$tmp/imapd.log" | sed 's/^/spam-learn-imap: commands that learned: /'
grep 'event=learn result=error' "$tmp/imapd.log" | head -3
"$b/check/spam-bench" classify "$tmp/corpus" "$(dirname "$MD")" "$T"
