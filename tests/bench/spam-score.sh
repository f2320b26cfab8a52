#!/bin/sh
# spam-score.sh — the cost of scoring (prints, asserts nothing): the SMTP-time
# score (200 rules, HELO, Authentication-Results; no DNS, no clamd) of ordinary
# messages from the generated corpus and of hostile ones (gen-hostile.py: 100 MB,
# a million words, binary attachments, MIME nested 5000 deep, 50000 parts, broken
# HTML, a 30 MB line, 100000 header fields, a million URLs); and the tokenizer on
# each: CPU, wall time, memory (max RSS of the whole process), tokens kept.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
b=${POCHTA_BUILD:-$top/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$top/tests/bench/spam-corpus.py" "$tmp/corpus" 3 2
python3 "$top/tests/spam/gen-hostile.py" "$tmp/hostile" 1
"$b/check/spam-bench" score "$tmp"/corpus/ham/* "$tmp"/corpus/spam/* "$tmp"/hostile/*.eml
for f in "$tmp"/hostile/*.eml; do
  echo "tokens $(basename "$f"): $("$b/check/spam-test" tokens "$f")"
done
