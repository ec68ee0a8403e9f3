"""``python -m bench [--quick] [--only consumer,relay,stack,growth,routes,accounts,scale,soak] [--profile]``.

Runs the measurements of docs/benchmarks.md, prints the Markdown table and writes
bench/results/latest.json, latest.md and the PNG charts. ``--profile`` also writes pyinstrument
profiles of the hot paths (bench/results/profile-*.txt).
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
import traceback

from bench import accounts, consumer, growth, memory, profiles, relay, report, routes, scale, soak
from bench.common import log

PARTS = ("consumer", "relay", "stack", "growth", "routes", "accounts", "scale")
EXTRA = ("soak",)  # run only when named (``--only soak``, ``make soak``): 10 minutes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about 3 minutes) for a fast check")
    parser.add_argument("--only", default=",".join(PARTS), help=f"comma-separated parts of {', '.join(PARTS + EXTRA)}")
    parser.add_argument("--profile", action="store_true", help="also write pyinstrument profiles of the hot paths")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS + EXTRA)
    if unknown:
        parser.error(f"unknown part(s): {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    figures, charts, errors = [], {}, {}
    for part in parts:
        try:
            if part == "consumer":
                figures += consumer.measure(args.quick)
            elif part == "relay":
                figures += relay.measure(args.quick)
            elif part == "stack":
                found, charts["latency"] = memory.measure(args.quick)
                figures += found
            elif part == "growth":
                found, charts["growth"] = growth.measure(args.quick)
                figures += found
            elif part == "routes":
                figures += routes.measure(args.quick)
            elif part == "accounts":
                figures += accounts.measure(args.quick)
            elif part == "scale":
                figures += scale.measure(args.quick)
            elif part == "soak":
                figures += soak.measure(args.quick)
        except Exception as exc:
            traceback.print_exc()
            errors[part] = f"{exc.__class__.__name__}: {exc}"[:500]
            log(f"{part} failed: {errors[part]}")
    if args.profile:
        for path in profiles.run():
            log(f"profile written: {path}")
    figures.sort(key=lambda f: int(m.group()) if (m := re.match(r"\d+", f.section)) else 99)  # 1 … 9, 10
    text = report.write(
        figures,
        charts,
        quick=args.quick,
        seconds=time.perf_counter() - started,
        errors=errors,
    )
    print(text)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
