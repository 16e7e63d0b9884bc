"""The operation spaces of the automatic policies: which operations, and the magnitude of each bin.

A *space* maps an operation name to ``(bins(num_bins, height, width) -> tensor or None, signed)``:
the magnitude of each of ``num_bins`` bins in the operation's own unit for an image of that size,
and whether a random sign is applied. ``SPACES`` holds torchvision's spaces (``wide`` for
TrivialAugmentWide, ``randaugment``, ``augmix``) and the course's ``medical`` subset; notebook 08
reads them, ``lessonlib.policies`` samples from them, ``magnitude_table`` evaluates one.

A learner reads this module to see *what* a policy may do to an image; ``lessonlib.policies`` says how
it is drawn and applied, and ``lessonlib.reference.policies`` is the short version of both.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence

import torch

from lessonlib.utils import check_int, check_one_of

__all__ = ["Space", "SPACES", "OPS", "UNSAFE_FOR_GREYSCALE_MEDICAL", "magnitude_table"]

# -- 1. The spaces: which operations, and the magnitude of each bin ------------------------------

# A magnitude space: {operation: (bins(num_bins, height, width) -> tensor or None, signed)}.
Space = Mapping[str, tuple[Callable[[int, int, int], torch.Tensor | None], bool]]


def _lin(hi: float) -> Callable[[int, int, int], torch.Tensor]:
    return lambda n, h, w: torch.linspace(0.0, hi, n)


def _none(n: int, h: int, w: int) -> None:
    return None


def _posterize(top: int, span: int) -> Callable[[int, int, int], torch.Tensor]:
    # torchvision: bits fall from ``top`` to ``top - span`` across the bins
    return lambda n, h, w: (top - (torch.arange(n) / ((n - 1) / span))).round().int()


def _solarize(n: int, h: int, w: int) -> torch.Tensor:
    return torch.linspace(1.0, 0.0, n)  # threshold as a fraction of the maximum value


#: The operation spaces, with torchvision's bins (``TrivialAugmentWide``, ``RandAugment``, ``AugMix``
#: with ``all_ops=False``, the AugMix paper's list, which leaves out the colour operations that
#: overlap the corruptions it is tested on) and the course's ``medical`` subset. Magnitudes are in
#: the operation's own unit: shear as tan(angle), translation in pixels, rotation in degrees,
#: brightness/colour/contrast/sharpness as ``factor - 1``, posterize as bits kept, solarize as the
#: threshold fraction. ``signed`` operations get a random sign. ``wide``'s translation is torchvision's,
#: absolute: up to 32 px whatever the size (CIFAR's whole width), so on 8x8 digits most of its bins move
#: the content off the image (notebook 08 counts the blank draws); the other spaces scale it with the
#: side, as RandAugment's paper does (150/331 of the side at its top bin). Use ``randaugment`` (or
#: ``medical``) for small images; ``wide`` stays for equality with ``TrivialAugmentWide``.
SPACES: dict[str, dict[str, tuple[Callable[[int, int, int], torch.Tensor | None], bool]]] = {
    "wide": {
        "Identity": (_none, False),
        "ShearX": (_lin(0.99), True),
        "ShearY": (_lin(0.99), True),
        "TranslateX": (_lin(32.0), True),
        "TranslateY": (_lin(32.0), True),
        "Rotate": (_lin(135.0), True),
        "Brightness": (_lin(0.99), True),
        "Color": (_lin(0.99), True),
        "Contrast": (_lin(0.99), True),
        "Sharpness": (_lin(0.99), True),
        "Posterize": (_posterize(8, 6), False),
        "Solarize": (_solarize, False),
        "AutoContrast": (_none, False),
        "Equalize": (_none, False),
    },
    "randaugment": {
        "Identity": (_none, False),
        "ShearX": (_lin(0.3), True),
        "ShearY": (_lin(0.3), True),
        "TranslateX": (lambda n, h, w: torch.linspace(0.0, 150.0 / 331.0 * w, n), True),
        "TranslateY": (lambda n, h, w: torch.linspace(0.0, 150.0 / 331.0 * h, n), True),
        "Rotate": (_lin(30.0), True),
        "Brightness": (_lin(0.9), True),
        "Color": (_lin(0.9), True),
        "Contrast": (_lin(0.9), True),
        "Sharpness": (_lin(0.9), True),
        "Posterize": (_posterize(8, 4), False),
        "Solarize": (_solarize, False),
        "AutoContrast": (_none, False),
        "Equalize": (_none, False),
    },
    "augmix": {
        "ShearX": (_lin(0.3), True),
        "ShearY": (_lin(0.3), True),
        "TranslateX": (lambda n, h, w: torch.linspace(0.0, w / 3.0, n), True),
        "TranslateY": (lambda n, h, w: torch.linspace(0.0, h / 3.0, n), True),
        "Rotate": (_lin(30.0), True),
        "Posterize": (_posterize(4, 4), False),
        "Solarize": (_solarize, False),
        "AutoContrast": (_none, False),
        "Equalize": (_none, False),
    },
    # Safe for a grey-scale film: small rotations and shifts (positioning varies that much), mild
    # exposure and contrast changes and sharpening (acquisition varies that much). Left out: shears
    # beyond a few degrees (anatomy does not shear), solarize, posterize and invert (they reverse or
    # quantise densities the reader relies on), colour (a no-op on grey: a wasted draw), and the
    # global remappings autocontrast/equalize (preprocessing choices, not natural variation).
    "medical": {
        "Identity": (_none, False),
        "TranslateX": (lambda n, h, w: torch.linspace(0.0, 0.08 * w, n), True),
        "TranslateY": (lambda n, h, w: torch.linspace(0.0, 0.08 * h, n), True),
        "Rotate": (_lin(10.0), True),
        "Brightness": (_lin(0.25), True),
        "Contrast": (_lin(0.25), True),
        "Sharpness": (_lin(0.5), True),
    },
}

#: Every operation the kernels here implement.
OPS = (*SPACES["wide"], "Invert")

#: Operations that change what a grey-scale medical image *means* (notebook 08, section 3), with why.
UNSAFE_FOR_GREYSCALE_MEDICAL = {
    "Solarize": "inverts every pixel above a threshold: bone and air swap above it",
    "Posterize": "throws away intensity bits: subtle densities (a nodule, an effusion) vanish",
    "Invert": "reverses the film's polarity (MONOCHROME1 vs 2): a different image, not a variant",
    "Color": "a no-op on a grey image: the draw is wasted, the policy is silently weaker",
    "ShearX": "large shears make anatomy no body has (TrivialAugmentWide goes to 45 degrees)",
    "ShearY": "large shears make anatomy no body has (TrivialAugmentWide goes to 45 degrees)",
    "Equalize": "a global remapping that rewrites the density scale; a preprocessing choice",
    "AutoContrast": "a global remapping that rewrites the density scale; a preprocessing choice",
}

#: The valid magnitudes of the operations that have a bounded one, ``(low, high)`` inclusive: a factor
#: ``1 + m`` must be >= 0, posterize keeps 0..8 whole bits, solarize's threshold is a fraction of the
#: maximum, a translation is a whole number of pixels that fits an int32. Every other magnitude: finite.
_VALID = {
    **dict.fromkeys(("Brightness", "Color", "Contrast", "Sharpness"), (-1.0, math.inf)),
    **dict.fromkeys(("TranslateX", "TranslateY"), (-(2.0**31), 2.0**31)),
    **{"Posterize": (0.0, 8.0), "Solarize": (0.0, 1.0)},
}


def _space(space: object) -> Space:
    if isinstance(space, str):
        check_one_of(space, "space", list(SPACES))
        return SPACES[space]
    if not isinstance(space, Mapping) or not space:
        raise TypeError(f"space must be one of {list(SPACES)} or a non-empty mapping, got {type(space).__name__}")
    for name in space:
        check_one_of(name, "space key", list(OPS))
    return space


def _op_list(ops: object, space: Space, what: str = "ops") -> tuple[str, ...]:
    if ops is None:
        return tuple(space)
    if isinstance(ops, str) or not isinstance(ops, Sequence) or not ops:
        raise TypeError(f"{what} must be a non-empty list of operation names or None, got {ops!r}")
    for name in ops:
        check_one_of(name, f"{what} entry", list(space))
    if len(set(ops)) != len(ops):
        raise ValueError(f"{what} must not repeat an operation, got {list(ops)}")
    return tuple(ops)


def magnitude_table(
    ops: Sequence[str], space: str | Space, num_bins: int, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(table [len(ops), num_bins] float64, signed [len(ops)] bool)``: each operation's bin values.

    ``space`` is a name of ``SPACES`` or a mapping like one; ``ops`` a non-empty list of its operation
    names; ``num_bins >= 2``; ``height``/``width`` the image size (translations scale with it).
    Operations without a magnitude get a row of zeros. Values are torchvision's (its float32
    ``linspace`` read as float64, exactly what its policies hand to the operation). Raises
    ValueError/TypeError for an unknown space or operation (listing the valid ones), ``num_bins < 2``.
    """
    sp = _space(space)
    names = _op_list(ops, sp)
    _check_sizes(1, height, width, num_bins)
    return _magnitude_table(names, sp, num_bins, height, width)


def _magnitude_table(ops: tuple[str, ...], space: Space, num_bins: int, height: int, width: int):
    rows, signed = [], []
    for name in ops:
        fn, sign = space[name]
        bins = fn(num_bins, height, width)
        rows.append(torch.zeros(num_bins, dtype=torch.float64) if bins is None else bins.to(torch.float64))
        signed.append(sign and bins is not None)
    return torch.stack(rows), torch.tensor(signed)


@functools.lru_cache(maxsize=256)
def _named_table(space: str, ops: tuple[str, ...], num_bins: int, height: int, width: int):
    """``magnitude_table`` for one of ``SPACES`` by name, computed once per size: a policy called on
    every training batch would otherwise rebuild the same bins each time. Callers only read it."""
    return _magnitude_table(ops, SPACES[space], num_bins, height, width)


def _check_sizes(batch: object, height: object, width: object, num_bins: object) -> tuple[int, ...]:
    sizes = {"batch": (batch, 1), "height": (height, 1), "width": (width, 1), "num_bins": (num_bins, 2)}
    return tuple(check_int(v, name, low=low) for name, (v, low) in sizes.items())
