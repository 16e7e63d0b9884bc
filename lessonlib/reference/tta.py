"""Reference D4 views and test-time augmentation (see ``lessonlib.reference``), one view at a time.

The oracle for ``lessonlib.geometric.dihedral``/``dihedral_inverse`` and ``lessonlib.tta.predict_with_tta``
(``tests/test_geometric.py``, ``tests/test_tta.py``).
"""

from __future__ import annotations

import torch

__all__ = ["D4_NAMES", "d4", "d4_inverse", "merge_views", "tta"]

#: Element k of the dihedral group D4 (the 8 symmetries of the square): a horizontal flip if k >= 4,
#: then k % 4 counter-clockwise quarter turns.
D4_NAMES = ("identity", "rot90", "rot180", "rot270", "hflip", "hflip+rot90", "hflip+rot180", "hflip+rot270")


def d4(x: torch.Tensor, k: int) -> torch.Tensor:
    """D4 element ``k`` on the last two dims of ``x`` ``[..., H, W]``: ``g_k = rot90^(k mod 4) ∘ flip^[k ≥ 4]``.

    The symmetries under which a histology tile keeps its label (Veeling et al., 2018, *Rotation
    equivariant CNNs for digital pathology*). A pixel permutation: exact, any dtype; odd k swap H and W.
    """
    assert 0 <= k < 8 and x.ndim >= 2
    if k >= 4:
        x = x.flip(-1)
    return torch.rot90(x, k % 4, dims=(-2, -1))


def d4_inverse(x: torch.Tensor, k: int) -> torch.Tensor:
    """``g_k⁻¹ = flip^[k ≥ 4] ∘ rot90^(−(k mod 4))``: undo the turns first, then the flip, so
    ``d4_inverse(d4(x, k), k) == x`` exactly. Maps a dense prediction of view k back to the input's frame
    before the views are averaged (Wang et al., 2019, *Aleatoric uncertainty estimation with test-time
    augmentation for medical image segmentation*)."""
    assert 0 <= k < 8 and x.ndim >= 2
    x = torch.rot90(x, -(k % 4), dims=(-2, -1))
    return x.flip(-1) if k >= 4 else x


def merge_views(z: torch.Tensor, merge: str = "mean") -> torch.Tensor:
    """Merge raw outputs ``z`` ``[V, B, K(, H, W)]`` of V views (class axis 2) with ``p_v = softmax(z_v)``:

    * ``mean``: ``1/V Σ_v p_v`` (Krizhevsky et al., 2012, averaged the softmax over ten crops);
    * ``logit_mean``: ``softmax(1/V Σ_v z_v)``;
    * ``gmean``: the normalised geometric mean ``∏_v p_v^(1/V) / Σ_K ∏_v p_v^(1/V)``;
    * ``max``: ``max_v p_v`` per class (rows no longer sum to 1).
    """
    p = z.softmax(dim=2)
    if merge == "mean":
        return p.mean(0)
    if merge == "logit_mean":
        return z.mean(0).softmax(dim=1)
    if merge == "gmean":
        g = z.log_softmax(dim=2).mean(0).exp()  # log p_v, computed stably
        return g / g.sum(dim=1, keepdim=True)
    assert merge == "max"
    return p.amax(0)


def tta(model, x: torch.Tensor, views=range(8), merge: str = "mean", dense: bool = False) -> torch.Tensor:
    """Test-time augmentation over D4 views (Shanmugam et al., 2021, *Better aggregation in test-time
    augmentation*): ``merge_v f(g_v x)``; for dense outputs (segmentation, ``[B, K, H, W]``) each view's
    output is first mapped back, ``g_v⁻¹ f(g_v x)``, so every map is aligned with ``x`` before merging.

    ``model``: ``[B, C, H, W] -> [B, K]`` logits (``[B, K, H, W]`` when dense), in eval mode. ``views``:
    D4 indices (``range(8)`` = all eight). Returns ``[B, K(, H, W)]`` merged probabilities.
    """
    outputs = []
    with torch.no_grad():
        for k in views:
            z = model(d4(x, k))
            outputs.append(d4_inverse(z, k) if dense else z)
    return merge_views(torch.stack(outputs), merge)
