# Helpers for tests/spam-*.bats. Load after helpers: load helpers; load spam/lib

SPAM_DIR="$TESTS_DIR/spam"
SPAMTEST="${POCHTA_BUILD:-$(dirname "$POCHTA_BIN")}/check/spam-test"
GTUBE='XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X'

# free_udp_port / free_tcp_port: a port nobody listens on now (the kernel's choice).
free_port_of() {
  python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, getattr(socket, sys.argv[1])); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$1"
}

# start_dnsmasq RECORDS...: dnsmasq on 127.0.0.1 at a free port (DNS_PORT), answering
# only from the host-record=/address= lines given; everything else NXDOMAIN.
# Sets POCHTA_DNS for the programs under test.
start_dnsmasq() {
  command -v dnsmasq >/dev/null || skip "dnsmasq missing"
  local d="$BATS_TEST_TMPDIR/dnsmasq" r
  mkdir -p "$d"
  DNS_PORT=$(free_port_of SOCK_DGRAM)
  {
    printf 'no-resolv\nno-hosts\nno-poll\nbind-interfaces\nlisten-address=127.0.0.1\nport=%s\n' "$DNS_PORT"
    printf 'user=root\npid-file=%s/pid\nlog-facility=%s/log\nlog-queries\nlocal=/test/\n' "$d" "$d"
    for r in "$@"; do printf '%s\n' "$r"; done
  } >"$d/conf"
  dnsmasq --conf-file="$d/conf"
  local i=0
  while [ ! -s "$d/pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
  cp "$d/pid" "$BATS_TEST_TMPDIR/dnsmasq.pid"
  export POCHTA_DNS="127.0.0.1#$DNS_PORT" DNS_PORT
  wait_for 5 dns_answers
}
dns_answers() { [ "$("$SPAMTEST" dns probe.never.test)" = nxdomain ]; }

# start_clamd: ClamAV's clamd with a signature database this test writes in ClamAV's
# own format (an .ndb body signature for the text in CLAMD_SIG; no download, no
# freshclam), on a unix socket (CLAMD_SOCK) and a loopback TCP port (CLAMD_PORT).
CLAMD_SIG='POCHTA-TEST-VIRUS-SIGNATURE-7f3a'
start_clamd() {
  command -v clamd >/dev/null || skip "clamd missing (clamav-daemon)"
  local d="$BATS_TEST_TMPDIR/clamd"
  mkdir -p "$d/db"
  printf 'Pochta.Test.Signature:0:*:%s\n' "$(printf '%s' "$CLAMD_SIG" | od -An -tx1 | tr -d ' \n')" >"$d/db/pochta.ndb"
  CLAMD_SOCK="$d/clamd.sock"
  CLAMD_PORT=$(free_port_of SOCK_STREAM)
  cat >"$d/clamd.conf" <<EOT
LocalSocket $CLAMD_SOCK
TCPSocket $CLAMD_PORT
TCPAddr 127.0.0.1
DatabaseDirectory $d/db
Foreground yes
LogFile $d/clamd.log
EOT
  bg clamd clamd -c "$d/clamd.conf"
  export CLAMD_SOCK CLAMD_PORT
  wait_for 30 test -S "$CLAMD_SOCK"
}

# A message with an attachment: infected (holds CLAMD_SIG) or clean.
attachment_msg() {
  local data
  if [ "$1" = infected ]; then data=$(printf 'binary prefix %s suffix' "$CLAMD_SIG" | base64 -w0)
  else data=$(printf 'harmless data' | base64 -w0); fi
  printf 'From: a@sender.test\nTo: alice@example.test\nSubject: with attachment\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s@sender.test>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Type: text/plain\n\nsee attached\n--zz\nContent-Type: application/octet-stream; name="x.bin"\nContent-Transfer-Encoding: base64\n\n%s\n--zz--\n' "$1" "$data"
}

# scored_msg SCORE SUBJECT [FIELD]: a message as pochta-smtpd queues it: our
# Received field, then the inspection's fields (Authentication-Results, ours, and
# FIELD if given, e.g. X-Pochta-Junk), then the message.
scored_msg() {
  printf 'Received: from mail.sender.test ([192.0.2.1])\n\tby mx.example.test (pochta) with ESMTP id 1; Mon, 1 Jan 2024 00:00:00 +0000\nAuthentication-Results: mx.example.test; spf=pass smtp.mailfrom=sender.test\nX-Spam-Score: %s\nX-Spam-Status: No, score=%s required=5.0 tests=none\n%bFrom: a@sender.test\nTo: alice@example.test\nSubject: %s\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <%s.%s@sender.test>\n\nHello, this is the body.\n' "$1" "$1" "${3:+$3\n}" "$2" "$RANDOM" "$RANDOM"
}

# enqueue FILE RCPT...: into the instance's queue, as pochta-smtpd does.
enqueue() {
  local f=$1 r
  shift
  { printf 'Fa@sender.test\0'; for r in "$@"; do printf 'T%s\0' "$r"; done; printf '\0'; } >"$BATS_TEST_TMPDIR/env.$$"
  pochta-queue <"$f" 1<"$BATS_TEST_TMPDIR/env.$$" 2>/dev/null
}

# junk_of ADDR: the user's .Junk folder
junk_of() { echo "$(maildir_of "$1")/.Junk"; }
