#!/usr/bin/python3
"""Run the RFC 7208 SPF test suite (pyspf's rfc7208-tests.yml, shipped by Debian's
python3-spf) against pochta's SPF engine through build/check/spftest with each
scenario's zone as a table. Follows the suite's driver conventions (testspf.py):
an SPF-type record also serves as TXT when the name has no TXT record, "NONE" means
no record, names starting with "error." time out, a fail without exp= explains
"DEFAULT". Prints each failure and "N passed, N failed"; exit 1 on any failure.
usage: rfc7208.py SPFTEST [YAML.gz]"""
import gzip, subprocess, sys, tempfile, yaml

spftest = sys.argv[1]
path = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/doc/python3-spf/rfc7208-tests.yml.gz"

def esc(s):
    out = []
    for ch in s.encode("utf-8", "surrogateescape"):
        c = chr(ch)
        out.append("\\\\" if c == "\\" else "\\n" if c == "\n" else c if 32 <= ch < 127 else "\\x%02x" % ch)
    return "".join(out)

def zone(data):
    lines = []
    for name, rrs in data.items():
        name = esc(name.lower()).replace(" ", "\\x20")
        txt, spf = [], []
        for rr in rrs:
            if rr == "TIMEOUT":
                lines.append(f"{name} TIMEOUT")
                continue
            for t, v in rr.items():
                if t in ("TXT", "SPF"):
                    v = "".join(v) if isinstance(v, list) else v
                    if v == "NONE":
                        continue
                    (txt if t == "TXT" else spf).append(v)
                elif t == "MX":
                    lines.append(f"{name} MX {v[0]} {v[1]}")
                elif t in ("A", "AAAA", "PTR", "CNAME"):
                    for x in (v if isinstance(v, list) else [v]):
                        lines.append(f"{name} {t} {x}")
        has_txt = any(t == "TXT" for rr in rrs if isinstance(rr, dict) for t in rr)
        for v in txt if has_txt else spf:
            lines.append(f"{name} TXT {esc(v)}")
    return "\n".join(lines) + "\n"

passed = failed = 0
with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
    docs = list(yaml.safe_load_all(f))
for doc in docs:
    z = zone(doc.get("zonedata") or {})
    names = sorted(doc["tests"])
    cases = doc["tests"]
    with tempfile.NamedTemporaryFile("w", suffix=".zone") as zf:
        zf.write(z)
        zf.flush()
        inp = "".join(f"{cases[n]['host']}\t{esc(cases[n]['mailfrom'])}\t{esc(cases[n]['helo'])}\n" for n in names)
        p = subprocess.run([spftest, "-z", zf.name], input=inp, capture_output=True, text=True)
        if p.returncode:
            sys.exit(f"spftest failed on {doc.get('description')}: {p.stderr}")
        out = p.stdout.split("\n")
    for n, line in zip(names, out):
        t = cases[n]
        res, exp, why, _ = (line.split("\t") + ["", "", "", ""])[:4]
        want = t["result"] if isinstance(t["result"], list) else [t["result"]]
        ok = res in want
        if ok and res == "fail" and "explanation" in t:
            ok = (exp or "DEFAULT") == t["explanation"]
        if ok:
            passed += 1
        else:
            failed += 1
            print(f"FAIL {n} ({t.get('spec')}): want {want} exp={t.get('explanation')!r}, got {res} exp={exp!r} ({why})")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
