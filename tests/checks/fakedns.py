#!/usr/bin/python3
"""A hostile DNS server for tests: UDP and TCP on 127.0.0.1, a free port (printed on
stdout). What it answers depends on the first label of the question:
  ok        one A record 192.0.2.1            ad       the same with the AD bit set
  txt       two TXT records, one of 3 strings nx       NXDOMAIN
  servfail  SERVFAIL                          refused  REFUSED
  huge      TC over UDP; over TCP 1800 TXT records (about 59 KB)
  loop      a compression pointer to itself   fwd      a pointer forwards
  badcount  ANCOUNT 65535 and one record      rdlen    RDLENGTH beyond the packet
  garbage   512 random octets                 short    5 octets
  wrongid   a reply with another id first, then the right one
  wrongq    the answer names another question
  slow      no answer at all (also any name with a label "slow")
  tcphang   TC over UDP; TCP accepted, then silence
  cnloop    a CNAME to itself (in the answer) chainN  CNAME to chain(N-1), chain0 has A
  bigname   a name in RDATA longer than 255 octets (labels of 63)
usage: fakedns.py [--log FILE]"""
import os, random, socket, struct, sys, threading

log = open(sys.argv[2], "a") if len(sys.argv) > 2 and sys.argv[1] == "--log" else None

def name(n):
    out = b""
    for l in n.split("."):
        if l:
            out += bytes([len(l)]) + l.encode()
    return out + b"\0"

def parse_q(q):
    i, labels = 12, []
    while q[i]:
        labels.append(q[i + 1:i + 1 + q[i]].decode("latin-1"))
        i += 1 + q[i]
    qtype = struct.unpack(">H", q[i + 1:i + 3])[0]
    return ".".join(labels), qtype, q[12:i + 5]

def hdr(qid, flags, an=0, qd=1, ns=0, ar=0):
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)

def rr(owner, rtype, data, ttl=60):
    return owner + struct.pack(">HHIH", rtype, 1, ttl, len(data)) + data

def answer(q, tcp):
    qid = struct.unpack(">H", q[:2])[0]
    qname, qtype, question = parse_q(q)
    first = qname.split(".")[0].lower()
    if log:
        log.write(f"{'tcp' if tcp else 'udp'} {qname} {qtype}\n"); log.flush()
    ptr = b"\xc0\x0c"
    OK = 0x8180
    if first in ("ok", "ad"):
        return [hdr(qid, OK | (0x20 if first == "ad" else 0), 1) + question + rr(ptr, 1, bytes([192, 0, 2, 1]))]
    if first == "txt":
        t1 = b"\x05hello\x01 \x05world"
        t2 = b"\x03two"
        return [hdr(qid, OK, 2) + question + rr(ptr, 16, t1) + rr(ptr, 16, t2)]
    if first == "nx":
        return [hdr(qid, 0x8183) + question]
    if first == "servfail":
        return [hdr(qid, 0x8182) + question]
    if first == "refused":
        return [hdr(qid, 0x8185) + question]
    if first == "huge":
        if not tcp:
            return [hdr(qid, OK | 0x0200) + question]
        recs = b"".join(rr(ptr, 16, b"\x14" + b"x" * 20) for _ in range(1800))
        return [hdr(qid, OK, 1800) + question + recs]
    if first == "loop":
        off = 12 + len(question)
        return [hdr(qid, OK, 1) + question + struct.pack(">H", 0xc000 | off) + struct.pack(">HHIH", 1, 1, 60, 4) + bytes(4)]
    if first == "fwd":
        off = 12 + len(question) + 2 + 10 + 4 + 10
        return [hdr(qid, OK, 1) + question + struct.pack(">H", 0xc000 | off) + struct.pack(">HHIH", 1, 1, 60, 4) + bytes(4) + b"\x01a\x00"]
    if first == "badcount":
        return [hdr(qid, OK, 65535) + question + rr(ptr, 1, bytes(4))]
    if first == "rdlen":
        return [hdr(qid, OK, 1) + question + ptr + struct.pack(">HHIH", 1, 1, 60, 4000) + bytes(10)]
    if first == "garbage":
        return [bytes(random.getrandbits(8) for _ in range(512))]
    if first == "short":
        return [q[:5]]
    if first == "wrongid":
        good = hdr(qid, OK, 1) + question + rr(ptr, 1, bytes([192, 0, 2, 7]))
        bad = hdr(qid ^ 0x5555, OK, 1) + question + rr(ptr, 1, bytes([6, 6, 6, 6]))
        return [bad, good]
    if first == "wrongq":
        other = name("other.example") + question[-4:]
        return [hdr(qid, OK, 1) + other + rr(b"\xc0\x0c", 1, bytes(4))]
    if first == "slow" or "slow" in qname.lower().split("."):
        return []
    if first == "tcphang":
        return [hdr(qid, OK | 0x0200) + question] if not tcp else None
    if first == "cnloop":
        return [hdr(qid, OK, 1) + question + rr(ptr, 5, ptr)]
    if first.startswith("chain"):
        n = int(first[5:] or 0)
        rest = qname.split(".", 1)[1]
        if n == 0:
            return [hdr(qid, OK, 1) + question + rr(ptr, 1, bytes([192, 0, 2, 9]))]
        return [hdr(qid, OK, 1) + question + rr(ptr, 5, name(f"chain{n - 1}.{rest}"))]
    if first == "bigname":
        big = (b"\x3f" + b"a" * 63) * 5 + b"\0"
        return [hdr(qid, OK, 1) + question + rr(ptr, 5, big)]
    return [hdr(qid, 0x8183) + question]

def udp_loop(s):
    while True:
        q, peer = s.recvfrom(4096)
        try:
            for a in answer(q, False) or []:
                s.sendto(a, peer)
        except Exception as e:
            if log:
                log.write(f"error {e}\n"); log.flush()

def tcp_conn(c):
    with c:
        try:
            c.settimeout(10)
            l = struct.unpack(">H", c.recv(2))[0]
            q = b""
            while len(q) < l:
                q += c.recv(l - len(q))
            out = answer(q, True)
            if out is None:
                threading.Event().wait(10)
                return
            for a in out:
                c.sendall(struct.pack(">H", len(a)) + a)
        except Exception:
            pass

def tcp_loop(s):
    while True:
        c, _ = s.accept()
        threading.Thread(target=tcp_conn, args=(c,), daemon=True).start()

# the same port for UDP and TCP: a free UDP port may be taken for TCP, so try again
for attempt in range(100):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        t.bind(("127.0.0.1", port))
        break
    except OSError:
        u.close(); t.close()
else:
    sys.exit("fakedns: no port free for both UDP and TCP")
t.listen(16)
threading.Thread(target=tcp_loop, args=(t,), daemon=True).start()
print(port, flush=True)
udp_loop(u)
