"""Render ``benchmarks/results.json`` (written by ``make bench``) as the README's Markdown section body.

Usage: ``python tools/bench_table.py [benchmarks/results.json]`` prints Markdown to stdout: the
machine line, one table row per measured ratio (median and min..max over the interleaved repeats,
the goal and whether it is met) and, when the benchmarks reported it, a peak-memory table. The
numbers are copied from the JSON, never re-measured, so the README shows exactly what one run saw.

``python tools/bench_table.py --times CPU=test-artifacts/repeatability.json [--times GPU=...]``
prints the README's per-notebook time table from ``make test-repeat`` summaries instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lessonlib.dev.notebook_files import REPO

RATIO_KEYS = ("benchmark", "subject", "reference", "median", "low", "high", "goal", "met", "subject_ms", "reference_ms")


def _ms(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def machine_line(payload: dict) -> str:
    """One sentence naming where and when the numbers were measured."""
    m = payload.get("machine", {})
    device = f"GPU {m['cuda']}" if m.get("cuda") else "CPU only"
    when = f", {payload['measured_at']}" if payload.get("measured_at") else ""
    load = m.get("load_average")
    busy = f" Load average {load:g} when the run started." if load is not None else ""
    omp = f", OMP_WAIT_POLICY={m['omp_wait_policy']}" if m.get("omp_wait_policy") else ""
    return (
        f"Measured on {m.get('processor', 'an unknown CPU')} ({m.get('cpu_count', '?')} cores, "
        f"{m.get('torch_threads', '?')} torch threads{omp}, {device}), torch {m.get('torch', '?')}, "
        f"{payload.get('repeats', '?')} interleaved repeats per comparison{when}.{busy}"
    )


def ratio_table(results: list[dict]) -> str:
    """Markdown table of ratios. A slow-down bound reads "subject/reference"; a speed-up goal
    reads "reference/subject", as ``benchmarks._timing.ratio`` reports them."""
    lines = [
        "| benchmark | compared | ratio (median) | range | goal | met | times (ms) |",
        "|---|---|---:|---:|---|:---:|---:|",
    ]
    for r in results:
        missing = [k for k in RATIO_KEYS if k not in r]
        if missing:
            raise ValueError(f"result {r.get('benchmark', '?')!r} lacks {missing}; expected keys {RATIO_KEYS}")
        lines.append(
            f"| {r['benchmark']} | {r['subject']} vs {r['reference']} | {r['median']:.2f}x | "
            f"{r['low']:.2f}-{r['high']:.2f} | {r['goal']} | {'yes' if r['met'] else '**no**'} | "
            f"{_ms(r['subject_ms'])} vs {_ms(r['reference_ms'])} |"
        )
    return "\n".join(lines)


def memory_table(memory: list[dict]) -> str:
    lines = ["| benchmark | setting | peak memory growth | device |", "|---|---|---:|---|"]
    lines += [f"| {m['benchmark']} | {m['setting']} | {m['peak_mib']:.1f} MiB | {m['device']} |" for m in memory]
    return "\n".join(lines)


def render(payload: dict) -> str:
    """The Markdown for the README's "Benchmarks" section body (without the heading)."""
    results = payload.get("results")
    if not isinstance(results, list):
        raise ValueError("results.json has no 'results' list; run `make bench` first")
    parts = [machine_line(payload), "", ratio_table(results)]
    missed = [r["benchmark"] + ": " + r["subject"] + " vs " + r["reference"] for r in results if not r["met"]]
    parts += ["", f"{len(results) - len(missed)} of {len(results)} ratios meet their goal."]
    if missed:
        parts[-1] += " Not met: " + "; ".join(missed) + "."
    if payload.get("memory"):
        parts += ["", memory_table(payload["memory"])]
    return "\n".join(parts) + "\n"


def notebook_times_table(summaries: dict[str, dict]) -> str:
    """Per-notebook times from ``tools/check_repeatable.py`` summaries, one column pair per machine.

    ``summaries`` maps a machine label (e.g. ``"CPU, 2 cores"``) to the JSON that
    ``make test-repeat`` wrote there (``test-artifacts/repeatability.json``). Each cell shows the
    median wall time over the runs and, in brackets, the kernel's CPU time (user + system), which
    does not grow when other processes share the machine.
    """
    names: list[str] = []
    per_machine: dict[str, dict[str, tuple[float, float]]] = {}
    for label, summary in summaries.items():
        rows = {}
        for rec in summary.get("notebooks", []):
            runs = [r for r in rec.get("runs", []) if not r.get("error")]
            if not runs:
                continue
            walls = sorted(r["wall_s"] for r in runs)
            cpus = sorted(r["kernel_cpu_s"] for r in runs)
            rows[rec["notebook"]] = (walls[len(walls) // 2], cpus[len(cpus) // 2])
            if rec["notebook"] not in names:
                names.append(rec["notebook"])
        per_machine[label] = rows
    labels = list(summaries)
    lines = [
        "| notebook | " + " | ".join(f"{label}: wall s (kernel CPU s)" for label in labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    for name in sorted(names):
        cells = []
        for label in labels:
            wall_cpu = per_machine[label].get(name)
            cells.append(f"{wall_cpu[0]:.0f} ({wall_cpu[1]:.0f})" if wall_cpu else "n/a")
        lines.append(f"| {name.removesuffix('.ipynb')} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("results", nargs="?", default=str(REPO / "benchmarks" / "results.json"))
    parser.add_argument(
        "--times",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="instead: a per-notebook time table from test-repeat summaries, e.g. "
        "--times 'CPU=test-artifacts/repeatability.json' --times 'GPU=gpu.json'",
    )
    args = parser.parse_args(argv)
    if args.times:
        summaries = {}
        for item in args.times:
            label, sep, path = item.partition("=")
            if not sep or not Path(path).is_file():
                print(f"--times expects LABEL=PATH to an existing file, got {item!r}", file=sys.stderr)
                return 1
            summaries[label] = json.loads(Path(path).read_text())
        sys.stdout.write(notebook_times_table(summaries))
        return 0
    path = Path(args.results)
    if not path.is_file():
        print(f"{path} not found; run `make bench` first", file=sys.stderr)
        return 1
    sys.stdout.write(render(json.loads(path.read_text())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
