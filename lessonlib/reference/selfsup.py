"""Reference NT-Xent (SimCLR) and FixMatch's loss (see ``lessonlib.reference``): the formulas, anchor by
anchor. The oracle for ``lessonlib.selfsup`` (``tests/test_selfsup.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["nt_xent", "fixmatch_loss"]


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """NT-Xent, the loss of SimCLR (Chen et al., 2020, *A simple framework for contrastive learning of
    visual representations*). Stack the 2B projections ``z = [z1; z2]``, so the partner of anchor i is
    ``j = (i + B) mod 2B``, and with cosine similarity ``s_ik = z_i·z_k / (‖z_i‖ ‖z_k‖)`` and τ:

        ℓ(i, j) = −log( exp(s_ij / τ) / Σ_{k ≠ i} exp(s_ik / τ) ),    L = (1 / 2B) Σ_i ℓ(i, j).

    ``z1``, ``z2``: ``[B, D]`` floating, B >= 2 (row i of both is a positive pair). Returns a 0-d
    float64 tensor (nats).
    """
    assert z1.shape == z2.shape and z1.ndim == 2 and z1.shape[0] >= 2 and temperature > 0
    z = torch.cat([z1, z2]).double()
    n, b = z.shape[0], z1.shape[0]
    total = torch.zeros((), dtype=torch.float64)
    for i in range(n):
        j = (i + b) % n
        sim = torch.stack([z[i] @ z[k] / (z[i].norm() * z[k].norm()) for k in range(n)]) / temperature
        others = torch.cat([sim[:i], sim[i + 1 :]])  # every k ≠ i: one positive and 2B − 2 negatives
        total = total - (sim[j] - torch.logsumexp(others, 0))
    return total / n


def fixmatch_loss(
    model, x_labelled, y_labelled, x_unlabelled, weak, strong, threshold=0.95, weight=1.0, generator=None
) -> torch.Tensor:
    """FixMatch's objective for one batch (Sohn et al., 2020, *FixMatch: Simplifying semi-supervised
    learning with consistency and confidence*), with weak views α and strong views 𝒜:

        L = (1/B) Σ_b CE(y_b, p(α(x_b)))  +  λ (1/μB) Σ_u 1[max p(α(u)) ≥ τ] · CE(ŷ_u, p(𝒜(u))),

    where ``p = softmax(model(·))``, ``ŷ_u = argmax p(α(u))`` is a hard pseudo-label (no gradient flows
    through it), τ = ``threshold`` and λ = ``weight``; the mean runs over *all* μB unlabelled images
    (those below the threshold count as 0). Views are ``view(x, generator)``. Returns the 0-d loss.
    """
    assert len(x_labelled) == len(y_labelled) > 0 and len(x_unlabelled) > 0 and 0 <= threshold <= 1
    supervised = F.cross_entropy(model(weak(x_labelled, generator)), y_labelled)
    with torch.no_grad():
        p_weak = model(weak(x_unlabelled, generator)).softmax(1)
    logits_strong = model(strong(x_unlabelled, generator))
    unsupervised = torch.zeros((), dtype=logits_strong.dtype)
    for u in range(len(x_unlabelled)):
        confidence, pseudo_label = p_weak[u].max(0)
        if confidence >= threshold:
            unsupervised = unsupervised + F.cross_entropy(logits_strong[u], pseudo_label)
    return supervised + weight * unsupervised / len(x_unlabelled)
