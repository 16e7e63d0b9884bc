"""Modality presets on ``torchvision.transforms.v2`` and the dihedral group D4.

The functional D4 operations below are shared by ``RandomDihedral`` (training) and ``lessonlib.tta``
(test-time views and their inverses).
"""

from __future__ import annotations

import torch

__all__ = ["D4_NAMES", "dihedral", "dihedral_inverse"]

#: The 8 symmetries of the square, indexed 0..7: element k = rotate by 90°·(k % 4) counter-clockwise
#: after a horizontal flip when k >= 4.
D4_NAMES = (
    "identity",
    "rot90",
    "rot180",
    "rot270",
    "hflip",
    "hflip+rot90",
    "hflip+rot180",
    "hflip+rot270",
)


def _check_k(k: object) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or not 0 <= k < 8:
        raise ValueError(f"k must be an int in 0..7 indexing D4_NAMES, got {k!r}")
    return k


def dihedral(x: torch.Tensor, k: int) -> torch.Tensor:
    """Apply D4 element ``k`` to the last two dimensions of ``x`` (``[..., H, W]``), exactly.

    Element k: horizontal flip if ``k >= 4``, then ``k % 4`` counter-clockwise quarter turns
    (``torch.rot90`` on dims (-2, -1)). Pure index permutation: no interpolation, any dtype, any
    device; returns a new tensor. Odd quarter turns swap H and W.
    """
    k = _check_k(k)
    if not isinstance(x, torch.Tensor) or x.ndim < 2:
        raise ValueError(f"x must be a tensor with at least 2 dims [..., H, W], got {getattr(x, 'shape', x)!r}")
    out = x.flip(-1) if k >= 4 else x
    return torch.rot90(out, k % 4, dims=(-2, -1)) if k % 4 else out.clone()


def dihedral_inverse(x: torch.Tensor, k: int) -> torch.Tensor:
    """Undo ``dihedral(·, k)``: ``dihedral_inverse(dihedral(x, k), k)`` equals ``x`` exactly."""
    k = _check_k(k)
    if not isinstance(x, torch.Tensor) or x.ndim < 2:
        raise ValueError(f"x must be a tensor with at least 2 dims [..., H, W], got {getattr(x, 'shape', x)!r}")
    out = torch.rot90(x, -(k % 4), dims=(-2, -1)) if k % 4 else x.clone()
    return out.flip(-1) if k >= 4 else out
