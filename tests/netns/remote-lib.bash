# Helpers for tests/remote-*.bats (pochta-remote and pochta-bounce).
# Load after helpers: load helpers; load netns/remote-lib

NETNS_DIR="$TESTS_DIR/netns"

# start_fake NAME [fakesmtp options]: the scriptable SMTP peer on a loopback
# port; the port lands in FAKE_PORT, the transcript in $BATS_TEST_TMPDIR/NAME.smtp.
start_fake() {
  local name=$1; shift
  local pf="$BATS_TEST_TMPDIR/$name.port"
  rm -f "$pf"
  python3 "$NETNS_DIR/fakesmtp.py" --log "$BATS_TEST_TMPDIR/$name.smtp" "$@" >"$pf" 2>>"$BATS_TEST_TMPDIR/$name.log" &
  echo $! >"$BATS_TEST_TMPDIR/$name.pid"
  local i=0
  while [ ! -s "$pf" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
  FAKE_PORT=$(head -n1 "$pf")
  [ -n "$FAKE_PORT" ]
}

# remote_conf: a minimal configuration directory for pochta-remote alone.
remote_conf() {
  export POCHTA_CONF="$BATS_TEST_TMPDIR/rconf"
  mkdir -p "$POCHTA_CONF"
  echo mx.a.test >"$POCHTA_CONF/me"
  # short RFC 5321 timeouts so that a silent peer fails the test quickly
  export POCHTA_REMOTE_TIMEOUTS="connect=5 greeting=5 mail=5 rcpt=5 data=5 block=5 dot=5"
}

# make_cert DIR NAME: a self-signed EC certificate for NAME in DIR/cert.pem, DIR/key.pem
make_cert() {
  mkdir -p "$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$1/key.pem" -out "$1/cert.pem" -days 2 -subj "/CN=$2" \
    -addext "subjectAltName=DNS:$2" 2>/dev/null
}

# remote_to PORT ARGS...: run pochta-remote against 127.0.0.1:PORT (domain
# literal), message from $MSG; stdout in $output, the log in $BATS_TEST_TMPDIR/remote.err
remote_to() {
  local port=$1; shift
  POCHTA_REMOTE_PORT=$port run remote_quiet '[127.0.0.1]' "$@" <"$MSG"
}

# remote_quiet ARGS...: pochta-remote with its log kept apart from the records
remote_quiet() { pochta-remote "$@" 2>>"$BATS_TEST_TMPDIR/remote.err"; }

# fake_queue: POCHTA_QUEUE stand-in that keeps message and envelope in
# $BATS_TEST_TMPDIR/fq.msg and fq.env (NULs as newlines).
fake_queue() {
  cat >"$BATS_TEST_TMPDIR/fakeq" <<EOT
#!/bin/sh
cat >"$BATS_TEST_TMPDIR/fq.msg"
tr '\\000' '\\n' <&1 >"$BATS_TEST_TMPDIR/fq.env"
exit \${FAKEQ_EXIT:-0}
EOT
  chmod +x "$BATS_TEST_TMPDIR/fakeq"
  export POCHTA_QUEUE="$BATS_TEST_TMPDIR/fakeq"
}

# ---- three hosts in network namespaces (root only) ----
# pr_net_up: namespaces $PR-sw (a bridge and dnsmasq at 10.77.0.53),
# $PR-a (10.77.0.1, fd77::1), $PR-b (10.77.0.2 and 10.77.0.4, fd77::2),
# $PR-c (10.77.0.3, fd77::3).
# 10.77.0.99 exists nowhere (an unreachable MX). The private range lives
# only inside these namespaces: they have no route anywhere else.
# Sets PR (the prefix, unique per test) and POCHTA_DNS for dns/.
pr_need_root() {
  [ "$(id -u)" = 0 ] || skip "needs root for ip netns"
  command -v ip >/dev/null || skip "iproute2 missing"
  command -v dnsmasq >/dev/null || skip "dnsmasq missing"
}

pr_net_up() {
  PR="pr-$$-${BATS_TEST_NUMBER}"
  echo "$PR" >"$BATS_TEST_TMPDIR/pr.name"
  ip netns add "$PR-sw"
  ip -n "$PR-sw" link add br0 type bridge
  ip -n "$PR-sw" link set lo up
  ip -n "$PR-sw" link set br0 up
  ip -n "$PR-sw" addr add 10.77.0.53/24 dev br0
  local h n=0
  for h in a b c; do
    n=$((n+1))
    ip netns add "$PR-$h"
    ip -n "$PR-sw" link add "v$h" type veth peer name eth0 netns "$PR-$h"
    ip -n "$PR-sw" link set "v$h" master br0 up
    ip -n "$PR-$h" link set lo up
    ip -n "$PR-$h" addr add "10.77.0.$n/24" dev eth0
    # IPv6 too (fd77::N, a unique-local range as private as 10.77/24), usable
    # at once (nodad)
    ip -n "$PR-$h" addr add "fd77::$n/64" dev eth0 nodad
    ip -n "$PR-$h" link set eth0 up
    # Postfix uses the C library's resolver: ip netns exec bind-mounts this
    mkdir -p "/etc/netns/$PR-$h"
    echo "nameserver 10.77.0.53" >"/etc/netns/$PR-$h/resolv.conf"
    printf '127.0.0.1 localhost\n' >"/etc/netns/$PR-$h/hosts"
  done
  ip -n "$PR-b" addr add 10.77.0.4/24 dev eth0
  export POCHTA_DNS=10.77.0.53 PR
}

# pr_dns: dnsmasq in $PR-sw answering for the test domains only
pr_dns() {
  local d="$BATS_TEST_TMPDIR/dnsmasq"
  mkdir -p "$d"
  cat >"$d/conf" <<EOT
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=10.77.0.53
except-interface=lo
user=root
pid-file=$d/pid
log-facility=$d/log
log-queries
local=/test/
host-record=mx.a.test,10.77.0.1
host-record=mx.b.test,10.77.0.2
host-record=mx.c.test,10.77.0.3
host-record=temp.b.test,10.77.0.4
host-record=dead.down.test,10.77.0.99
host-record=dead.unreach.test,10.77.0.99
host-record=amx.test,10.77.0.2
host-record=dual.b.test,10.77.0.2,fd77::2
host-record=v6.b.test,fd77::2
mx-host=dual.test,dual.b.test,10
mx-host=v6.test,v6.b.test,10
mx-host=a.test,mx.a.test,10
mx-host=b.test,mx.b.test,10
mx-host=c.test,mx.c.test,10
mx-host=down.test,dead.down.test,10
mx-host=down.test,mx.b.test,20
mx-host=unreach.test,dead.unreach.test,10
mx-host=temp.test,temp.b.test,10
mx-host=nullmx.test,.,0
EOT
  ip netns exec "$PR-sw" dnsmasq --conf-file="$d/conf"
  local i=0
  while [ ! -s "$d/pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
  cp "$d/pid" "$BATS_TEST_TMPDIR/dnsmasq.pid"
}

# pr_net_down: kill everything in our namespaces, remove them
pr_net_down() {
  [ -f "$BATS_TEST_TMPDIR/pr.name" ] || return 0
  local p h pid
  p=$(cat "$BATS_TEST_TMPDIR/pr.name")
  for h in a b c sw; do
    for pid in $(ip netns pids "$p-$h" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  done
  sleep 0.2
  for h in a b c sw; do
    for pid in $(ip netns pids "$p-$h" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$p-$h" 2>/dev/null || true
    rm -rf "/etc/netns/$p-$h"
  done
  rm -f "$BATS_TEST_TMPDIR/pr.name"
}

# in HOST CMD...: run CMD on host a, b or c
in_ns() { local h=$1; shift; ip netns exec "$PR-$h" "$@"; }

# pr_pochta HOST HOSTNAME DOMAIN...: a pochta instance for host a, b or c in
# $BATS_TEST_TMPDIR/HOST, users alice@ and postmaster@ of every domain
# (password "secret"), pochta-smtpd on port 25 of the host's address behind
# pochta-tlsd (STARTTLS), and pochta-send. Sets CONF_<HOST> and MAIL_<HOST>.
pr_pochta() {
  local h=$1 name=$2; shift 2
  local dir="$BATS_TEST_TMPDIR/$h" ip d
  case $h in a) ip=10.77.0.1;; b) ip=10.77.0.2;; c) ip=10.77.0.3;; esac
  local conf="$dir/etc"
  pochta -C "$conf" init --queue "$dir/queue" --mail "$dir/mail" --state "$dir/state" --hostname "$name" >/dev/null
  for d in "$@"; do
    pochta -C "$conf" domain add "$d" >/dev/null
    pochta -C "$conf" user add "alice@$d" --password secret >/dev/null
    pochta -C "$conf" user add "postmaster@$d" --password secret >/dev/null
  done
  make_cert "$conf/tls" "$name"
  # fast retries and a short lifetime, short SMTP timeouts
  echo 1 >"$conf/retrymin"; echo 2 >"$conf/retrymax"; echo 12 >"$conf/queuelifetime"
  echo "connect=2 greeting=5 mail=5 rcpt=5 data=5 block=5 dot=5" >"$conf/remotetimeouts"
  printf -v "CONF_$h" '%s' "$conf"
  printf -v "MAIL_$h" '%s' "$dir/mail"
  ip netns exec "$PR-$h" env POCHTA_CONF="$conf" tcpserver -HR "$ip" 25 pochta-tlsd pochta-smtpd \
    2>>"$BATS_TEST_TMPDIR/$h-smtpd.log" &
  echo $! >"$BATS_TEST_TMPDIR/$h-smtpd.pid"
  ip netns exec "$PR-$h" env POCHTA_CONF="$conf" POCHTA_DNS=10.77.0.53 pochta-send \
    2>>"$BATS_TEST_TMPDIR/$h-send.log" &
  echo $! >"$BATS_TEST_TMPDIR/$h-send.pid"
  local i=0
  while ! ip netns exec "$PR-$h" python3 -c "import socket; socket.create_connection(('$ip', 25), 1)" 2>/dev/null; do
    sleep 0.1; i=$((i+1)); [ $i -lt 50 ] || return 1
  done
}

# pr_enqueue HOST SENDER RCPT...: a message into HOST's queue (body from $MSG)
pr_enqueue() {
  local h=$1 s=$2; shift 2
  local env="$BATS_TEST_TMPDIR/env.$$" r conf
  conf=$(eval echo "\$CONF_$h")
  { printf 'F%s\0' "$s"; for r in "$@"; do printf 'T%s\0' "$r"; done; printf '\0'; } >"$env"
  POCHTA_CONF="$conf" pochta-queue <"$MSG" 1<"$env"
}

# maildir_count HOST ADDR: messages in that user's Maildir on HOST
pr_count() {
  local m u=${2%@*} d=${2#*@}
  m=$(eval echo "\$MAIL_$1")
  find "$m/$d/$u/Maildir/new" "$m/$d/$u/Maildir/cur" -type f 2>/dev/null | wc -l
}
pr_mail() {
  local m u=${2%@*} d=${2#*@}
  m=$(eval echo "\$MAIL_$1")
  cat "$m/$d/$u/Maildir/new/"* "$m/$d/$u/Maildir/cur/"* 2>/dev/null
}

# pr_postfix: Postfix on host c (mx.c.test) under a private config dir:
# takes mail for c.test into $PF/vmail/carol/, relays for
# 10.77.0.0/24 by DNS MX, STARTTLS both ways (opportunistic).
pr_postfix() {
  command -v postfix >/dev/null || skip "postfix missing"
  # outside $BATS_TEST_TMPDIR (mode 0700): postfix and nobody must reach it
  local d
  d=$(mktemp -d /tmp/pr-postfix.XXXXXX)
  chmod 755 "$d"
  PF="$d"
  echo "$d" >"$BATS_TEST_TMPDIR/postfix.dir"
  mkdir -p "$d/etc" "$d/queue" "$d/data" "$d/vmail"
  make_cert "$d/etc" mx.c.test
  chown -R nobody:nogroup "$d/vmail"
  echo "carol@c.test carol/" >"$d/etc/vmailbox"
  cat >"$d/etc/main.cf" <<EOT
compatibility_level = 3.6
queue_directory = $d/queue
data_directory = $d/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.c.test
mydomain = c.test
myorigin = c.test
mydestination =
inet_interfaces = 10.77.0.3
inet_protocols = ipv4
mynetworks = 127.0.0.0/8 10.77.0.0/24
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
virtual_mailbox_domains = c.test
virtual_mailbox_base = $d/vmail
virtual_mailbox_maps = texthash:$d/etc/vmailbox
virtual_uid_maps = static:$(id -u nobody)
virtual_gid_maps = static:$(id -g nobody)
smtpd_tls_cert_file = $d/etc/cert.pem
smtpd_tls_key_file = $d/etc/key.pem
smtpd_tls_security_level = may
smtp_tls_security_level = may
smtp_tls_loglevel = 1
maillog_file = $d/maillog
maillog_file_prefixes = /tmp
alias_maps =
alias_database =
smtputf8_enable = yes
minimal_backoff_time = 2s
maximum_backoff_time = 4s
queue_run_delay = 2s
EOT
  # no chroot: the daemons must see the test's paths and resolv.conf
  awk '/^[a-z]/ && NF >= 8 { $5 = "n" } { print }' /etc/postfix/master.cf >"$d/etc/master.cf"
  grep -q '^postlog' "$d/etc/master.cf" || echo 'postlog   unix-dgram n  -       n       -       1       postlogd' >>"$d/etc/master.cf"
  # the queue layout postfix(1) would make; postfix(1) itself refuses a
  # config directory that the (absent) default main.cf does not list, so
  # master(8) is started directly, in the foreground, as our child
  local q="$d/queue" sub
  for sub in active bounce corrupt defer deferred flush hold incoming private saved trace; do
    mkdir -p "$q/$sub"; chown postfix:root "$q/$sub"; chmod 700 "$q/$sub"
  done
  mkdir -p "$q/public" "$q/maildrop" "$q/pid"
  chown postfix:postdrop "$q/public" "$q/maildrop"; chmod 710 "$q/public"; chmod 1730 "$q/maildrop"
  chown postfix "$d/data"
  ip netns exec "$PR-c" /usr/lib/postfix/sbin/master -c "$d/etc" -d 2>>"$BATS_TEST_TMPDIR/postfix.log" &
  echo $! >"$BATS_TEST_TMPDIR/postfix.pid"
  local i=0
  while ! ip netns exec "$PR-c" python3 -c "import socket; socket.create_connection(('10.77.0.3', 25), 1)" 2>/dev/null; do
    sleep 0.2; i=$((i+1)); [ $i -lt 50 ] || return 1
  done
}
# (master and its children die with the namespace's processes in pr_net_down)
pr_postfix_stop() {
  stop postfix
  local d
  [ -f "$BATS_TEST_TMPDIR/postfix.dir" ] || return 0
  d=$(cat "$BATS_TEST_TMPDIR/postfix.dir")
  sleep 0.5
  case $d in /tmp/pr-postfix.*) rm -rf "$d";; esac
  rm -f "$BATS_TEST_TMPDIR/postfix.dir"
}

# pr_has HOST ADDR N: true when that Maildir holds exactly N messages (for wait_for)
pr_has() { [ "$(pr_count "$1" "$2")" = "$3" ]; }
