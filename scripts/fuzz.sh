#!/usr/bin/env bash
# Fuzzes every Fuzz target in the repository for a while each (default 20s).
# `make test` already replays the committed seeds; this looks for new inputs.
# Usage: scripts/fuzz.sh [duration]
set -euo pipefail
cd "$(dirname "$0")/.."
t="${1:-20s}"
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg="./$(dirname "${f#./}")"
  for fn in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$f" | cut -d' ' -f2); do
    echo "== $pkg $fn ($t)"
    go test -run '^$' -fuzz "^${fn}\$" -fuzztime "$t" -parallel 2 "$pkg"
  done
done
