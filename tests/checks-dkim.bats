#!/usr/bin/env bats
# DKIM signing and verification against independent implementations: pochta's
# signatures (RSA-SHA256 2048 and Ed25519-SHA256 side by side) verify with dkimpy's
# dkimverify and OpenDKIM's opendkim-testmsg; dkimpy's and OpenDKIM's signatures
# verify in pochta; altered messages fail everywhere. Keys come from DNS served by
# dnsmasq in a network namespace.

load helpers
load checks/lib

setup() {
  ck_need_root
  ck_zone_reset
  ck_keys "$BATS_TEST_TMPDIR/k"
  K=$BATS_TEST_TMPDIR/k
  ck_msg "$BATS_TEST_TMPDIR/msg"
  MSG=$BATS_TEST_TMPDIR/msg
}
teardown() { ck_net_down; stop_all; }

sign() { "$CHECKTOOL" "$@" sign -k "$K/r1.pem:example.test:r1" -k "$K/e1.pem:example.test:e1"; }

@test "our signatures: one RSA, one Ed25519, relaxed/relaxed, From/Subject/Date over-signed" {
  ck_net_up
  sign <"$MSG" >"$BATS_TEST_TMPDIR/signed"
  run grep -c '^DKIM-Signature:' "$BATS_TEST_TMPDIR/signed"
  assert_output 2
  run cat "$BATS_TEST_TMPDIR/signed"
  assert_output --partial "a=rsa-sha256; c=relaxed/relaxed"
  assert_output --partial "a=ed25519-sha256; c=relaxed/relaxed"
  assert_output --partial "h=from:from:to:subject:subject:date:date:message-id:mime-version:"
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/signed"
  assert_success
  assert_line --partial "dkim=pass d=example.test s=r1 alg=rsa bits=2048"
  assert_line --partial "dkim=pass d=example.test s=e1 alg=ed25519"
}

@test "dkimpy (dkimverify) verifies our RSA and our Ed25519 signature" {
  ck_net_up
  sign <"$MSG" >"$BATS_TEST_TMPDIR/signed"
  run ck $PY /usr/bin/dkimverify --index 0 <"$BATS_TEST_TMPDIR/signed"
  assert_success
  assert_output "signature ok"
  run ck $PY /usr/bin/dkimverify --index 1 <"$BATS_TEST_TMPDIR/signed"
  assert_success
  assert_output "signature ok"
}

@test "OpenDKIM (opendkim-testmsg) verifies our signatures; CRLF messages too" {
  ck_net_up
  sign <"$MSG" >"$BATS_TEST_TMPDIR/signed"
  run ck opendkim-testmsg <"$BATS_TEST_TMPDIR/signed"
  assert_success
  assert_output ""
  sed 's/$/\r/' "$MSG" >"$BATS_TEST_TMPDIR/crlf"
  sign -C <"$BATS_TEST_TMPDIR/crlf" >"$BATS_TEST_TMPDIR/signed-crlf"
  run ck opendkim-testmsg <"$BATS_TEST_TMPDIR/signed-crlf"
  assert_success
  run ck $PY /usr/bin/dkimverify <"$BATS_TEST_TMPDIR/signed-crlf"
  assert_output "signature ok"
}

@test "a message altered in transit fails in dkimpy, OpenDKIM and pochta; body and header failures apart" {
  ck_net_up
  sign <"$MSG" >"$BATS_TEST_TMPDIR/signed"
  sed 's/this is a test/this is a tesT/' "$BATS_TEST_TMPDIR/signed" >"$BATS_TEST_TMPDIR/body"
  sed 's/^Subject: hello/Subject: Hello/' "$BATS_TEST_TMPDIR/signed" >"$BATS_TEST_TMPDIR/head"
  for f in body head; do
    run ck $PY /usr/bin/dkimverify <"$BATS_TEST_TMPDIR/$f"
    assert_failure
    run ck opendkim-testmsg <"$BATS_TEST_TMPDIR/$f"
    assert_failure
  done
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/body"
  assert_failure
  assert_line --partial "dkim=fail d=example.test s=r1 alg=rsa bits=0 body=bad header=ok why=body hash did not verify"
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/head"
  assert_failure
  assert_line --partial "dkim=fail d=example.test s=r1 alg=rsa bits=2048 body=ok header=bad why=signature did not verify"
  # a header added after signing that the signature over-signs (a second Subject)
  { echo "Subject: urgent"; cat "$BATS_TEST_TMPDIR/signed"; } >"$BATS_TEST_TMPDIR/extra"
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/extra"
  assert_failure
}

