#!/bin/sh
# imapd-mime-parse.sh — MIME parser figures (prints, asserts nothing):
# BODYSTRUCTURE of a generated 100 MB two-part message (gen-big.py), BINARY.SIZE of its text part,
# and the time for the 6 limit messages (200 nested multiparts, 20000 parts, ...).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
b=${POCHTA_BUILD:-$top/build}
mt=$b/check/mime-test
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$top/tests/imapd-mime/gen-big.py" "$tmp/big.eml"
python3 "$top/tests/imapd-mime/gen-limits.py" "$tmp/limits"
t() { s=$(date +%s.%N); "$@" >/dev/null; e=$(date +%s.%N); echo "$e - $s" | bc; }
echo "bodystructure, 100 MB message: $(t "$mt" bodystructure "$tmp/big.eml") s"
echo "binary.size, 100 MB text part: $(t "$mt" binsize "$tmp/big.eml" 1) s"
for f in "$tmp"/limits/*.eml; do
  echo "bodystructure, $(basename "$f") ($(wc -c <"$f") octets): $(t "$mt" bodystructure "$f") s"
done
