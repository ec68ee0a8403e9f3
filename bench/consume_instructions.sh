#!/usr/bin/env bash
# Instructions per consumed TicketOpened in notify, counted by valgrind (needs `apt-get install valgrind`):
#   bench/consume_instructions.sh [BATCH] [tree]    (BATCH events per read, default 1; tree: a checkout with its own .venv)
# Runs bench/consume_loop.py under cachegrind with 300 and with 900 events; the difference divided by 600
# is the count per event, start-up and warm-up excluded (docs/benchmarks.md, ninth session).
set -euo pipefail
batch=${1:-1}
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$(cd "${2:-$here}" && pwd)
python=${PYTHON:-$tree/.venv/bin/python}  # PYTHON=…: another venv (a worktree has none)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
cp "$here/bench/consume_loop.py" "$out/consume_loop.py"
count() {
  (cd "$tree" && EVENTS=$1 PYTHONPATH="$tree" valgrind --tool=cachegrind --cache-sim=no \
    --cachegrind-out-file="$out/cg.$1" "$python" "$out/consume_loop.py" "$batch" >"$out/out.$1" 2>"$out/err.$1")
  grep -q "us CPU per event" "$out/out.$1" || { cat "$out/err.$1" >&2; exit 1; }
  grep -oP 'I\s+refs:\s+\K[\d,]+' "$out/err.$1" | tr -d ,
}
one=$(count 300)
three=$(count 900)
echo "batch $batch at $(git -C "$tree" rev-parse --short HEAD 2>/dev/null || echo "$tree"): $(( (three - one) / 600 )) instructions per event"
