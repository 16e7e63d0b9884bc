"""`make bench`: run every benchmark module in this folder and print one table of ratios.

Each ``benchmarks/bench_*.py`` exposes ``run(repeats: int) -> list[benchmarks._timing.Ratio]`` and
may expose ``memory() -> list[benchmarks._timing.PeakMemory]``. Results are written to
``benchmarks/results.json`` with the machine they were measured on; ``python tools/bench_table.py``
renders that file as the README's Markdown table.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

import torch

from benchmarks._timing import PeakMemory, Ratio

HERE = pathlib.Path(__file__).parent


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            return next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def machine() -> dict:
    """Where the numbers were measured: CPU model, cores, torch threads and versions, GPU if any."""
    return {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        # OpenMP's wait policy decides whether multi-threaded ops stall on small shared VMs (Makefile)
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "(OpenMP default)"),
        # other processes competing for the cores make every ratio noisier (1-minute average at start)
        "load_average": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }


def format_table(rows: list) -> str:
    """The ratio table as fixed-width text (what ``make bench`` prints)."""
    pairs = [f"{r.subject} vs {r.reference}" for r in rows]
    w_name = max([len("benchmark"), *(len(r.benchmark) for r in rows)])
    w_pair = max([len("subject vs reference"), *(len(p) for p in pairs)])
    header = f"{'benchmark':<{w_name}} {'subject vs reference':<{w_pair}} {'median':>7} {'range':>13} {'goal':>15}  met"
    lines = [header, "-" * len(header)]
    for r, pair in zip(rows, pairs, strict=True):
        rng, met = f"{r.low:.2f}..{r.high:.2f}", "yes" if r.met else "NO"
        lines.append(f"{r.benchmark:<{w_name}} {pair:<{w_pair}} {r.median:>6.2f}x {rng:>13} {r.goal:>15}  {met}")
    return "\n".join(lines)


def _run_module(stem: str, repeats: int) -> dict:
    """Run one benchmark module here; its ratios and peak memory as plain dicts."""
    mod = importlib.import_module(f"benchmarks.{stem}")
    memory = mod.memory() if callable(getattr(mod, "memory", None)) else []
    return {"rows": [r.as_dict() for r in mod.run(repeats=repeats)], "memory": [m.as_dict() for m in memory]}


def _run_isolated(stem: str, repeats: int) -> tuple[list[Ratio], list[PeakMemory]]:
    """Run one benchmark module in a fresh Python process.

    Each module gets the same clean start: run in one process, the TTA ratios on 32x32 images moved
    from 0.56x to 1.28x of one big pass depending on what the mixing benchmark had allocated before
    them (heap and page-cache state), which says nothing about TTA.
    """
    code = (
        "import json, sys; from benchmarks.__main__ import _run_module; "
        "print('\\n' + json.dumps(_run_module(sys.argv[1], int(sys.argv[2]))))"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, stem, str(repeats)], cwd=HERE.parent, capture_output=True, text=True
    )
    if res.returncode != 0:
        raise RuntimeError(f"benchmarks/{stem}.py failed:\n{res.stderr[-4000:]}")
    payload = json.loads(res.stdout.strip().splitlines()[-1])
    return [Ratio(**r) for r in payload["rows"]], [PeakMemory(**m) for m in payload["memory"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds per comparison (default 7)")
    parser.add_argument("--only", default="", help="substring of benchmark module names to run")
    parser.add_argument("--out", default=str(HERE / "results.json"), help="JSON file to write")
    args = parser.parse_args(argv)
    if args.repeats < 3:
        parser.error(f"--repeats must be >= 3 to report a spread, got {args.repeats}")
    modules = [p.stem for p in sorted(HERE.glob("bench_*.py")) if args.only in p.stem]
    if not modules:
        parser.error(f"no benchmarks/bench_*.py matches --only {args.only!r}")
    rows, memory, seconds = [], [], {}
    for stem in modules:
        print(f"running {stem} ...", flush=True)
        t0 = time.perf_counter()
        got_rows, got_memory = _run_isolated(stem, args.repeats)
        rows.extend(got_rows)
        memory.extend(got_memory)
        seconds[stem] = round(time.perf_counter() - t0, 1)
    print()
    print(format_table(rows))
    for m in memory:
        print(f"peak memory  {m.benchmark:<30} {m.setting:<44} +{m.peak_mib:8.1f} MiB ({m.device})")
    missed = [r for r in rows if not r.met]
    print(f"\n{len(rows) - len(missed)} of {len(rows)} ratios meet their goal")
    payload = {
        "measured_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "repeats": args.repeats,
        "seconds": seconds,
        "results": [r.as_dict() for r in rows],
        "memory": [m.as_dict() for m in memory],
    }
    out = pathlib.Path(args.out)
    out.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
