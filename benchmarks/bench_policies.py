"""Per-image automatic policies: is ``policies.trivial_augment`` batched, and how much faster is it?

Subject: ``lessonlib.policies.trivial_augment(x, generator=g)``: one TrivialAugmentWide draw per
image, applied by grouping the batch per operation. Reference: torchvision's
``v2.TrivialAugmentWide()`` called on each image of the batch in a Python loop (the only way to get
one draw per image from it; on the whole batch tensor it applies one draw to every image), then
stacked. Both on uint8 batches ``[256, 1, 32, 32]`` and ``[64, 3, 224, 224]``.

Goal (issue 19): at least 5x faster on a CPU, measured side by side in one run (median and range
over interleaved rounds). On a GPU the same ratio is reported with the same goal.

What decides the ratio is the image size. On 32x32 images torchvision's per-image call is mostly
Python and dispatch overhead, which grouping removes: the goal is met several times over. On 224x224
RGB each image costs torchvision about a millisecond of real kernel work, and batching alone saves
almost nothing; what the batched policy gains there comes from cheaper kernels for the same results
(``lessonlib/_kernels/policies.py``): whole-pixel translations as slices, nearest-neighbour warps as
a uint8 gather, sharpness from exact integer box sums, solarize as a uint8 compare and XOR, colour
operations in cache-sized chunks. The colour blends (brightness, colour, contrast) and equalize
still do torchvision's own float arithmetic, to stay bit-identical, and they bound the ratio at a
few x.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from benchmarks._timing import Ratio, ratio, time_interleaved
from lessonlib.policies import trivial_augment
from lessonlib.utils import device as default_device
from lessonlib.utils import make_generator

CASES = (("trivial_augment_256x1x32x32", (256, 1, 32, 32)), ("trivial_augment_64x3x224x224", (64, 3, 224, 224)))


def _fns(x: torch.Tensor) -> dict:
    tv = v2.TrivialAugmentWide()
    gen = make_generator(0)

    def loop():
        return torch.stack([tv(x[i]) for i in range(x.shape[0])])

    return {"batched": lambda: trivial_augment(x, generator=gen), "loop": loop}


def run(repeats: int = 7) -> list[Ratio]:
    """Interleaved timings of the per-image batched policy vs torchvision's policy in a loop."""
    dev = default_device()
    out = []
    for name, shape in CASES:
        x = torch.randint(0, 256, shape, generator=make_generator(0), dtype=torch.uint8).to(dev)
        inner = 3 if shape[-1] <= 32 else 1
        times = time_interleaved(_fns(x), repeats=repeats, inner=inner)
        out.append(ratio(name if dev.type == "cpu" else f"{name}_{dev.type}", times, "batched", "loop", at_least=5))
    return out


if __name__ == "__main__":
    for r in run():
        print(r)
