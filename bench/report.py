"""Writing the results: latest.json, latest.md (the table) and the PNG charts."""

from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path
from typing import Any

from bench.common import RESULTS, Figure


def _num(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"
    return f"{text} {unit}".strip()


def table(figures: list[Figure]) -> str:
    """The Markdown table: figure, value, baseline, ratio, goal, pass/fail."""
    lines = ["| # | figure | value | baseline (same run) | ratio | goal | result |", "|---|---|---|---|---|---|---|"]
    for f in figures:
        base = f"{_num(f.baseline, f.unit)} ({f.baseline_name})" if f.baseline is not None else "—"
        ratio = f"{f.ratio:.2f}x" if f.ratio is not None else "—"
        result = "—" if f.passed is None else ("pass" if f.passed else "**fail**")
        errors = f.extra.get("errors", 0), f.extra.get("baseline_errors", 0)
        if any(errors):
            result += f" **errors: {errors[0]} (baseline {errors[1]})**"
        lines.append(
            f"| {f.section} | {f.name} | {_num(f.value, f.unit)} | {base} | {ratio} | {f.goal or '—'} | {result} |"
        )
    return "\n".join(lines)


def latency_chart(data: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = ["p50", "p90", "p99", "max"]
    fig, ax = plt.subplots(figsize=(7, 4))
    x = range(len(keys))
    e2e = [data["e2e"][k] for k in keys]
    base = [data["faststream"][k] for k in keys]
    light = [data.get("e2e_20_per_s", {}).get(k, 0) for k in keys]
    ax.bar([i - 0.27 for i in x], e2e, width=0.27, label="POST ticket → notification stored, 200/s")
    ax.bar(list(x), light, width=0.27, label="same, 20/s on a fresh store")
    ax.bar([i + 0.27 for i in x], base, width=0.27, label="bare FastStream publish → handler, 200/s")
    ax.axhline(25, color="red", linestyle="--", linewidth=1, label="goal: p99 < 25 ms")
    ax.set_xticks(list(x), keys)
    ax.set_yscale("log")
    ax.set_ylabel("ms (log scale)")
    ax.set_title("End-to-end latency (open loop)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def growth_chart(points: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [p["tickets"] for p in points]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(n, [p["list_p50_ms"] for p in points], "o-", label="p50")
    left.plot(n, [p["list_p99_ms"] for p in points], "s--", label="p99")
    ref = points[0]["list_p50_ms"]
    left.plot(n, [ref * math.log(x) / math.log(n[0]) for x in n], ":", color="grey", label="log n reference")
    left.set_xscale("log")
    left.set_xlabel("stored tickets")
    left.set_ylabel("ms")
    left.set_title("A resident's ticket list")
    left.legend(fontsize=8)
    right.plot(n, [1000 / p["consumer_eps"] for p in points], "o-", label="notify, ms per event")
    ref = 1000 / points[0]["consumer_eps"]
    right.plot(n, [ref * math.log(x) / math.log(n[0]) for x in n], ":", color="grey", label="log n reference")
    right.set_xscale("log")
    right.set_xlabel("stored tickets / notifications")
    right.set_ylabel("ms per event")
    right.set_title("Consumer cost per event")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _kept(figures: list[Figure], charts: dict[str, Any]) -> tuple[list[Figure], dict[str, Any]]:
    """The figures (and chart data) of latest.json that this run did not measure again, then this run's:
    a run of some parts replaces their rows and keeps the rest of the table."""
    path = RESULTS / "latest.json"
    if not path.exists():
        return figures, charts
    old = json.loads(path.read_text(encoding="utf-8"))
    fresh = {f.section for f in figures}
    kept = [
        Figure(**{k: v for k, v in f.items() if k != "ratio"})
        for f in old.get("figures", [])
        if f["section"] not in fresh
    ]
    merged = {k: v for k, v in (("latency", old.get("latency")), ("growth", old.get("growth"))) if v}
    merged.update(charts)
    order = sorted(kept + figures, key=lambda f: int(f.section.split()[0]) if f.section[:1].isdigit() else 99)
    return order, merged


def write(
    figures: list[Figure],
    charts: dict[str, Any],
    *,
    quick: bool,
    seconds: float,
    errors: dict[str, str],
) -> str:
    """Write latest.json, latest.md and the charts; returns the Markdown. The figures of parts this run did
    not measure stay as they were (a run of some parts; the soak, which only ``make soak`` runs)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    fresh_charts = set(charts)
    measured = sorted({f.section for f in figures})
    figures, charts = _kept(figures, charts)
    earlier = [f.section for f in figures if f.section not in measured]
    meta = {
        "mode": "quick" if quick else "full",
        "finished_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "seconds": round(seconds, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": __import__("os").cpu_count(),
        "errors": errors,
        "measured": measured,
    }
    written = [name for name in ("latency.png", "growth.png") if (RESULTS / name).exists()]
    if "latency" in fresh_charts:
        latency_chart(charts["latency"], RESULTS / "latency.png")
        written.append("latency.png")
    if "growth" in fresh_charts:
        growth_chart(charts["growth"]["points"], RESULTS / "growth.png")
        written.append("growth.png")
    written = [name for name in ("latency.png", "growth.png") if name in written]
    payload = {
        "meta": meta,
        "figures": [f.as_dict() for f in figures],
        "latency": {k: v for k, v in charts.get("latency", {}).items() if k != "e2e_ms"},
        "growth": charts.get("growth", {}),
        "charts": written,
    }
    (RESULTS / "latest.json").write_text(
        json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
    passed = sum(1 for f in figures if f.passed)
    judged = sum(1 for f in figures if f.passed is not None)
    md = [
        f"# Linli benchmarks ({meta['mode']} run, {meta['finished_at']}, {meta['cpus']} CPUs, {meta['seconds']} s)",
        "",
        f"{passed} of {judged} goals met. Every ratio is against a baseline measured in the same run."
        + (f" The rows of {', '.join(dict.fromkeys(earlier))} are from earlier runs." if earlier else ""),
        "",
        table(figures),
        "",
    ]
    if errors:
        md += ["Measurements that did not run:", ""] + [f"- {k}: {v}" for k, v in errors.items()] + [""]
    md += [f"![{name}]({name})" for name in written]
    text = "\n".join(md) + "\n"
    (RESULTS / "latest.md").write_text(text, encoding="utf-8")
    return text
