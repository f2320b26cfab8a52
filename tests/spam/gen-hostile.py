#!/usr/bin/env python3
"""Hostile messages for the spam engines: gen-hostile.py DIR [SCALE] writes
  big.eml       100 MB of text/plain words (SCALE 1; 10 MB at SCALE 0.1)
  words.eml     over a million distinct words
  binary.eml    a 20 MB base64 attachment and raw 8-bit binary with NULs
  deep.eml      5000 nested multiparts (past the MIME parser's depth limit)
  parts.eml     50000 small text parts (past its part limit)
  html.eml      HTML with unclosed tags, an endless script, entity floods
  longline.eml  one 30 MB line without an end
  headers.eml   100000 header fields and a 5 MB Subject
  urls.eml      a million URLs
Deterministic; each ends with a line the tests look for where it applies."""
import base64
import os
import random
import sys


def main():
    d = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
    os.makedirs(d, exist_ok=True)
    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "offer", "meeting", "cheap", "report", "money", "hello"]

    def w(name):
        return open(os.path.join(d, name), "wb")

    with w("big.eml") as f:
        f.write(b"From: a@x.test\nSubject: big\n\n")
        line = (" ".join(rng.choice(words) for _ in range(12)) + "\n").encode()
        for _ in range(int(100e6 * scale / len(line))):
            f.write(line)
    with w("words.eml") as f:
        f.write(b"From: a@x.test\nSubject: words\n\n")
        n = int(1.2e6 * max(scale, 0.1))
        chunk = []
        for i in range(n):
            chunk.append("w%07d" % i)
            if len(chunk) == 10:
                f.write((" ".join(chunk) + "\n").encode())
                chunk = []
    with w("binary.eml") as f:
        f.write(b"From: a@x.test\nSubject: binary\nContent-Type: multipart/mixed; boundary=bb\n\n--bb\n"
                b"Content-Type: text/plain\n\nsee attached\n--bb\nContent-Type: application/octet-stream; name=\"x.bin\"\n"
                b"Content-Transfer-Encoding: base64\n\n")
        blob = rng.randbytes(int(20e6 * scale))
        f.write(base64.encodebytes(blob))
        f.write(b"--bb\nContent-Type: text/plain\nContent-Transfer-Encoding: 8bit\n\n")
        f.write(rng.randbytes(int(2e6 * scale)).replace(b"\n--bb", b"\n--xx"))
        f.write(b"\n--bb--\n")
    with w("deep.eml") as f:
        f.write(b"From: a@x.test\nSubject: deep\n")
        for i in range(5000):
            f.write(b"Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i))
        f.write(b"Content-Type: text/plain\n\ndeepest text\n")
        for i in reversed(range(5000)):
            f.write(b"--b%d--\n" % i)
    with w("parts.eml") as f:
        f.write(b"From: a@x.test\nSubject: parts\nContent-Type: multipart/mixed; boundary=p\n\n")
        for i in range(50000):
            f.write(b"--p\nContent-Type: text/plain\n\npart%d word\n" % i)
        f.write(b"--p--\n")
    with w("html.eml") as f:
        f.write(b"From: a@x.test\nSubject: html\nContent-Type: text/html\n\n<html><body>")
        f.write(b"<b>" * 200000 + b"&amp;" * 200000 + b"&#x" * 100000 + b"<a href=\"" * 50000)
        f.write(b"<p>visible</p><script>" + b"x" * int(5e6 * scale))
    with w("longline.eml") as f:
        f.write(b"From: a@x.test\nSubject: longline\n\n")
        f.write(b"a" * int(30e6 * scale))
    with w("headers.eml") as f:
        for i in range(100000):
            f.write(b"X-H%d: value %d\n" % (i, i))
        f.write(b"Subject: " + b"s" * int(5e6 * scale) + b"\n\nbody\n")
    with w("urls.eml") as f:
        f.write(b"From: a@x.test\nSubject: urls\n\n")
        for i in range(int(1e6 * max(scale, 0.1))):
            f.write(b"http://h%d.example.test/\n" % i)


main()
