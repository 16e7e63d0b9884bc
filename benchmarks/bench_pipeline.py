"""The data pipeline: random resized crop + flip + colour jitter, where it runs and how fast (notebook 13).

Subject: ``lessonlib.pipeline.CropFlipJitter.batch`` on a uint8 batch, batched with one draw per
image, on the CPU in the main process. References, measured side by side in one run:

* ``torchvision_2_workers``: the same three operations as torchvision ``v2`` transforms applied per
  image in a ``DataLoader`` with 2 worker processes (``v2.RandomResizedCrop(size, antialias=False)``,
  ``v2.RandomHorizontalFlip()``, ``v2.ColorJitter(0.4, 0.4, 0.4)``), batches of the same size; the
  time for one pass over the images includes starting the workers, as an epoch does.
* ``kornia``: ``kornia.augmentation`` ``RandomResizedCrop``, ``RandomHorizontalFlip`` and
  ``ColorJitter(0.4, 0.4, 0.4)`` on the whole batch (per-sample parameters), after the uint8 -> float
  conversion it needs (timed too).

Cases: ``[256, 3, 64, 64]`` and ``[64, 3, 224, 224]`` uint8, output at the input size. Goal (issue 32):
the batched pipeline ahead of both (>= 1x faster) on the 2-core CPU. On a GPU the subject and
kornia run on the device; the DataLoader reference stays on the CPU (that is the comparison the
notebook makes: augment in workers, or on the accelerator after loading).

The machine is shared while these numbers are taken: read them as ratios with their range.
"""

from __future__ import annotations

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from benchmarks._timing import Ratio, ratio, time_interleaved
from lessonlib.pipeline import CropFlipJitter
from lessonlib.utils import device as default_device
from lessonlib.utils import make_generator

CASES = (("pipeline_256x3x64x64", (256, 3, 64, 64)), ("pipeline_64x3x224x224", (64, 3, 224, 224)))


class _PerImage(Dataset):
    """Images ``[N, C, H, W]`` uint8, each passed through ``transform`` when fetched (in a worker)."""

    def __init__(self, x: torch.Tensor, transform) -> None:
        self.x, self.transform = x, transform

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.transform(self.x[i])


def _fns(x: torch.Tensor, dev: torch.device) -> dict:
    import kornia.augmentation as K

    size = x.shape[-1]
    tv = v2.Compose(
        [v2.RandomResizedCrop(size, antialias=False), v2.RandomHorizontalFlip(), v2.ColorJitter(0.4, 0.4, 0.4)]
    )
    loader = DataLoader(_PerImage(x.cpu(), tv), batch_size=x.shape[0], num_workers=2)
    ours, gen = CropFlipJitter(size), make_generator(0)
    kornia_aug = K.AugmentationSequential(
        K.RandomResizedCrop((size, size)), K.RandomHorizontalFlip(), K.ColorJitter(0.4, 0.4, 0.4, p=1.0)
    ).to(dev)

    def workers():
        return [b for b in loader]

    return {
        "lessonlib_batched": lambda: ours.batch(x, generator=gen),
        "torchvision_2_workers": workers,
        "kornia": lambda: kornia_aug(x.float() / 255),
    }


def run(repeats: int = 7) -> list[Ratio]:
    """Interleaved timings of the batched pipeline vs torchvision in 2 workers and kornia batched."""
    dev = default_device()
    torch.manual_seed(0)  # kornia and torchvision draw from the global RNG
    out = []
    for name, shape in CASES:
        x = torch.randint(0, 256, shape, generator=make_generator(0), dtype=torch.uint8).to(dev)
        times = time_interleaved(_fns(x, dev), repeats=repeats, inner=1)
        tag = name if dev.type == "cpu" else f"{name}_{dev.type}"
        for ref in ("torchvision_2_workers", "kornia"):
            out.append(ratio(f"{tag}_vs_{ref}", times, "lessonlib_batched", ref, at_least=1))
    return out


if __name__ == "__main__":
    for r in run():
        spread = f"range {r.low:.1f}-{r.high:.1f}"
        print(f"{r.benchmark}: {r.median:.1f}x ({spread}), {r.subject_ms:.1f} ms vs {r.reference_ms:.1f} ms")
