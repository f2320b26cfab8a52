#!/bin/sh
# spam-learn.sh — the per-user classifier on a generated corpus (prints, asserts
# nothing): spam-corpus.py writes 3000 ham and 3000 spam with controlled overlap;
# the first N of each are learned through the library calls pochta learn and
# pochta-imapd use, the rest classified as delivery does. Accuracy, false positives
# and negatives at the default Junk threshold (Bayes alone, no other score) and at
# other cut-offs; CPU per learned and per classified message; memory.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
b=${POCHTA_BUILD:-$top/build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$top/tests/bench/spam-corpus.py" "$tmp/corpus" 3000 1
for n in 50 200 1000 2000; do
  echo "--- learned $n of each"
  "$b/check/spam-bench" corpus "$tmp/corpus" "$n"
done
