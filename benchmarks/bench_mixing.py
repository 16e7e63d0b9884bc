"""Mixup and CutMix: does ``lessonlib.mixing`` cost more than torchvision v2's ``MixUp``/``CutMix``?

Same batch ``[128, 3, 224, 224]`` float32 with 1000-class integer labels; each side produces the same
things: the mixed images *and* the mixed one-hot label rows ``[128, 1000]`` (torchvision returns them;
we call ``mixup``/``cutmix`` and then ``soft_targets``). λ and the box are drawn by each side as it
normally would (torchvision from the global RNG, ours from a ``torch.Generator``).

Goal (issue 7): ours takes at most 1.1x torchvision's time, measured in the same interleaved run.
Also reported, for information: the per-sample variants (one λ/box per image), which torchvision
does not offer, against the same per-batch torchvision reference.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from benchmarks._timing import Ratio, ratio, time_interleaved
from lessonlib.mixing import cutmix, mixup, soft_targets
from lessonlib.utils import make_generator

SHAPE = (128, 3, 224, 224)
NUM_CLASSES = 1000


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = make_generator(0)
    x = torch.rand(SHAPE, generator=g)
    y = torch.randint(0, NUM_CLASSES, (SHAPE[0],), generator=g)
    dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return x.to(dev), y.to(dev)


def _ours(fn, x, y, g, per_sample=False):
    r = fn(x, y, alpha=1.0, per_sample=per_sample, generator=g)
    return r.inputs, soft_targets(r, NUM_CLASSES)


def run(repeats: int = 7) -> list[Ratio]:
    """Interleaved timings of ours vs torchvision for MixUp and CutMix; ratios with the 1.1x goal."""
    x, y = _data()
    tv_mixup = v2.MixUp(alpha=1.0, num_classes=NUM_CLASSES)
    tv_cutmix = v2.CutMix(alpha=1.0, num_classes=NUM_CLASSES)
    g = make_generator(1)
    fns = {
        "torchvision MixUp": lambda: tv_mixup(x, y),
        "lessonlib mixup": lambda: _ours(mixup, x, y, g),
        "lessonlib mixup per-sample": lambda: _ours(mixup, x, y, g, per_sample=True),
        "torchvision CutMix": lambda: tv_cutmix(x, y),
        "lessonlib cutmix": lambda: _ours(cutmix, x, y, g),
        "lessonlib cutmix per-sample": lambda: _ours(cutmix, x, y, g, per_sample=True),
    }
    times = time_interleaved(fns, repeats=repeats, inner=3)
    name = "mixing_128x3x224x224"
    return [
        ratio(f"{name} mixup", times, "lessonlib mixup", "torchvision MixUp", at_most=1.1),
        ratio(f"{name} cutmix", times, "lessonlib cutmix", "torchvision CutMix", at_most=1.1),
        ratio(f"{name} mixup per-sample (info)", times, "lessonlib mixup per-sample", "torchvision MixUp", at_most=1.5),
        ratio(
            f"{name} cutmix per-sample (info)", times, "lessonlib cutmix per-sample", "torchvision CutMix", at_most=1.5
        ),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
