#!/usr/bin/env bats
# dns/ against a hostile DNS server on loopback (tests/checks/fakedns.py): huge,
# looping, malformed, lying and silent answers give a temporary failure in bounded
# time, never a crash or a wrong record; good answers still come through.

load helpers
load checks/lib

setup() {
  local pf="$BATS_TEST_TMPDIR/fakedns.port"
  $PY "$CK_DIR/fakedns.py" --log "$BATS_TEST_TMPDIR/fakedns.queries" >"$pf" 2>>"$BATS_TEST_TMPDIR/fakedns.log" &
  echo $! >"$BATS_TEST_TMPDIR/fakedns.pid"
  wait_for 5 test -s "$pf"
  export POCHTA_DNS="127.0.0.1#$(head -n1 "$pf")" POCHTA_DNS_TIMEOUT=300
}
teardown() { stop_all; }

# q TYPE NAME: dnsq with its time in $ms
q() {
  local s e
  s=$(date +%s%N)
  run "$DNSQ" "$@"
  e=$(date +%s%N)
  ms=$(( (e - s) / 1000000 ))
}

@test "good answers: A, AD bit, TXT strings joined, NXDOMAIN, CNAME chain" {
  q A ok.x.test
  assert_success
  assert_line "A 192.0.2.1"
  assert_line --partial "ad=0"
  q A ad.x.test
  assert_line --partial "ad=1"
  q TXT txt.x.test
  assert_line "TXT 11 hello world"
  assert_line "TXT 3 two"
  q A nx.x.test
  assert_equal "$status" 1
  assert_line --partial "status=nxdomain"
  q A chain3.x.test
  assert_success
  assert_line "A 192.0.2.9"
}

@test "a truncated UDP answer is asked again over TCP; 1800 records are cut to 64" {
  q TXT huge.x.test
  assert_success
  assert_line --partial "n=64"
  assert_line --partial "truncated"
  grep -q '^tcp huge.x.test' "$BATS_TEST_TMPDIR/fakedns.queries"
}

@test "malformed answers are temporary failures: loops, forward pointers, lying counts, overlong RDATA, names over 255, garbage" {
  for n in loop fwd badcount rdlen bigname garbage short wrongq cnloop chain9 servfail refused; do
    q A "$n.x.test"
    echo "$n: $output"
    assert_equal "$status" 111
    assert_line --partial "status=temp"
    refute_line --regexp '^A '
  done
}

@test "a reply with the wrong id is ignored and the right one taken" {
  q A wrongid.x.test
  assert_success
  assert_line "A 192.0.2.7"
  refute_line "A 6.6.6.6"
}

@test "a silent server and a TCP server that hangs cost bounded time (timeout x attempts)" {
  q A slow.x.test
  assert_equal "$status" 111
  # 2 attempts of 300 ms each; the slack is for a loaded machine
  [ "$ms" -lt 3000 ]
  q TXT tcphang.x.test
  assert_equal "$status" 111
  [ "$ms" -lt 5000 ]
}

@test "the cache answers a repeated question without the network" {
  run "$DNSQ" -c A ok.x.test
  assert_success
  assert_equal "$(grep -c '^queries=' <<<"$output")" 2
  assert_line "queries=1"
  assert_line "queries=0"
}

@test "names that are not names are refused before any query" {
  run "$DNSQ" A "a..b.test"
  assert_equal "$status" 100
  run "$DNSQ" A "$(printf 'x%.0s' {1..64}).test"
  assert_equal "$status" 100
  [ ! -s "$BATS_TEST_TMPDIR/fakedns.queries" ] || ! grep -q 'a..b' "$BATS_TEST_TMPDIR/fakedns.queries"
}

@test "the checks of one message keep to their time budget and query limit when DNS is silent" {
  printf 'From: alice@slow.test\nSubject: x\n\nx\n' >"$BATS_TEST_TMPDIR/m"
  local s e
  s=$(date +%s%N)
  POCHTA_DNS_TIMEOUT=1000 run "$CHECKTOOL" run --ip 192.0.2.1 --helo mail.slow.test --from a@slow.test --budget 1500 <"$BATS_TEST_TMPDIR/m"
  e=$(date +%s%N)
  echo "$output"
  assert_line "verdict=tempfail"
  assert_output --partial "spf=temperror"
  assert_output --partial "dmarc=temperror"
  # one budget of 1.5 s, not one timeout per question (several questions x 2 s)
  [ $(( (e - s) / 1000000 )) -lt 4000 ]
  run "$CHECKTOOL" run --ip 192.0.2.1 --helo mail.slow.test --from a@slow.test --max-queries 2 <"$BATS_TEST_TMPDIR/m"
  assert_line "queries=2"
  assert_line "verdict=tempfail"
}