@test "dkimpy's signatures (RSA relaxed/simple, Ed25519 relaxed/relaxed) verify in pochta" {
  ( cd "$BATS_TEST_TMPDIR" && $PY /usr/bin/dknewkey --ktype ed25519 edpy >/dev/null )
  ck_rr edpy._domainkey.example.test TXT "v=DKIM1; k=ed25519; p=$(sed -n 's/.*p=\([^" ]*\).*/\1/p' "$BATS_TEST_TMPDIR/edpy.dns" | tr -d '\n')"
  ck_net_up
  $PY /usr/bin/dkimsign ext example.test "$K/ext.pem" <"$MSG" >"$BATS_TEST_TMPDIR/py-rsa"
  $PY /usr/bin/dkimsign --signalg ed25519-sha256 --bcanon relaxed edpy example.test "$BATS_TEST_TMPDIR/edpy.key" <"$MSG" >"$BATS_TEST_TMPDIR/py-ed"
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/py-rsa"
  assert_success
  assert_line --partial "dkim=pass d=example.test s=ext alg=rsa"
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/py-ed"
  assert_success
  assert_line --partial "dkim=pass d=example.test s=edpy alg=ed25519"
  sed -i 's/Hello Bob/Hello Eve/' "$BATS_TEST_TMPDIR/py-rsa"
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/py-rsa"
  assert_failure
  assert_line --partial "body hash did not verify"
}

@test "OpenDKIM's signatures verify in pochta (opendkim milter driven by miltertest, rsa-sha256)" {
  command -v miltertest >/dev/null || skip "miltertest missing"
  command -v opendkim >/dev/null || skip "opendkim missing"
  ck_net_up
  local d=$BATS_TEST_TMPDIR/od
  mkdir -p "$d"
  cat >"$d/opendkim.conf" <<EOT
Mode s
Domain example.test
Selector ext
KeyFile $K/ext.pem
SignatureAlgorithm rsa-sha256
Canonicalization relaxed/relaxed
Socket inet:8891@127.0.0.1
PidFile $d/pid
UserID root
Background no
Syslog no
RequireSafeKeys no
EOT
  ck opendkim -f -x "$d/opendkim.conf" 2>>"$BATS_TEST_TMPDIR/opendkim.log" &
  echo $! >"$BATS_TEST_TMPDIR/opendkim.pid"
  wait_for 5 ck $PY -c "import socket; socket.create_connection(('127.0.0.1', 8891), 1)"
  run ck miltertest -s "$CK_DIR/sign.lua" -D msg="$MSG" -D out="$d/sig"
  echo "$output"
  assert_success
  { cat "$d/sig"; cat "$MSG"; } >"$d/signed"
  grep -q 'a=rsa-sha256' "$d/signed"
  run ck "$CHECKTOOL" verify <"$d/signed"
  assert_success
  assert_line --partial "dkim=pass d=example.test s=ext alg=rsa"
  sed -i 's/this is a test/that was a test/' "$d/signed"
  run ck "$CHECKTOOL" verify <"$d/signed"
  assert_failure
}

@test "rsa-sha1 (opendkim-testmsg's default) is refused (RFC 8301); keys under 1024 bits are refused" {
  openssl genrsa -out "$BATS_TEST_TMPDIR/small.pem" 1023 2>/dev/null
  ck_rr small._domainkey.example.test TXT "v=DKIM1; k=rsa; p=$(openssl rsa -in "$BATS_TEST_TMPDIR/small.pem" -pubout -outform DER 2>/dev/null | base64 -w0)"
  ck_net_up
  opendkim-testmsg -d example.test -s ext -k "$K/ext.pem" <"$MSG" >"$BATS_TEST_TMPDIR/sha1"
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/sha1"
  assert_failure
  assert_line --partial "rsa-sha1 is not accepted"
  $PY /usr/bin/dkimsign small example.test "$BATS_TEST_TMPDIR/small.pem" <"$MSG" >"$BATS_TEST_TMPDIR/small"
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/small"
  assert_failure
  assert_line --partial "RSA key of 1023 bits (under 1024)"
}

@test "l= covering only part of the body is not a pass; x= in the past is refused" {
  ck_net_up
  $PY - "$K/ext.pem" "$MSG" >"$BATS_TEST_TMPDIR/l" <<'PYEOF'
import dkim, sys, time
key = open(sys.argv[1], "rb").read()
msg = open(sys.argv[2], "rb").read()
sig = dkim.sign(msg, b"ext", b"example.test", key, length=True)
sys.stdout.buffer.write(sig + msg + b"Appended by someone else.\n")
PYEOF
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/l"
  assert_failure
  assert_line --regexp "dkim=policy .*why=l= leaves [0-9]+ body octets unsigned"
  # dkimpy has no x= option: its header builder gets x= added, and the clock is set
  # back so that t= comes before x=
  $PY - "$K/ext.pem" "$MSG" >"$BATS_TEST_TMPDIR/x" <<'PYEOF'
import dkim, sys, time
key = open(sys.argv[1], "rb").read()
msg = open(sys.argv[2], "rb").read()
gen = dkim.DKIM.gen_header
def with_x(self, fields, *a, **k):
    fields = list(fields)
    fields.insert(len(fields) - 1, (b"x", b"1500000000"))
    return gen(self, fields, *a, **k)
dkim.DKIM.gen_header = with_x
time.time = lambda: 1400000000
sys.stdout.buffer.write(dkim.sign(msg, b"ext", b"example.test", key) + msg)
PYEOF
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/x"
  assert_failure
  assert_line --partial "expired"
}

