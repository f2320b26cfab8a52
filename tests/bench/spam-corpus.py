#!/usr/bin/env python3
"""Generate a corpus of ham and spam with controlled features, for the learning
benchmark and tests: spam-corpus.py DIR N [SEED] writes DIR/ham/NNNNN and
DIR/spam/NNNNN (N of each).

Words come from three vocabularies of made-up words (shared, ham, spam), each
drawn with a Zipf-like frequency; every message mixes them, so the classes
overlap: ham borrows 7% of its words from spam's vocabulary and spam 10% from
ham's, 3-5% of words are new every time, 5% of spam is written almost like ham
and 3% of ham is a newsletter that reads much like spam. Senders, URL hosts,
HTML and subjects follow the same pattern. The same SEED gives the same corpus."""
import os
import random
import sys


def vocab(rng, n, syll):
    words = set()
    while len(words) < n:
        words.add("".join(rng.choice(syll) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def zipf_pick(rng, words):
    # rank r chosen with weight 1/(r+1): a few words are common, most are rare
    return words[min(int(len(words) ** rng.random()) - 1, len(words) - 1)]


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rng = random.Random(seed)
    shared = vocab(rng, 1000, ["ta", "lo", "mi", "ren", "sa", "ko", "vel", "dun", "pe", "ar", "is", "en"])
    hamw = vocab(rng, 1500, ["pro", "jek", "tor", "mee", "ting", "plan", "dor", "wik", "sel", "bra", "ul", "om"])
    spamw = vocab(rng, 800, ["vi", "ag", "rax", "cash", "win", "zox", "pil", "lux", "fre", "bon", "ex", "qui"])
    ham_domains = ["work%d.example.test" % i for i in range(12)] + ["family%d.example.test" % i for i in range(6)]
    spam_domains = ["deal%d.example.test" % i for i in range(150)]
    ham_hosts = ["intranet.work%d.example.test" % i for i in range(8)] + ["docs.example.test", "wiki.example.test"]
    spam_hosts = ["www.offer%d.example.test" % i for i in range(120)]
    names = ["Anna", "Boris", "Chen", "Dana", "Erik", "Fatima", "Gosha", "Hiro", "Ines", "Jamal"]

    def words(mix, count):
        out = []
        for _ in range(count):
            r, acc = rng.random(), 0.0
            for kind, share in mix:
                acc += share
                if r < acc:
                    break
            if kind == "new":
                out.append("".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9))))
            else:
                out.append(zipf_pick(rng, {"shared": shared, "ham": hamw, "spam": spamw}[kind]))
        return out

    def message(cls, i):
        if cls == "ham":
            hard = rng.random() < 0.03
            mix = [("shared", 0.40), ("ham", 0.30), ("spam", 0.27), ("new", 0.03)] if hard else \
                  [("shared", 0.55), ("ham", 0.35), ("spam", 0.07), ("new", 0.03)]
            frm = "%s <%s@%s>" % (rng.choice(names), rng.choice(names).lower(), rng.choice(ham_domains))
            subj = " ".join(words([("shared", 0.4), ("ham", 0.6)], rng.randint(2, 6)))
            body = words(mix, rng.randint(50, 300))
            html = rng.random() < 0.10
            urls = [rng.choice(ham_hosts)] if rng.random() < 0.3 else []
            mailer = rng.choice(["Thunderbird 115", "Mutt 2.2", "K-9 Mail", "Evolution 3.46"])
        else:
            hard = rng.random() < 0.05
            mix = [("shared", 0.50), ("ham", 0.40), ("spam", 0.05), ("new", 0.05)] if hard else \
                  [("shared", 0.50), ("ham", 0.10), ("spam", 0.35), ("new", 0.05)]
            frm = "%s <%s@%s>" % (rng.choice(names), "".join(rng.choice("abcdefghij") for _ in range(7)), rng.choice(spam_domains))
            subj = " ".join(words([("shared", 0.3), ("spam", 0.6), ("ham", 0.1)], rng.randint(2, 7)))
            body = words(mix, rng.randint(30, 200))
            html = rng.random() < 0.60
            urls = [rng.choice(spam_hosts) for _ in range(rng.randint(1, 3))] if rng.random() < 0.8 else []
            mailer = rng.choice(["Microsoft Outlook 16.0", "PHPMailer 6.1", "Thunderbird 115", ""])
        lines, line = [], []
        for w in body:
            line.append(w)
            if len(line) >= rng.randint(8, 14):
                lines.append(" ".join(line))
                line = []
        lines.append(" ".join(line))
        text = "\n".join(lines)
        for u in urls:
            text += "\nhttp://%s/%s" % (u, rng.choice(shared))
        hdr = ["From: " + frm, "To: user@example.test", "Subject: " + subj,
               "Date: Mon, %d Jan 2024 10:%02d:00 +0000" % (rng.randint(1, 28), rng.randint(0, 59)),
               "Message-ID: <%s.%d.%d@%s>" % (cls, seed, i, frm.split("@")[1].rstrip(">")), "MIME-Version: 1.0"]
        if mailer:
            hdr.append("X-Mailer: " + mailer)
        if html:
            hdr.append("Content-Type: text/html; charset=utf-8")
            body = "<html><body>" + "".join("<p>%s</p>" % l for l in text.split("\n") if not l.startswith("http")) + \
                   "".join('<a href="http://%s/x">%s</a>' % (u, rng.choice(shared)) for u in urls) + "</body></html>\n"
        else:
            hdr.append("Content-Type: text/plain; charset=utf-8")
            body = text + "\n"
        return "\n".join(hdr) + "\n\n" + body

    for cls in ("ham", "spam"):
        d = os.path.join(out, cls)
        os.makedirs(d, exist_ok=True)
        for i in range(n):
            with open(os.path.join(d, "%05d" % i), "w") as f:
                f.write(message(cls, i))


main()
