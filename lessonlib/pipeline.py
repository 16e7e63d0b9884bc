"""Augmentation in the data pipeline: per-sample randomness that survives worker processes.

Notebook 13. Two ways to run the same augmentation, with the same result for the same sample:

* **per sample, in ``DataLoader`` workers** (CPU): ``AugmentedDataset`` wraps tensors ``x`` ``[N, ...]``
  and labels ``y`` ``[N]`` and calls ``augment(x[i], y[i], generator)`` with a generator derived from
  ``(seed, epoch, index)`` alone (``sample_generator``). No state is shared between workers and none
  is carried from one sample to the next, so sample ``i`` of epoch ``e`` is the same whatever
  ``num_workers``, whatever the order in which workers fetch it, and after a restart mid-epoch.
* **per batch, on the accelerator** after loading: ``CropFlipJitter.indexed_batch`` augments a whole
  batch ``[B, C, H, W]`` in a few vectorised calls with *per-sample* parameters, drawn from the very
  same per-index generators, so it equals the worker path image for image.

``epoch_order`` is the shuffled order of an epoch, derived from ``(seed, epoch)`` too, so a run can be
resumed from any position (``epoch_order(..., start=k)``).

``CropFlipJitter`` is random resized crop + horizontal flip + colour jitter (brightness, contrast,
saturation, in that fixed order), the ImageNet-style training pipeline. ``crop_flip_jitter`` is the
same result as ``reference.pipeline.crop_flip_jitter`` image by image: one ``grid_sample`` for the
crops, flips and resizes of a batch, then the colour blends in torchvision's arithmetic, in
cache-sized chunks of images on a CPU.

Imports ``utils`` only; imported by the notebooks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from lessonlib.utils import (
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_range,
    check_seed,
    check_tensor,
    make_generator,
    uniform,
)

__all__ = [
    "sample_seed",
    "sample_generator",
    "epoch_order",
    "AugmentedDataset",
    "CropFlipParams",
    "CropFlipJitter",
    "crop_flip_jitter",
    "N_UNIFORMS",
]

_MASK64 = 2**64 - 1


def _splitmix64(z: int) -> int:
    """SplitMix64's finaliser (Steele, Lea & Flood, 2014): a bijective mix of a 64-bit integer."""
    z = (z + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


def sample_seed(seed: int, epoch: int, index: int, stream: int = 0) -> int:
    """A 64-bit seed for one sample, a pure function of the counters ``(seed, epoch, index, stream)``.

    Counter-based seeding (the idea of Salmon et al., 2011, Random123): the randomness of sample
    ``index`` in ``epoch`` depends on these numbers only, never on which process computes it or on what
    was drawn before. Each counter is folded in with SplitMix64's finaliser, so neighbouring indices
    or epochs give unrelated seeds. ``stream`` separates independent uses (0: the sample's
    augmentation, 1: the epoch's shuffle order).

    Args:
        seed: the run's seed, an integer in ``[0, 2**64 - 1]``.
        epoch, index, stream: integers in ``[0, 2**64 - 1]``.

    Returns:
        An ``int`` in ``[0, 2**64 - 1]``, the same on every machine and Python version.
    """
    h = _splitmix64(check_seed(seed))
    for value, name in ((epoch, "epoch"), (index, "index"), (stream, "stream")):
        h = _splitmix64(h ^ check_int(value, name, low=0, high=_MASK64))
    return h


def sample_generator(seed: int, epoch: int, index: int, *, device: torch.device | str = "cpu") -> torch.Generator:
    """A fresh ``torch.Generator`` for sample ``index`` of ``epoch``: seeded with ``sample_seed(seed, epoch, index)``.

    Two calls with the same counters give generators with the same stream, in any process. Keep the
    default CPU device for draws that are identical on CPU and GPU runs.
    """
    return make_generator(sample_seed(seed, epoch, index), device=device)


def epoch_order(n: int, *, seed: int, epoch: int, start: int = 0) -> list[int]:
    """The shuffled order of the indices ``0..n-1`` for ``epoch``, from position ``start`` on.

    The permutation comes from a generator seeded with ``sample_seed(seed, epoch, 0, stream=1)``, so it
    depends on ``(seed, epoch)`` only: ``epoch_order(n, seed=s, epoch=e)[k:]`` equals
    ``epoch_order(n, seed=s, epoch=e, start=k)``, which is how a run resumes mid-epoch (pass the list as
    a ``DataLoader``'s ``sampler``). Returns a list of ``n - start`` Python ints.

    Raises:
        TypeError/ValueError naming the parameter: ``n < 1``, a bad ``seed``/``epoch``, ``start``
        outside ``[0, n]``.
    """
    n = check_int(n, "n", low=1)
    start = check_int(start, "start", low=0, high=n)
    g = make_generator(sample_seed(seed, epoch, 0, stream=1))
    return torch.randperm(n, generator=g)[start:].tolist()


#: ``augment(x, y, generator) -> (x, y)`` for one sample (no batch dimension).
SampleAugment = Callable[[torch.Tensor, torch.Tensor, torch.Generator], tuple[torch.Tensor, torch.Tensor]]


class AugmentedDataset(Dataset):
    """A ``torch.utils.data.Dataset`` over ``x`` ``[N, ...]`` and ``y`` ``[N]`` that augments each sample
    with a generator derived from ``(seed, epoch, index)``.

    ``dataset[i]`` returns ``augment(x[i], y[i], sample_generator(seed, epoch, i))`` (and ``i`` last
    when ``return_index``), or ``(x[i], y[i])`` when ``augment`` is None (augment later, on the device,
    with ``CropFlipJitter.indexed_batch``). Guarantee: the same ``(seed, epoch, i)`` gives the same
    sample in the main process and in any ``DataLoader`` worker, for any ``num_workers`` and any
    sampler order; no global RNG is touched (``random``, numpy's and torch's global states stay as
    they were). ``x`` and ``y`` are not modified (``augment`` must not modify its inputs either).

    Call ``set_epoch(e)`` before each epoch. The loader copies the dataset into its workers when an
    iterator starts, so with ``persistent_workers=True`` the workers would keep the old epoch: use
    the default ``persistent_workers=False`` (or build the loader anew each epoch).

    Args:
        x: the samples, a tensor ``[N, ...]`` with ``N >= 1`` (e.g. uint8 images ``[N, C, H, W]``).
        y: the labels, a tensor ``[N]`` (or ``[N, ...]``).
        augment: ``augment(x_i, y_i, generator) -> (x_i, y_i)`` for one sample, or None.
        seed: the run's seed. epoch: the starting epoch (>= 0). return_index: also return ``i``.
    """

    def __init__(
        self,
        x: torch.Tensor,
        y: torch.Tensor,
        augment: SampleAugment | None = None,
        *,
        seed: int,
        epoch: int = 0,
        return_index: bool = False,
    ) -> None:
        check_tensor(x, "x", ndim=tuple(range(1, 9)), nonempty=True)
        check_tensor(y, "y", ndim=tuple(range(1, 9)))
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but y has shape {tuple(y.shape)}; the first sizes must match")
        if augment is not None and not callable(augment):
            raise TypeError(
                f"augment must be callable (x, y, generator) -> (x, y) or None, got {type(augment).__name__}"
            )
        self.x, self.y, self.augment = x, y, augment
        self.seed = check_seed(seed)
        self.epoch = check_int(epoch, "epoch", low=0)
        self.return_index = check_bool(return_index, "return_index")

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` (an integer >= 0) for the samples drawn from now on."""
        self.epoch = check_int(epoch, "epoch", low=0)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, index: int):
        i = check_int(index, "index", low=-len(self), high=len(self) - 1) % len(self)
        xi, yi = self.x[i], self.y[i]
        if self.augment is not None:
            xi, yi = self.augment(xi, yi, sample_generator(self.seed, self.epoch, i))
        return (xi, yi, i) if self.return_index else (xi, yi)


# ----------------------------------------------------------------------------------------------
# Random resized crop + horizontal flip + colour jitter, per sample, batched
# ----------------------------------------------------------------------------------------------

#: Uniform numbers one sample's ``CropFlipJitter`` draws: area, log aspect ratio, top, left, flip,
#: brightness, contrast, saturation (in this order).
N_UNIFORMS = 8


@dataclass(frozen=True)
class CropFlipParams:
    """Per-sample parameters of ``crop_flip_jitter``, each a ``[B]`` CPU tensor.

    ``top``, ``left``, ``height``, ``width`` (int64): the crop box in input pixels; ``flip`` (bool):
    mirror left-right; ``brightness``, ``contrast``, ``saturation`` (float64): the colour factors
    (1 = unchanged), applied in this order.
    """

    top: torch.Tensor
    left: torch.Tensor
    height: torch.Tensor
    width: torch.Tensor
    flip: torch.Tensor
    brightness: torch.Tensor
    contrast: torch.Tensor
    saturation: torch.Tensor


def _coords(start: torch.Tensor, length: torch.Tensor, size: int, extent: int) -> torch.Tensor:
    """Normalised ``grid_sample`` coordinates ``[B, size]`` (float64, CPU) of a bilinear resize of each box.

    Output pixel ``j`` reads input position ``start + (j + 0.5)·length/size − 0.5``, as
    ``interpolate(align_corners=False, antialias=False)`` places it, clamped to ``[0, length − 1]``
    inside the box (``interpolate`` repeats the box's edge pixel; it never reads past the box).
    """
    pos = (torch.arange(size, dtype=torch.float64) + 0.5) * (length.to(torch.float64) / size).view(-1, 1) - 0.5
    pos = torch.minimum(pos.clamp(min=0.0), (length - 1).to(torch.float64).view(-1, 1))
    return (2.0 * (start.view(-1, 1) + pos) + 1.0) / extent - 1.0


def _grey(v: torch.Tensor, integer: bool) -> torch.Tensor:
    # torchvision's rgb_to_grayscale, in the same operation order (so the same float rounding)
    r, g, b = v.unbind(dim=-3)
    out = r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114).unsqueeze(-3)
    return out.floor_() if integer else out


def _blend_(v: torch.Tensor, other: torch.Tensor, f: torch.Tensor, bound: float, integer: bool) -> torch.Tensor:
    # torchvision's _blend: f·v + (1 − f)·other, clamped; an integer image is truncated back to integers
    out = torch.addcmul(v.mul(f), other, 1.0 - f).clamp_(0.0, bound)
    return out.floor_() if integer else out


def _chunk(x: torch.Tensor, p: CropFlipParams, lo: int, hi: int, size: int) -> torch.Tensor:
    """Images ``lo:hi`` of ``x``: resize their boxes by one ``grid_sample``, flip, then the colour blends,
    all on one float buffer (values 0..255 for uint8 images, truncated as torchvision truncates)."""
    b, c, h, w = hi - lo, *x.shape[1:]
    gx = _coords(p.left[lo:hi], p.width[lo:hi], size, w)
    gx = torch.where(p.flip[lo:hi].view(-1, 1), gx.flip(-1), gx)  # a mirror reads its columns backwards
    gy = _coords(p.top[lo:hi], p.height[lo:hi], size, h)
    grid = torch.stack([gx.view(b, 1, size).expand(b, size, size), gy.view(b, size, 1).expand(b, size, size)], -1)
    dt = torch.float64 if x.dtype == torch.float64 else torch.float32
    v = F.grid_sample(
        x[lo:hi].to(dt), grid.to(x.device, dt), mode="bilinear", padding_mode="zeros", align_corners=False
    )
    integer = not x.is_floating_point()
    bound = 255.0 if integer else 1.0
    if integer:  # torchvision's float path for integer images: round back to integers
        v = v.round_().clamp_(0.0, 255.0)
    col = {k: getattr(p, k)[lo:hi].to(x.device, dt).view(-1, 1, 1, 1) for k in ("brightness", "contrast", "saturation")}
    v = v.mul_(col["brightness"]).clamp_(0.0, bound)
    if integer:
        v = v.floor_()
    grey = _grey(v, integer) if c == 3 else v
    v = _blend_(v, grey.mean(dim=(-3, -2, -1), keepdim=True), col["contrast"], bound, integer)
    if c == 3:  # torchvision leaves a one-channel image's saturation alone
        v = _blend_(v, _grey(v, integer), col["saturation"], bound, integer)
    return v.to(x.dtype)


#: Elements per chunk on a CPU (2**19: about three 224x224 RGB images): each chunk's several passes
#: stay in the processor's cache instead of streaming the whole batch through memory once per pass.
_CHUNK_ELEMENTS = 2**19


def _crop_flip_jitter(x: torch.Tensor, p: CropFlipParams, size: int) -> torch.Tensor:
    """``crop_flip_jitter`` without validation."""
    b, c, h, w = x.shape
    step = max(1, _CHUNK_ELEMENTS // (c * max(h * w, size * size))) if x.device.type == "cpu" else b
    return torch.cat([_chunk(x, p, lo, min(b, lo + step), size) for lo in range(0, b, step)])


def _check_params(p: object, b: int, height: int, width: int) -> CropFlipParams:
    if not isinstance(p, CropFlipParams):
        raise TypeError(f"params must be a CropFlipParams (from CropFlipJitter.params), got {type(p).__name__}")
    for name in ("top", "left", "height", "width", "flip", "brightness", "contrast", "saturation"):
        v = getattr(p, name)
        check_tensor(v, f"params.{name}", ndim=1, finite=True)
        if v.shape[0] != b:
            raise ValueError(f"params.{name} has {v.shape[0]} entries but x has {b} images")
    if bool((p.height < 1).any() | (p.width < 1).any() | (p.top < 0).any() | (p.left < 0).any()):
        raise ValueError("params describe an empty box or a negative corner; expected top, left >= 0, sizes >= 1")
    if bool(((p.top + p.height) > height).any() | ((p.left + p.width) > width).any()):
        raise ValueError(f"params describe a crop box outside the {height}x{width} images")
    if bool((p.brightness < 0).any() | (p.contrast < 0).any() | (p.saturation < 0).any()):
        raise ValueError("params hold a negative colour factor; expected factors >= 0")
    return p


def _check_images(x: object) -> torch.Tensor:
    check_tensor(x, "x", ndim=4, nonempty=True)
    if x.dtype not in (torch.float32, torch.float64, torch.uint8):
        raise TypeError(f"x must be uint8 (0..255) or float32/float64 (0..1) images, got dtype {x.dtype}")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"x must have 1 or 3 channels ([B, C, H, W]), got shape {tuple(x.shape)}")
    if x.is_floating_point():
        check_tensor(x, "x", finite=True)
    return x


def crop_flip_jitter(x: torch.Tensor, params: CropFlipParams, size: int) -> torch.Tensor:
    """The same result as ``reference.pipeline.crop_flip_jitter`` image by image; adds batching with
    per-sample parameters, validation, and any device.

    Image ``i`` of ``x`` is cropped to its box, resized to ``size x size`` (bilinear, no antialiasing:
    ``interpolate(align_corners=False)``'s sample positions, read by one ``grid_sample`` per chunk of
    images), mirrored when ``params.flip[i]``, then its brightness, contrast and saturation are scaled
    by its factors (torchvision's ``adjust_*`` arithmetic and truncation, in that order). uint8 images are
    resized in float32 and rounded, as torchvision's float path does; float images stay in ``[0, 1]``.

    Args:
        x: images ``[B, C, H, W]``, uint8 (0..255) or float32/float64 (0..1, finite), ``C`` 1 or 3, ``B >= 1``.
        params: a ``CropFlipParams`` for ``B`` images whose boxes lie inside ``H x W``.
        size: the output side in pixels (>= 1).

    Returns:
        A new ``[B, C, size, size]`` tensor with the dtype and device of ``x``; ``x`` is not modified.

    Raises:
        TypeError/ValueError naming the parameter: a batch of the wrong shape, dtype, or empty; non-finite
        pixels; parameters for another batch size or boxes outside the images; ``size < 1``.
    """
    _check_images(x)
    size = check_int(size, "size", low=1)
    _check_params(params, x.shape[0], x.shape[2], x.shape[3])
    return _crop_flip_jitter(x, params, size)


class CropFlipJitter:
    """Random resized crop + horizontal flip + colour jitter with one independent draw per image.

    One configuration, three ways to run it, all drawing ``N_UNIFORMS`` uniforms per image and mapping
    them with ``params``:

    * ``cfj(x_i, y_i, generator)``: one sample ``[C, H, W]`` (an ``augment`` for ``AugmentedDataset``);
    * ``cfj.batch(x, generator=g)``: a batch ``[B, C, H, W]``, one ``[B, 8]`` draw from ``g``;
    * ``cfj.indexed_batch(x, indices, seed=, epoch=)``: a batch whose image ``k`` draws from
      ``sample_generator(seed, epoch, indices[k])`` — equal, image for image, to running the dataset's
      per-sample path in ``DataLoader`` workers (tested).

    The crop covers a fraction of the area uniform in ``scale`` with an aspect ratio log-uniform in
    ``ratio`` (Inception-style, as ``v2.RandomResizedCrop``), its sides rounded and then clamped to the
    image (torchvision retries up to 10 draws instead; one draw and a clamp keep every image to a
    fixed number of draws); its corner is uniform over the positions where it fits. The flip happens
    with probability ``flip_p``; each colour factor is uniform in ``[1 - jitter, 1 + jitter]``.

    Args:
        size: output side in pixels (>= 1).
        scale: ``(min, max)`` area fraction, ``0 < min <= max <= 1``.
        ratio: ``(min, max)`` aspect ratio width/height, ``0 < min <= max``.
        flip_p: probability of the mirror, in [0, 1].
        jitter: colour strength in [0, 1] (torchvision's ``ColorJitter(brightness=jitter, ...)``).
    """

    def __init__(
        self,
        size: int,
        *,
        scale: tuple[float, float] = (0.08, 1.0),
        ratio: tuple[float, float] = (3 / 4, 4 / 3),
        flip_p: float = 0.5,
        jitter: float = 0.4,
    ) -> None:
        self.size = check_int(size, "size", low=1)
        self.scale = check_range(scale, "scale", low=0.0, high=1.0, low_inclusive=False)
        self.ratio = check_range(ratio, "ratio", low=0.0, low_inclusive=False)
        self.flip_p = check_number(flip_p, "flip_p", low=0.0, high=1.0)
        self.jitter = check_number(jitter, "jitter", low=0.0, high=1.0)

    def __repr__(self) -> str:
        return (
            f"CropFlipJitter(size={self.size}, scale={self.scale}, ratio={self.ratio}, "
            f"flip_p={self.flip_p}, jitter={self.jitter})"
        )

    def params(self, u: torch.Tensor, height: int, width: int) -> CropFlipParams:
        """Map uniforms ``u`` ``[B, 8]`` in [0, 1) to parameters for ``height x width`` images (float64, on the CPU).

        Columns: area, log aspect ratio, top, left, flip, brightness, contrast, saturation.
        """
        check_tensor(u, "u", ndim=2, floating=True, finite=True)
        if u.shape[1] != N_UNIFORMS:
            raise ValueError(f"u must have {N_UNIFORMS} columns (one per draw), got shape {tuple(u.shape)}")
        height, width = check_int(height, "height", low=1), check_int(width, "width", low=1)
        return self._params(u, height, width)

    def _params(self, u: torch.Tensor, height: int, width: int) -> CropFlipParams:
        u = u.detach().to("cpu", torch.float64)
        area = height * width * (self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, 0])
        lo, hi = math.log(self.ratio[0]), math.log(self.ratio[1])
        aspect = torch.exp(lo + (hi - lo) * u[:, 1])
        w = torch.sqrt(area * aspect).round().clamp(1, width).to(torch.int64)
        h = torch.sqrt(area / aspect).round().clamp(1, height).to(torch.int64)
        top = torch.minimum((u[:, 2] * (height - h + 1)).floor().to(torch.int64), height - h)
        left = torch.minimum((u[:, 3] * (width - w + 1)).floor().to(torch.int64), width - w)
        j = self.jitter
        factors = 1.0 - j + 2.0 * j * u[:, 5:8]
        return CropFlipParams(top, left, h, w, u[:, 4] < self.flip_p, *factors.unbind(1))

    def _apply(self, x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return _crop_flip_jitter(x, self._params(u, x.shape[2], x.shape[3]), self.size)

    def __call__(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One sample ``x`` ``[C, H, W]`` (uint8 or float) -> ``([C, size, size], y)``, 8 draws from ``generator``."""
        check_tensor(x, "x", ndim=3)
        check_generator(generator)
        _check_images(x[None])
        return self._apply(x[None], uniform((1, N_UNIFORMS), generator=generator))[0], y

    def batch(self, x: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
        """A batch ``[B, C, H, W]`` -> ``[B, C, size, size]`` on ``x``'s device; ``[B, 8]`` draws from ``generator``."""
        _check_images(x)
        check_generator(generator)
        return self._apply(x, uniform((x.shape[0], N_UNIFORMS), generator=generator))

    def indexed_batch(self, x: torch.Tensor, indices: Sequence[int] | torch.Tensor, *, seed: int, epoch: int):
        """A batch whose image ``k`` is augmented with ``sample_generator(seed, epoch, indices[k])``'s draws.

        The on-device twin of ``AugmentedDataset(x, y, self, seed=seed, epoch=epoch)``: the same output
        for the same sample, computed on ``x``'s device in vectorised calls (only the 8 uniforms per image
        are drawn in a loop, on the CPU). ``indices``: ``B`` integers >= 0 (a list or a 1-D tensor).
        Returns ``[B, C, size, size]`` with the dtype and device of ``x``.
        """
        _check_images(x)
        idx = indices.tolist() if isinstance(indices, torch.Tensor) else list(indices)
        if len(idx) != x.shape[0]:
            raise ValueError(f"indices has {len(idx)} entries but x has {x.shape[0]} images")
        check_seed(seed)
        check_int(epoch, "epoch", low=0)
        idx = [check_int(i, f"indices[{k}]", low=0) for k, i in enumerate(idx)]
        u = torch.stack([uniform(N_UNIFORMS, generator=sample_generator(seed, epoch, i)) for i in idx])
        return self._apply(x, u)
