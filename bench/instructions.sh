#!/usr/bin/env bash
# Instructions per request of one route, counted by valgrind (needs `apt-get install valgrind`):
#   bench/instructions.sh [list|create|ref-list|ref-create] [tree]    (tree: a checkout with its own .venv; default this one)
#   bench/instructions.sh [ref-]branches|reader|checkout|elders|volunteer|logs|inbox|signup|signin [tree]   (bench/routes_loop.py)
# Runs bench/asgi_loop.py (tickets) or bench/routes_loop.py (figure 8's routes) under cachegrind with 1 and
# with 3 rounds of ROUND requests (300 for tickets, 100 for the others); the difference divided by 2 x ROUND
# is the count per request, start-up excluded. PYTHON overrides the tree's .venv/bin/python (a worktree
# without its own venv). Unlike requests per second it does not move with a
# noisy machine, so two commits can be compared one after the other (docs/benchmarks.md, eighth session).
set -euo pipefail
what=${1:-list}
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$(cd "${2:-$here}" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
case $what in
  list|create|ref-list|ref-create) script=asgi_loop.py round=300 ;;
  *) script=routes_loop.py round=${ROUND:-100} ;;
esac
cp "$here/bench/$script" "$out/$script"
count() {
  (cd "$tree" && REPS=$1 ROUND=$round PYTHONPATH="$tree" valgrind --tool=cachegrind --cache-sim=no \
    --cachegrind-out-file="$out/cg.$1" "${PYTHON:-.venv/bin/python}" "$out/$script" "$what" >/dev/null 2>"$out/err.$1") ||
    { echo "$what failed under valgrind:" >&2; grep -v '^==' "$out/err.$1" | tail -20 >&2; return 1; }
  grep -oP 'I\s+refs:\s+\K[\d,]+' "$out/err.$1" | tr -d ,
}
one=$(count 1) || exit 1
three=$(count 3) || exit 1
echo "$what at $(git -C "$tree" rev-parse --short HEAD 2>/dev/null || echo "$tree"): $(( (three - one) / (2 * round) )) instructions per request"
