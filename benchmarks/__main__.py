"""`make bench`: run every benchmark module in this folder and print one table of ratios.

Each ``benchmarks/bench_*.py`` exposes ``run(repeats: int) -> list[benchmarks._timing.Ratio]``.
Results are also written to ``benchmarks/results.json`` with the machine they were measured on.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pathlib
import platform

import torch

HERE = pathlib.Path(__file__).parent


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", default="", help="substring of benchmark module names to run")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    args = parser.parse_args()
    rows = []
    for path in sorted(HERE.glob("bench_*.py")):
        if args.only and args.only not in path.stem:
            continue
        mod = importlib.import_module(f"benchmarks.{path.stem}")
        print(f"running {path.stem} ...", flush=True)
        rows.extend(mod.run(repeats=args.repeats))
    header = f"{'benchmark':<34} {'subject vs reference':<44} {'median':>7} {'range':>15} {'goal':>16}  met"
    print(header)
    print("-" * len(header))
    for r in rows:
        rng = f"{r.low:.2f}..{r.high:.2f}"
        print(
            f"{r.benchmark:<34} {r.subject + ' vs ' + r.reference:<44} {r.median:>6.2f}x {rng:>15} "
            f"{r.goal:>16}  {'yes' if r.met else 'NO'}"
        )
    payload = {"machine": machine(), "repeats": args.repeats, "results": [r.as_dict() for r in rows]}
    pathlib.Path(args.out).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
