"""Tabular (clinical table) augmentation that respects units, types and constraints.

Three rules the usual lesson code breaks, and this module keeps:

1. **Noise in each feature's own scale.** Features live on very different scales (age in years,
   cholesterol in mg/dL, a ratio near 4). Noise for feature ``f`` is ``noise_scale · feature_std[f]``,
   with ``feature_std`` computed on the *training* split (``feature_std(x_train)``), never the test split.
2. **Types and constraints.** ``spec`` declares each feature ``continuous`` (optionally bounded),
   ``integer`` (optionally bounded; noise, then rounding), ``binary`` or ``categorical`` (never noised:
   "sex = 1.03" or "blood group 2.4" is not a patient). Bounds are always respected.
3. **Missing is not zero.** Feature dropout marks values *missing* — NaN, plus a returned boolean mask —
   instead of writing 0, which is a real (and for most clinical features impossible) value. Downstream,
   impute and add missing-indicator features (``sklearn.impute.SimpleImputer(add_indicator=True)``).

Bounds: truncation, not clamping
--------------------------------
For a bounded feature the noisy value is drawn from the Gaussian *truncated* to ``[low, high]``
(inverse-CDF sampling, vectorised, no rejection loop): ``u ~ U(Φ(a), Φ(b))``, ``z = Φ⁻¹(u)`` with
``a = (low − x)/σ``, ``b = (high − x)/σ``. Clamping instead (``bounds="clamp"``) is simpler but piles
probability mass exactly on the bound (an atom of "age = 0.0" rows a model can learn as a signature of
augmentation); truncation keeps the augmented values a continuous distribution inside the bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lessonlib.utils import (
    check_generator,
    check_int,
    check_number,
    check_one_of,
    check_probability,
    check_tensor,
    compute_dtype,
    normal,
    uniform,
)

__all__ = ["FeatureSpec", "KINDS", "feature_std", "augment_tabular", "augment_rows"]

KINDS = ("continuous", "integer", "binary", "categorical")


@dataclass(frozen=True)
class FeatureSpec:
    """What one feature is: ``kind`` in ``KINDS`` and optional bounds ``low <= value <= high``.

    ``binary`` and ``categorical`` features never receive noise (they may still be dropped to missing).
    """

    kind: str = "continuous"
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        check_one_of(self.kind, "kind", KINDS)
        for name in ("low", "high"):
            v = getattr(self, name)
            if v is not None:  # a real number (±inf allowed: no bound); NaN, bools and strings refused
                object.__setattr__(self, name, check_number(v, name, finite=False))
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low must be <= high, got low={self.low}, high={self.high}")

    @property
    def noisy(self) -> bool:
        """True when this feature may receive noise."""
        return self.kind in ("continuous", "integer")


def _check_table(x: object, name: str = "x") -> torch.Tensor:
    """``check_tensor`` for a table ``[n_features]`` or ``[n_rows, n_features]``: floating point (NaN marks a
    missing value, so NaN is allowed), non-empty, no ±inf."""
    check_tensor(x, name, ndim=(1, 2), floating=True, nonempty=True)
    if bool(torch.isinf(x).any()):
        raise ValueError(f"{name} contains infinite values; expected finite numbers (NaN = missing is allowed)")
    return x


def feature_std(x_train: torch.Tensor) -> torch.Tensor:
    """Per-feature standard deviation of the training rows, ignoring missing (NaN) values.

    Args:
        x_train: ``[n_rows, n_features]``, ``n_rows >= 2``, floating point (NaN = missing).

    Returns:
        ``[n_features]`` sample standard deviations (``ddof=1``), same dtype and device; equal to
        ``numpy.nanstd(x, axis=0, ddof=1)`` (tested) except that a feature with fewer than two observed
        values gets 0 (no noise) where numpy gives NaN. float16/bfloat16 tables are computed in float32
        (a float16 variance of ordinary lab values overflows) and returned in their own dtype.

    Raises:
        ValueError: when a standard deviation does not fit the table's dtype (float16 above 65504).
    """
    _check_table(x_train, "x_train")
    if x_train.ndim != 2 or x_train.shape[0] < 2:
        raise ValueError(f"x_train must be [n_rows >= 2, n_features], got shape {tuple(x_train.shape)}")
    xc = x_train.to(compute_dtype(x_train.dtype))
    observed = ~torch.isnan(xc)
    cnt = observed.sum(0).to(xc.dtype)
    mean = torch.nansum(xc, 0) / cnt.clamp_min(1)
    dev = torch.where(observed, xc - mean, torch.zeros_like(xc))
    var = dev.square().sum(0) / (cnt - 1).clamp_min(1)
    std = torch.where(cnt >= 2, var.sqrt(), torch.zeros_like(var))
    out = std.to(x_train.dtype)
    if bool(torch.isinf(out).any()) and not bool(torch.isinf(std).any()):
        raise ValueError(
            f"x_train's standard deviation does not fit {x_train.dtype} (max {torch.finfo(x_train.dtype).max:g}); "
            "compute it on x_train.float()"
        )
    return out


def _spec_tensors(spec: Sequence[FeatureSpec] | None, n_features: int, like: torch.Tensor):
    if spec is None:
        spec = [FeatureSpec()] * n_features
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence):
        raise TypeError(f"spec must be a sequence of FeatureSpec (one per feature) or None, got {type(spec).__name__}")
    spec = list(spec)
    if len(spec) != n_features:
        raise ValueError(f"spec has {len(spec)} entries but x has {n_features} features; give one FeatureSpec each")
    for i, s in enumerate(spec):
        if not isinstance(s, FeatureSpec):
            raise TypeError(f"spec[{i}] must be a FeatureSpec, got {type(s).__name__}")
    inf = float("inf")
    noisy = torch.tensor([s.noisy for s in spec], device=like.device)
    integer = torch.tensor([s.kind == "integer" for s in spec], device=like.device)
    low = torch.tensor([s.low if s.low is not None else -inf for s in spec], dtype=like.dtype, device=like.device)
    high = torch.tensor([s.high if s.high is not None else inf for s in spec], dtype=like.dtype, device=like.device)
    return noisy, integer, low, high


def _check_arguments(x, feature_std, noise_scale, dropout_prob, spec, bounds, generator) -> dict:
    """Validate ``augment_tabular``'s arguments once (``augment_rows`` shares it); returns the core's inputs."""
    _check_table(x)
    n_features = x.shape[-1]
    check_tensor(feature_std, "feature_std", ndim=1, floating=True, finite=True)
    if feature_std.shape != (n_features,):
        raise ValueError(
            f"feature_std must be a tensor shaped [{n_features}] (one std per feature), got {tuple(feature_std.shape)}"
        )
    if bool((feature_std < 0).any()):
        raise ValueError("feature_std must be finite and >= 0 (compute it with feature_std(x_train))")
    noise_scale = check_number(noise_scale, "noise_scale", low=0.0)
    dropout_prob = check_probability(dropout_prob, "dropout_prob")
    check_one_of(bounds, "bounds", ("truncate", "clamp"))
    check_generator(generator)
    xc = x.to(compute_dtype(x.dtype))  # float16/bfloat16: no ndtri kernel, and too coarse for the CDF
    noisy, integer, low, high = _spec_tensors(spec, n_features, xc)
    outside = ~torch.isnan(xc) & ((xc < low) | (xc > high))
    if bool(outside.any()):
        f = int(outside.nonzero()[0, -1])
        raise ValueError(
            f"x has values outside the spec's bounds for feature {f} "
            f"([{float(low[f])}, {float(high[f])}]); fix the data or the spec"
        )
    sigma = (noise_scale * feature_std.to(device=x.device, dtype=xc.dtype)) * noisy.to(xc.dtype)  # [F]
    return dict(sigma=sigma, integer=integer, low=low, high=high, dropout_prob=dropout_prob, bounds=bounds)


def _augment(x, *, sigma, integer, low, high, dropout_prob, bounds, generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The unchecked core of ``augment_tabular`` (``reference.tabular.constrained_noise`` then
    ``feature_dropout``, vectorised over rows and features)."""
    out_dtype, n_features = x.dtype, x.shape[-1]
    rows = x.to(compute_dtype(x.dtype)).reshape(-1, n_features)
    lo, hi = low.expand_as(rows), high.expand_as(rows)
    if bounds == "truncate":
        # inverse-CDF draw of the truncated Gaussian; sigma == 0 means "leave the value alone".
        safe = torch.where(sigma > 0, sigma, torch.ones_like(sigma))
        a = torch.special.ndtr(((lo - rows) / safe).nan_to_num(nan=0.0))
        b = torch.special.ndtr(((hi - rows) / safe).nan_to_num(nan=0.0))
        u = uniform(rows.shape, generator=generator, device=x.device, dtype=torch.float64).to(rows.dtype)
        p = (a + u * (b - a)).clamp(torch.finfo(rows.dtype).tiny, 1 - torch.finfo(rows.dtype).eps)
        noise = torch.special.ndtri(p) * sigma
        out = torch.minimum(torch.maximum(rows + noise, lo), hi)  # guards against rounding at the bound
    else:
        noise = normal(rows.shape, generator=generator, device=x.device, dtype=rows.dtype) * sigma
        out = torch.minimum(torch.maximum(rows + noise, lo), hi)
    # integer features: round, then step back inside the bounds if rounding left them
    rounded = torch.round(out)
    rounded = torch.where(rounded > hi, torch.floor(hi), rounded)
    rounded = torch.where(rounded < lo, torch.ceil(lo), rounded)
    out = torch.where(integer & (sigma > 0), rounded, out)
    out = torch.where(sigma > 0, out, rows)  # untouched features keep their exact value

    drop = uniform(rows.shape, generator=generator, device=x.device, dtype=torch.float32) < dropout_prob
    missing = torch.isnan(rows) | drop
    out = out.masked_fill(missing, float("nan"))
    if out_dtype != out.dtype:  # back to the caller's dtype; keep the bounds as that dtype rounds them
        out = torch.minimum(torch.maximum(out.to(out_dtype), low.to(out_dtype)), high.to(out_dtype))
    return out.reshape(x.shape), missing.reshape(x.shape)


