#!/usr/bin/env bash
# Instructions per request of one tickets route, counted by valgrind (needs `apt-get install valgrind`):
#   bench/instructions.sh [list|create|ref-list|ref-create] [tree]    (tree: a checkout with its own .venv; default this one)
# Runs bench/asgi_loop.py under cachegrind with 1 and with 3 rounds of 300 requests; the difference divided
# by 600 is the count per request, start-up excluded. Unlike requests per second it does not move with a
# noisy machine, so two commits can be compared one after the other (docs/benchmarks.md, eighth session).
set -euo pipefail
what=${1:-list}
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$(cd "${2:-$here}" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cp "$here/bench/asgi_loop.py" "$out/asgi_loop.py"
count() {
  (cd "$tree" && REPS=$1 PYTHONPATH="$tree" valgrind --tool=cachegrind --cache-sim=no \
    --cachegrind-out-file="$out/cg.$1" .venv/bin/python "$out/asgi_loop.py" "$what" >/dev/null 2>"$out/err.$1")
  grep -oP 'I\s+refs:\s+\K[\d,]+' "$out/err.$1" | tr -d ,
}
one=$(count 1)
three=$(count 3)
echo "$what at $(git -C "$tree" rev-parse --short HEAD 2>/dev/null || echo "$tree"): $(( (three - one) / 600 )) instructions per request"