@test "hostile signatures: 150 DKIM-Signature fields, absurd tags; bounded work, one good signature still passes" {
  ck_net_up
  sign <"$MSG" >"$BATS_TEST_TMPDIR/signed"
  $PY - "$BATS_TEST_TMPDIR/signed" >"$BATS_TEST_TMPDIR/many" <<'PYEOF'
import sys
import re
msg = open(sys.argv[1]).read()
bh = re.search(r"bh=([^;]+);", msg).group(1)   # the right body hash: each costs a key lookup
bad = []
bad.append("DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=r1; h=from; bh=x; b=" + "A" * 100000 + "\n")
bad.append("DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=r1; h=" + ":".join(["from"] * 200) + "; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\n")
bad.append("DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=r1; h=from; l=99999999999999999999999999; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\n")
bad.append("DKIM-Signature: v=1; v=1; a=rsa-sha256; d=example.test; s=r1; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\n")
bad.append("DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=r1; h=from; t=200; x=100; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\n")
bad.append("DKIM-Signature: v=1; a=rsa-sha256; d=..; s=r1; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\n")
bad.append("DKIM-Signature: \x00\xff garbage ;;;===\n")
bad.append("DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=r1; i=@evil.test; h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA\n")
for i in range(140):
    bad.append(f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; s=nokey{i}; h=from; bh={bh}; b=AAAA\n")
sys.stdout.write(msg.split("\n\n", 1)[0] + "\n" + "".join(bad) + "\n" + msg.split("\n\n", 1)[1])
PYEOF
  run ck "$CHECKTOOL" verify <"$BATS_TEST_TMPDIR/many"
  # the two good signatures come first, so they are among the 100 examined
  assert_success
  assert_line --partial "dkim=pass d=example.test s=r1"
  assert_line "ignored=50"
  assert_equal "$(grep -c '^dkim=' <<<"$output")" 100
  # at most DKIM_VERIFY_MAX (10) key lookups, whatever the count of fields
  assert_line --regexp "^best=pass queries=([0-9]|10)$"
  assert_line --partial "signature tag too long"
  assert_line --partial "h= names too many fields"
  assert_line --partial "l= not a number"
  assert_line --partial "too many signatures to verify"
}

@test "hostile messages: a 1.5 MB header, NUL and bare CR, no body, no header, nothing at all" {
  # no network: the keys come from a table (checktool -z)
  printf 'r1._domainkey.example.test TXT %s\n' "$("$CHECKTOOL" record "$K/r1.pem")" >"$BATS_TEST_TMPDIR/zone"
  local z=$BATS_TEST_TMPDIR/zone
  sign <"$MSG" >"$BATS_TEST_TMPDIR/signed"
  { for _ in $(seq 1500); do printf 'X-Pad: %01000d\n' 0; done; cat "$BATS_TEST_TMPDIR/signed"; } >"$BATS_TEST_TMPDIR/bighead"
  run "$CHECKTOOL" -z "$z" verify <"$BATS_TEST_TMPDIR/bighead"
  assert_failure
  assert_line --partial "header too large to verify"
  # NUL and a bare CR in the body after signing: the body hash fails, nothing worse
  sed 's/this is a test/this\x00is a\rtest/' "$BATS_TEST_TMPDIR/signed" >"$BATS_TEST_TMPDIR/nul"
  run "$CHECKTOOL" -z "$z" verify <"$BATS_TEST_TMPDIR/nul"
  assert_failure
  assert_line --partial "s=r1 alg=rsa bits=0 body=bad"
  # signed with NUL and bare CR inside: both sides hash the same octets
  sed 's/this is a test/this\x00is a\rtest/' "$MSG" | sign >"$BATS_TEST_TMPDIR/nul-signed"
  run "$CHECKTOOL" -z "$z" verify <"$BATS_TEST_TMPDIR/nul-signed"
  assert_line --partial "dkim=pass d=example.test s=r1"
  # a header without a body, and without the empty line
  head -n 7 "$MSG" | sign >"$BATS_TEST_TMPDIR/nobody"
  run "$CHECKTOOL" -z "$z" verify <"$BATS_TEST_TMPDIR/nobody"
  assert_line --partial "dkim=pass d=example.test s=r1"
  run "$CHECKTOOL" -z "$z" verify </dev/null
  assert_failure
  assert_line "best=none queries=0"
  printf '\n\nonly a body\n' >"$BATS_TEST_TMPDIR/nohead"
  run "$CHECKTOOL" -z "$z" verify <"$BATS_TEST_TMPDIR/nohead"
  assert_line "best=none queries=0"
  run "$CHECKTOOL" sign -k "$K/r1.pem:example.test:r1" <"$BATS_TEST_TMPDIR/nohead"
  assert_failure 111
}
