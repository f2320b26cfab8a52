#!/usr/bin/python3
"""Turn the zone lines `pochta dns` prints (NAME. IN TYPE DATA; comments after ';')
into dnsmasq configuration lines, so that a test can serve exactly what the tool
says to publish. Refuses (exit 1) any line it cannot read as a zone record."""
import re, shlex, sys

for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.strip() or line.lstrip().startswith(";"):
        continue
    m = re.match(r'^(\S+)\.\s+IN\s+(MX|A|AAAA|PTR|TXT)\s+(.*)$', line)
    if not m:
        sys.exit("not a zone record: " + line)
    name, t, data = m.groups()
    if t == "MX":
        pref, host = data.split()
        print(f"mx-host={name},{host.rstrip('.')},{pref}")
    elif t in ("A", "AAAA"):
        print(f"host-record={name},{data.strip()}")
    elif t == "PTR":
        print(f"ptr-record={name},{data.strip().rstrip('.')}")
    elif t == "TXT":
        parts = shlex.split(data)
        if not parts or any(len(p) > 255 for p in parts):
            sys.exit("bad TXT strings: " + line)
        print("txt-record=%s,%s" % (name, ",".join('"%s"' % p for p in parts)))
