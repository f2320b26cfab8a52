# Shared by the SMTP benchmarks (sourced): the settings of a benchmark instance.

# bench_settings DIR: connection limits above any load (every client is
# 127.0.0.1), lock files of the instance's own in DIR/run; CHECKS (on/off, default
# off) and SPAM (on/off: pochta-spam(5) score, default on, as deployed).
bench_settings() {
  mkdir -p "$1/run"; echo "$1/run" >"$POCHTA_CONF/rundir"
  printf '%s 1000 1000\n' smtp submission >"$POCHTA_CONF/connlimits"
  echo "${CHECKS:-off}" >"$POCHTA_CONF/checks"
  if [ "${SPAM:-on}" = off ]; then echo "score off" >"$POCHTA_CONF/spam"; fi
}

# bench_local_dns DIR: a dnsmasq on a free loopback port answering for the test
# sender (SPF, DMARC, the client's PTR) and nothing else, for the sender checks;
# exports POCHTA_DNS, sets BENCH_DNS_PID. Never the system's resolver: benchmarks
# send nothing off this host.
bench_local_dns() {
  local dport
  command -v dnsmasq >/dev/null || { echo "# CHECKS=on needs dnsmasq"; return 1; }
  dport=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$1/dnsmasq.conf" <<EOT
no-resolv
no-hosts
no-poll
bind-interfaces
listen-address=127.0.0.1
port=$dport
user=root
pid-file=$1/dnsmasq.pid
local=/test/
local=/in-addr.arpa/
txt-record=example.test,"v=spf1 ip4:127.0.0.0/8 -all"
txt-record=_dmarc.example.test,"v=DMARC1; p=reject"
ptr-record=1.0.0.127.in-addr.arpa,localhost.example.test
host-record=localhost.example.test,127.0.0.1
EOT
  dnsmasq --conf-file="$1/dnsmasq.conf" || return 1
  for _ in $(seq 100); do [ -s "$1/dnsmasq.pid" ] && break; sleep 0.05; done
  BENCH_DNS_PID=$(cat "$1/dnsmasq.pid")
  export POCHTA_DNS="127.0.0.1#$dport"
}
