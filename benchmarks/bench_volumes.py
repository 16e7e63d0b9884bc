"""3-D augmentation: is ``volumes``' batched per-sample affine + bias field as fast as TorchIO's?

Subject: ``volumes.random_affine_3d`` (±10°, scale 0.9-1.1, shifts ±5 mm, trilinear) then
``volumes.bias_field`` (order 3, coefficients ±0.5) on a whole batch ``[8, 1, 64, 64, 64]`` float32 at
1 mm, with one draw per volume: one ``affine_grid`` + ``grid_sample`` call and one separable einsum
for the batch. Reference: TorchIO's ``Compose([RandomAffine(...), RandomBiasField(...)])`` with the
same ranges and linear interpolation, applied subject by subject (TorchIO transforms one subject at a
time; its affine resamples with SimpleITK, its bias field builds a full 3-D array per monomial in
numpy), then stacked. Both draw per-sample parameters, so the work is the same.

Goal (issue 31): no slower than TorchIO on the 2-core CPU, i.e. time ratio ours/TorchIO <= 1, measured
side by side in one run (median and range over interleaved rounds). The CPU may be shared with
other processes when this runs; ``make bench`` records the load average with the results.
"""

from __future__ import annotations

import numpy as np
import torch

from benchmarks._timing import Ratio, ratio, time_interleaved
from lessonlib import volumes
from lessonlib.utils import device as default_device
from lessonlib.utils import make_generator

SHAPE = (8, 1, 64, 64, 64)
SPACING = (1.0, 1.0, 1.0)


def _fns(x: torch.Tensor) -> dict:
    import torchio as tio

    gen = make_generator(0)
    tio_transform = tio.Compose(
        [
            tio.RandomAffine(scales=(0.9, 1.1), degrees=10, translation=5, image_interpolation="linear"),
            tio.RandomBiasField(coefficients=0.5, order=3),
        ]
    )
    subjects = [tio.Subject(t1=tio.ScalarImage(tensor=v.cpu(), affine=np.diag([*SPACING, 1.0]))) for v in x]

    def ours():
        y = volumes.random_affine_3d(x, spacing=SPACING, degrees=10, scales=(0.9, 1.1), translation=5, generator=gen)
        return volumes.bias_field(y, coefficients=0.5, order=3, generator=gen)

    def torchio_loop():
        return torch.stack([tio_transform(s)["t1"].data for s in subjects])

    return {"batched": ours, "torchio": torchio_loop}


def run(repeats: int = 7) -> list[Ratio]:
    """Interleaved timings of the batched affine + bias field vs TorchIO subject by subject."""
    dev = default_device()
    x = torch.rand(SHAPE, generator=make_generator(0)).to(dev)
    times = time_interleaved(_fns(x), repeats=repeats, inner=1)
    name = "affine_bias_8x1x64x64x64"
    return [ratio(name if dev.type == "cpu" else f"{name}_{dev.type}", times, "batched", "torchio", at_most=1.0)]


if __name__ == "__main__":
    for r in run():
        print(r)
