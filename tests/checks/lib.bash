# Helpers for tests/checks-*.bats: a network namespace with only a loopback, where
# dnsmasq answers on 127.0.0.1:53 for the records a test declares, and the C
# library's resolver (dkimpy, OpenDKIM) and dns/ (through /etc/resolv.conf, which
# ip netns exec replaces with /etc/netns/NAME/resolv.conf) both ask it.
# Load after helpers: load helpers; load checks/lib

CK_DIR="$TESTS_DIR/checks"
CHECKTOOL="${POCHTA_BUILD:-$TESTS_DIR/../build}/check/checktool"
DNSQ="${POCHTA_BUILD:-$TESTS_DIR/../build}/check/dnsq"
SPFTEST="${POCHTA_BUILD:-$TESTS_DIR/../build}/check/spftest"
PY=/usr/bin/python3     # Debian's python3-* modules load only there

ck_need_root() {
  [ "$(id -u)" = 0 ] || skip "needs root for ip netns"
  command -v dnsmasq >/dev/null || skip "dnsmasq missing"
}

# ck_zone_reset: start a new record list (dnsmasq configuration lines)
ck_zone_reset() { : >"$BATS_TEST_TMPDIR/zone.conf"; }

# ck_rr NAME TYPE DATA...: one record. TXT data of any length is cut into strings of
# 250 octets; A makes no PTR (address=), PTR takes the address (ck_rr 192.0.2.1 PTR name).
ck_rr() {
  local name=$1 type=$2; shift 2
  case $type in
    A|AAAA) echo "host-record=$name,$1" >>"$BATS_TEST_TMPDIR/zone.conf" ;;
    MX) echo "mx-host=$name,$2,$1" >>"$BATS_TEST_TMPDIR/zone.conf" ;;
    PTR) echo "ptr-record=$($PY -c 'import ipaddress,sys; print(ipaddress.ip_address(sys.argv[1]).reverse_pointer)' "$name"),$1" >>"$BATS_TEST_TMPDIR/zone.conf" ;;
    CNAME) echo "cname=$name,$1" >>"$BATS_TEST_TMPDIR/zone.conf" ;;
    TXT) $PY - "$name" "$*" >>"$BATS_TEST_TMPDIR/zone.conf" <<'PYEOF'
import sys
name, s = sys.argv[1], sys.argv[2]
parts = [s[i:i + 250] for i in range(0, len(s), 250)] or [""]
print("txt-record=%s,%s" % (name, ",".join('"%s"' % p.replace('\\', '\\\\').replace('"', '\\"') for p in parts)))
PYEOF
    ;;
    *) echo "ck_rr: unknown type $type" >&2; return 1 ;;
  esac
}

# ck_net_up: the namespace ($CK) and dnsmasq serving the zone. Names under
# broken.test are forwarded to a server that does not exist: SERVFAIL (temperror).
ck_net_up() {
  CK="ck-$$-${BATS_TEST_NUMBER}"
  echo "$CK" >"$BATS_TEST_TMPDIR/ck.name"
  ip netns add "$CK"
  ip -n "$CK" link set lo up
  mkdir -p "/etc/netns/$CK"
  echo "nameserver 127.0.0.1" >"/etc/netns/$CK/resolv.conf"
  local d="$BATS_TEST_TMPDIR/dnsmasq"
  mkdir -p "$d"
  cat >"$d/conf" <<EOT
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=127.0.0.1
user=root
pid-file=$d/pid
log-facility=$d/log
log-queries
local-ttl=300
local=/test/
local=/2.0.192.in-addr.arpa/
server=/broken.test/127.0.0.9#53
EOT
  cat "$BATS_TEST_TMPDIR/zone.conf" >>"$d/conf"
  ip netns exec "$CK" dnsmasq --conf-file="$d/conf"
  local i=0
  while [ ! -s "$d/pid" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
  cp "$d/pid" "$BATS_TEST_TMPDIR/dnsmasq.pid"
  export CK
}

ck_net_down() {
  [ -f "$BATS_TEST_TMPDIR/ck.name" ] || return 0
  local n pid
  n=$(cat "$BATS_TEST_TMPDIR/ck.name")
  for pid in $(ip netns pids "$n" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  for pid in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$n" 2>/dev/null || true
  rm -rf "/etc/netns/$n" "$BATS_TEST_TMPDIR/ck.name"
}

# ck CMD...: run CMD inside the namespace
ck() { ip netns exec "$CK" "$@"; }

# ck_keys DIR: RSA and Ed25519 keys made by checktool (pochta's own generator) and an
# RSA key made by openssl, with their records published under example.test as
# selectors r1, e1 and ext.
ck_keys() {
  local d=$1
  mkdir -p "$d"
  "$CHECKTOOL" keygen rsa >"$d/r1.pem"
  "$CHECKTOOL" keygen ed25519 >"$d/e1.pem"
  openssl genrsa -out "$d/ext.pem" 2048 2>/dev/null
  ck_rr r1._domainkey.example.test TXT "$("$CHECKTOOL" record "$d/r1.pem")"
  ck_rr e1._domainkey.example.test TXT "$("$CHECKTOOL" record "$d/e1.pem")"
  ck_rr ext._domainkey.example.test TXT "v=DKIM1; k=rsa; p=$(openssl rsa -in "$d/ext.pem" -pubout -outform DER 2>/dev/null | base64 -w0)"
}

# ck_msg FILE [FROM]: a plain test message
ck_msg() {
  printf 'From: Alice <%s>\nTo: bob@example.org\nSubject: hello  there\nDate: Wed, 2 Dec 2026 05:00:00 +0000\nMessage-ID: <1@example.test>\nMIME-Version: 1.0\nContent-Type: text/plain\n\nHello Bob,\n  this is a test.  \n\n\n' "${2:-alice@example.test}" >"$1"
}
