#!/usr/bin/env python3
"""gen-limits.py DIR — write the messages that test the parser's limits (too big to
keep in the repository): 200 nested multiparts, 20000 parts, a 1 MB header line, a
boundary flood, 150 nested message/rfc822, 4000 rfc822 parts with multiparts."""
import os, sys

d = sys.argv[1]
os.makedirs(d, exist_ok=True)


def put(name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


put("01-deep.eml", "".join("Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n" % (i, i)
                           for i in range(200)) + "Content-Type: text/plain\n\ndeep\n")
put("02-many.eml", "Content-Type: multipart/mixed; boundary=x\n\n" + "--x\n\nt\n" * 20000 + "--x--\n")
put("03-long.eml", "Subject: " + "a" * 1000000 + "\n\nbody\n")
put("04-flood.eml", "Content-Type: multipart/mixed; boundary=f\n\n" + "--f\n" * 100000)
put("05-deeprfc.eml", "Content-Type: message/rfc822\n\n" * 150 + "Subject: deepest\n\nx\n")
put("06-manyrfc.eml", "Content-Type: multipart/mixed; boundary=o\n\n" + "".join(
    "--o\nContent-Type: message/rfc822\n\nSubject: m%d\nContent-Type: multipart/mixed; boundary=i%d\n\n--i%d\n\nt\n--i%d--\n"
    % (i, i, i, i) for i in range(4000)) + "--o--\n")
