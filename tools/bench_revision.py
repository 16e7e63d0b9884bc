"""Is this checkout's per-image policy slower than an earlier revision's? Measured side by side.

A refactor must not cost speed (issue 29: "make bench ratios no worse than before"). Ratios measured
on different days and machines cannot say that: ``make bench`` on one VM gave 13.6x the torchvision
loop on 32x32, on another 11x, for identical code. This tool times both revisions in *one* process,
interleaved, so drift and machine hit them alike:

    python tools/bench_revision.py 459ce22            # the revision before the reference layer
    python tools/bench_revision.py 459ce22 --repeats 15

It exports ``lessonlib/`` at REV with ``git archive`` into a temporary folder, renames the package to
``lessonlib_rev`` (every ``lessonlib`` word in its ``.py`` files), imports both, checks that the two
``policies.trivial_augment`` give bit-identical batches for the same generator, and prints three
ratios per case of ``benchmarks/bench_policies.py``: this checkout vs the torchvision loop, REV vs the
loop, and this checkout vs REV (above 1x: this checkout is faster).
"""

from __future__ import annotations

import argparse
import importlib
import io
import pathlib
import re
import subprocess
import sys
import tarfile
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def export_package(rev: str, into: pathlib.Path) -> pathlib.Path:
    """``lessonlib/`` as it was at ``rev``, renamed ``lessonlib_rev`` under ``into``; returns its folder."""
    try:
        tar = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", rev, "lessonlib"], check=True, capture_output=True
        ).stdout
    except subprocess.CalledProcessError as err:
        why = err.stderr.decode().strip()
        raise SystemExit(f"bench_revision: git cannot export lessonlib/ at {rev!r}: {why}") from None
    with tarfile.open(fileobj=io.BytesIO(tar)) as tf:
        tf.extractall(into, filter="data")
    pkg = into / "lessonlib_rev"
    (into / "lessonlib").rename(pkg)
    word = re.compile(r"\blessonlib\b")
    for py in pkg.rglob("*.py"):
        py.write_text(word.sub("lessonlib_rev", py.read_text()))
    return pkg


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("rev", help="the earlier revision (a commit, tag or branch)")
    ap.add_argument("--repeats", type=int, default=9, help="interleaved rounds (default 9)")
    args = ap.parse_args(argv)

    import torch
    from torchvision.transforms import v2

    from benchmarks._timing import ratio, time_interleaved
    from benchmarks.bench_policies import CASES
    from lessonlib.policies import trivial_augment as here
    from lessonlib.utils import make_generator

    with tempfile.TemporaryDirectory() as tmp:
        export_package(args.rev, pathlib.Path(tmp))
        sys.path.insert(0, tmp)
        then = importlib.import_module("lessonlib_rev.policies").trivial_augment
        for name, shape in CASES:
            x = torch.randint(0, 256, shape, generator=make_generator(0), dtype=torch.uint8)
            same = torch.equal(then(x, generator=make_generator(5)), here(x, generator=make_generator(5)))
            tv = v2.TrivialAugmentWide()
            g_then, g_here = make_generator(0), make_generator(0)
            fns = {
                "this checkout": lambda x=x, g=g_here: here(x, generator=g),
                args.rev: lambda x=x, g=g_then: then(x, generator=g),
                "loop": lambda x=x, tv=tv: torch.stack([tv(x[i]) for i in range(x.shape[0])]),
            }
            times = time_interleaved(fns, repeats=args.repeats, inner=3 if shape[-1] <= 32 else 1)
            print(f"{name}: outputs bit-identical to {args.rev}: {same}")
            for a, b in (("this checkout", "loop"), (args.rev, "loop"), ("this checkout", args.rev)):
                r = ratio(name, times, a, b, at_least=1)
                print(f"  {a} vs {b}: {r.median:.2f}x (range {r.low:.2f}-{r.high:.2f} over {args.repeats} rounds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
