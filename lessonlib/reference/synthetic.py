"""Reference synthetic data (see ``lessonlib.reference``): a conditional VAE's loss, SMOTE, a Gaussian
copula, and the nearest-neighbour distance of a memorisation check (notebook 14).

Every random draw is an argument, so the fast versions in ``lessonlib.synthetic`` can be run on the same
draws and compared (``tests/test_synthetic.py``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["negative_elbo", "smote", "copula_sample", "nearest_neighbour_distances"]


def negative_elbo(x: torch.Tensor, recon_logits: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The loss of a (conditional) variational auto-encoder, mean over the batch:

        −ELBO(x) = Σ_j BCE(x_j, σ(ℓ_j)) + ½ Σ_k (μ_k² + exp(v_k) − v_k − 1),

    reconstruction by Bernoulli cross-entropy of the pixels (``x`` in [0, 1], ``recon_logits`` ℓ of the
    same shape ``[B, D]``), plus the KL divergence of the encoder's N(μ, exp(v)) from N(0, I)
    (``mu``, ``logvar`` ``[B, Z]``). Kingma & Welling (2014), *Auto-Encoding Variational Bayes*; the
    class-conditional version (encoder and decoder both see the label) is Sohn, Lee & Yan (2015),
    *Learning Structured Output Representation using Deep Conditional Generative Models*.
    """
    assert x.shape == recon_logits.shape and mu.shape == logvar.shape and x.shape[0] == mu.shape[0]
    total = 0.0
    for i in range(x.shape[0]):
        rec = F.binary_cross_entropy_with_logits(recon_logits[i], x[i], reduction="sum")
        kl = 0.5 * (mu[i] ** 2 + logvar[i].exp() - logvar[i] - 1).sum()
        total = total + rec + kl
    return total / x.shape[0]


def smote(x: torch.Tensor, k: int, base: torch.Tensor, rank: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
    """SMOTE: new minority rows on the segments between a minority row and one of its ``k`` nearest
    minority neighbours (Chawla et al., 2002, *SMOTE: synthetic minority over-sampling technique*):

        x_new = x_b + s · (x_{nn(b, r)} − x_b),   b = base, r = rank in 0..k-1, s = step in [0, 1),

    where ``nn(b, r)`` is the (r+1)-th nearest other row of ``x`` ``[n, d]`` (Euclidean). One output row
    per entry of ``base``/``rank``/``step`` ``[m]``; imbalanced-learn draws ``base · k + rank`` uniformly
    and ``step`` ~ U[0, 1).
    """
    assert x.ndim == 2 and 1 <= k < x.shape[0] and base.shape == rank.shape == step.shape
    out = []
    for b, r, s in zip(base.tolist(), rank.tolist(), step.tolist(), strict=True):
        dist = ((x - x[b]) ** 2).sum(1)
        dist[b] = float("inf")  # a row is not its own neighbour
        neighbour = x[dist.argsort()[r]]
        out.append(x[b] + s * (neighbour - x[b]))
    return torch.stack(out) if out else x[:0].clone()


def copula_sample(x_train: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Gaussian copula: keep each column's empirical distribution and the rank correlation between columns.

    Fit: normal scores ``n_ij = Φ⁻¹(rank_ij / (N + 1))`` of each column of ``x_train`` ``[N, d]`` (ranks
    1..N) and their correlation matrix ``R = LLᵀ``. Sample: ``u = Φ(z Lᵀ)`` for standard normal draws
    ``z`` ``[m, d]``, then ``x_new_ij = Q_j(u_ij)``, the column's empirical quantile (linear
    interpolation, as ``torch.quantile``). Sklar (1959) for copulas; the Gaussian copula as a model of
    tables is the Synthetic Data Vault's: Patki, Wedge & Veeramachaneni (2016), *The Synthetic Data Vault*.
    """
    assert x_train.ndim == 2 and z.ndim == 2 and z.shape[1] == x_train.shape[1] and x_train.shape[0] >= 2
    n, d = x_train.shape
    x = x_train.double()
    scores = torch.empty_like(x)
    for j in range(d):
        ranks = x[:, j].argsort(stable=True).argsort().double() + 1  # 1..N (ties broken by position)
        scores[:, j] = torch.special.ndtri(ranks / (n + 1))
    corr = torch.corrcoef(scores.T).reshape(d, d)
    chol = torch.linalg.cholesky(corr + 1e-9 * torch.eye(d, dtype=x.dtype))
    u = torch.special.ndtr(z.double() @ chol.T)
    out = torch.empty(z.shape[0], d, dtype=x.dtype)
    for j in range(d):
        out[:, j] = torch.quantile(x[:, j], u[:, j])
    return out.to(x_train.dtype)


def nearest_neighbour_distances(queries: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each query row, the Euclidean distance to its nearest row of ``reference`` and that row's index:

        d_i = min_j ‖q_i − r_j‖₂,   j*_i = argmin_j ‖q_i − r_j‖₂     (rows flattened: ``[Q, ...]``, ``[R, ...]``).

    The memorisation check of generative models compares these distances for generated samples with
    those of held-out real images: a generated image much closer to a training image than any held-out
    image is a near-copy (Carlini et al., 2023, *Extracting Training Data from Diffusion Models*).
    """
    assert queries.shape[1:] == reference.shape[1:] and reference.shape[0] >= 1
    q, r = queries.flatten(1).double(), reference.flatten(1).double()
    dist, index = [], []
    for i in range(q.shape[0]):
        d = ((r - q[i]) ** 2).sum(1).sqrt()
        dist.append(d.min())
        index.append(d.argmin())
    if not dist:
        return queries.new_zeros(0), torch.zeros(0, dtype=torch.long)
    return torch.stack(dist).to(queries.dtype), torch.stack(index)