def augment_tabular(
    x: torch.Tensor,
    *,
    feature_std: torch.Tensor,
    noise_scale: float = 0.05,
    dropout_prob: float = 0.0,
    spec: Sequence[FeatureSpec] | None = None,
    bounds: str = "truncate",
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The same result as ``reference.tabular.constrained_noise`` then ``reference.tabular.feature_dropout``
    (``bounds="truncate"``); adds validation, the constraints read from a ``FeatureSpec`` per feature, the
    random draws, a ``"clamp"`` option and vectorisation over rows and features: per-feature-scaled noise
    plus feature dropout to *missing*, respecting types and bounds.

    The draws, from ``generator``: ``u ~ U(0, 1)`` per value (float64 from float32 draws; ``"clamp"``: a
    standard normal per value instead), then the dropout draws (float32, ``< dropout_prob`` drops).

    Args:
        x: ``[n_features]`` or ``[n_rows, n_features]``, floating point, non-empty, in the features' own
            units; NaN marks values already missing (they stay missing), ±inf is refused. Observed values
            must lie within the spec's bounds (checked).
        feature_std: ``[n_features]``, non-negative, finite: each feature's standard deviation on the
            **training** split (``lessonlib.tabular.feature_std(x_train)``).
        noise_scale: noise standard deviation as a fraction of ``feature_std`` (>= 0). 0.05 moves a
            value by about 5% of the population spread: small next to between-patient variation.
        dropout_prob: probability that each observed value becomes missing, in [0, 1].
        spec: one ``FeatureSpec`` per feature; default: all continuous and unbounded. ``binary`` and
            ``categorical`` features are never noised; ``integer`` features are noised then rounded to
            the nearest integer (noise well below one unit mostly rounds back to the original value, so
            give integers a useful std or leave them alone); bounds are always respected.
        bounds: ``"truncate"`` (default: truncated-Gaussian noise, no mass on the bound) or
            ``"clamp"`` (noise then clamp into the bounds); see the module docstring.
        generator: source of randomness; draws are vectorised over rows and features.

    Returns:
        ``(x_aug, missing)``: ``x_aug`` a new tensor with the shape, dtype and device of ``x`` (NaN where
        missing); ``missing`` a bool tensor of the same shape, True where ``x_aug`` is missing (values
        missing in ``x`` and values dropped now). float16/bfloat16 tables are computed in float32 and
        returned in their own dtype (bounds then hold as the dtype represents them).
    """
    core = _check_arguments(x, feature_std, noise_scale, dropout_prob, spec, bounds, generator)
    return _augment(x, **core, generator=generator)


def augment_rows(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    copies: int,
    feature_std: torch.Tensor,
    noise_scale: float = 0.05,
    dropout_prob: float = 0.0,
    spec: Sequence[FeatureSpec] | None = None,
    bounds: str = "truncate",
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Training-set expansion: the original rows plus ``copies`` augmented copies of each (``augment_tabular``
    on ``x`` repeated ``copies`` times).

    Args:
        x: ``[n_rows, n_features]`` training rows, ``n_rows >= 1``.
        y: ``[n_rows]`` targets (copied unchanged: the augmentation is assumed label-preserving).
        copies: number of augmented copies per row (>= 0).
        feature_std, noise_scale, dropout_prob, spec, bounds, generator: as in ``augment_tabular``.

    Returns:
        ``(x_big, y_big, missing)`` with ``(copies + 1) · n_rows`` rows; the originals come first.
    """
    core = _check_arguments(x, feature_std, noise_scale, dropout_prob, spec, bounds, generator)
    if x.ndim != 2:
        raise ValueError(f"x must be [n_rows, n_features], got shape {tuple(x.shape)}")
    check_tensor(y, "y", ndim=1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"y must be a tensor shaped [{x.shape[0]}] (one target per row), got {tuple(y.shape)}")
    copies = check_int(copies, "copies", low=0)
    aug, miss = _augment(x.repeat(copies, 1), **core, generator=generator)
    return torch.cat([x, aug]), y.repeat(copies + 1), torch.cat([torch.isnan(x), miss])
