#!/usr/bin/env python3
"""gen-big.py FILE — write a 100 MB message (too big to keep in the repository):
a multipart/mixed of a text part of 1,000,000 lines of 99 x's and a small
base64 attachment."""
import sys

with open(sys.argv[1], "w") as f:
    f.write("Subject: big\nContent-Type: multipart/mixed; boundary=z\n\n--z\nContent-Type: text/plain\n\n")
    line = "x" * 99 + "\n"
    for _ in range(1000000):
        f.write(line)
    f.write("--z\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAAA\n--z--\n")
