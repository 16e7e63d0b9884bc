"""Automatic augmentation policies (TrivialAugment, RandAugment, AugMix), drawn per image, batched.

Read ``lessonlib.reference.policies`` first: the same policies as short functions, one image at a
time. torchvision's ``transforms.v2`` policies draw *one* operation per call, so on a batch tensor
every image gets the same one; here every image gets its own, in two steps: ``sample_*`` draws each
image's operation(s) and signed magnitude(s) (``PolicyDraws``, tensors ``[B, N]``) from a
``torch.Generator``, and ``apply_draws`` applies them grouped by operation (a loop over operations,
never over images; the speed-only kernels are in ``lessonlib._kernels.policies``). Each image equals
torchvision's operation applied to it alone: exactly for colour operations on uint8, up to
nearest-neighbour ties for the geometric ones. The spaces (which operations, which magnitudes)
are in ``lessonlib.policy_spaces``. Order here: samplers → apply → policies and AugMix's loss
(``augmix_jsd_loss`` for ``training.fit``; the ``augment`` adapter is ``lessonlib.augment.policy_augment``).
Images: ``[B >= 1, 1 or 3, H, W]``, uint8 (0..255) or float32/float64 in [0, 1], finite; results
keep dtype, shape and device; inputs are never modified.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from lessonlib._kernels.policies import apply_one, apply_steps, mix_chains
from lessonlib.policy_spaces import (
    _VALID,
    OPS,
    SPACES,
    Space,
    _check_sizes,
    _lin,
    _magnitude_table,
    _named_table,
    _op_list,
    _space,
)
from lessonlib.utils import (
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_one_of,
    check_tensor,
    forked_cpu_rng,
    randint,
    uniform,
)

__all__ = [
    "PolicyDraws",
    "sample_trivial_augment",
    "sample_rand_augment",
    "apply_op",
    "apply_draws",
    "trivial_augment",
    "rand_augment",
    "augmix",
    "jensen_shannon_consistency",
    "augmix_jsd_loss",
    "prob_untouched_rand_augment",
]

# -- 2. The draws and their samplers -------------------------------------------------------------


@dataclass(frozen=True)
class PolicyDraws:
    """Per-image draws of a policy: ``N`` operations applied in order to each of ``B`` images.

    ``ops`` names the operations; ``op`` ``[B, N]`` int64 indexes into ``ops``; ``magnitude``
    ``[B, N]`` float64 is the signed magnitude in the operation's unit (0 for operations without one),
    exactly the value torchvision's policy passes to its operation. ``reference.policies`` writes the
    same draws as lists: image i's steps are ``[(ops[op[i, j]], magnitude[i, j]) for j in range(N)]``.
    """

    ops: tuple[str, ...]
    op: torch.Tensor
    magnitude: torch.Tensor

    def names(self, i: int) -> list[str]:
        """The operations drawn for image ``i``, in order."""
        return [self.ops[k] for k in self.op[i].tolist()]


def _signs(shape: tuple[int, ...], generator: torch.Generator | None) -> torch.Tensor:
    # torchvision negates when rand <= 0.5
    return torch.where(uniform(shape, generator=generator) <= 0.5, -1.0, 1.0).to(torch.float64)


def _draw(names, table, signed, batch: int, steps: int, bins: int | None, generator) -> PolicyDraws:
    """Unchecked core of both samplers: ops, then bins (``bins=None``: uniform, else that bin), then signs."""
    op = randint(0, len(names), (batch, steps), generator=generator).cpu()
    k = randint(0, table.shape[1], (batch, steps), generator=generator).cpu() if bins is None else bins
    sign = torch.where(signed[op], _signs((batch, steps), generator).cpu(), 1.0)
    return PolicyDraws(names, op, table[op, k] * sign)


def _sampler(batch, height, width, steps, magnitude, num_bins, ops, space, generator) -> PolicyDraws:
    """Both samplers, validated: ``steps`` operations per image at bin ``magnitude`` (None: uniform)."""
    batch, height, width, num_bins = _check_sizes(batch, height, width, num_bins)
    steps = check_int(steps, "num_ops", low=0)
    if magnitude is not None:
        magnitude = check_int(magnitude, "magnitude", low=0, high=num_bins - 1)
    check_generator(generator)
    sp = _space(space)
    names = _op_list(ops, sp)
    if isinstance(space, str):
        table, signed = _named_table(space, names, num_bins, height, width)
    else:
        table, signed = _magnitude_table(names, sp, num_bins, height, width)
    return _draw(names, table, signed, batch, steps, magnitude, generator)


def sample_trivial_augment(
    batch: int,
    height: int,
    width: int,
    *,
    ops: Sequence[str] | None = None,
    num_bins: int = 31,
    space: str | Space = "wide",
    generator: torch.Generator | None = None,
) -> PolicyDraws:
    """The same draws as ``reference.policies.sample_trivial_augment`` (given the same generator state);
    adds validation and tensors: one operation per image, uniform over ``ops`` (default: every operation
    of ``space``), a magnitude bin uniform over ``num_bins``, a random sign for signed operations.

    ``batch >= 1`` images of ``height`` x ``width``. Returns ``PolicyDraws`` with ``op``/``magnitude``
    of shape ``[batch, 1]`` (on the CPU).
    """
    return _sampler(batch, height, width, 1, None, num_bins, ops, space, generator)


def sample_rand_augment(
    batch: int,
    height: int,
    width: int,
    *,
    num_ops: int = 2,
    magnitude: int = 9,
    num_bins: int = 31,
    ops: Sequence[str] | None = None,
    space: str | Space = "randaugment",
    generator: torch.Generator | None = None,
) -> PolicyDraws:
    """The same draws as ``reference.policies.sample_rand_augment`` (given the same generator state);
    adds validation and tensors: ``num_ops`` (N) operations per image, each uniform over ``ops`` (with
    replacement), all at magnitude bin ``magnitude`` (M, in ``0..num_bins - 1``), random sign.

    Returns ``PolicyDraws`` with ``op``/``magnitude`` of shape ``[batch, num_ops]`` (on the CPU).
    """
    return _sampler(batch, height, width, num_ops, magnitude, num_bins, ops, space, generator)


# -- 3. Applying draws (validation here; the kernels are in lessonlib._kernels.policies) ---------


def _check_images(x: object, name: str = "x") -> torch.Tensor:
    check_tensor(x, name, ndim=4)
    if not (x.dtype in (torch.float32, torch.float64) or x.dtype == torch.uint8):
        raise TypeError(
            f"{name} must be uint8 (0..255) or float32/float64 (0..1), got dtype {x.dtype}"
            + ("; convert it with .float()" if x.is_floating_point() else "")
        )
    if x.shape[1] not in (1, 3):
        raise ValueError(f"{name} must have 1 or 3 channels ([B, C, H, W]), got shape {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} is an empty batch (shape {tuple(x.shape)}); expected at least one image")
    if x.numel() == 0:
        raise ValueError(f"{name} has no pixels (shape {tuple(x.shape)}); expected H, W >= 1")
    check_tensor(x, name, finite=True)
    return x


def _check_interp(interpolation: object, fill: object) -> float | None:
    check_one_of(interpolation, "interpolation", ["nearest", "bilinear"])
    return None if fill is None else check_number(fill, "fill")


def _check_magnitudes(ops: tuple[str, ...], op: torch.Tensor, mag: torch.Tensor, what: str) -> torch.Tensor:
    """``mag`` (a real tensor, the magnitude of operation ``ops[op]`` entry by entry) finite and in range."""
    if mag.dtype == torch.bool or mag.is_complex():
        raise TypeError(f"{what} must hold real magnitudes, got dtype {mag.dtype}")
    mag = mag.cpu().to(torch.float64)
    if not bool(torch.isfinite(mag).all()):
        raise ValueError(f"{what} contains NaN or infinite values; expected finite magnitudes")
    for k, name in enumerate(ops):
        sel = mag[op == k]
        if name not in _VALID or sel.numel() == 0:
            continue
        lo, hi = _VALID[name]
        out = sel[(sel < lo) | (sel > hi)]
        if out.numel():
            raise ValueError(f"{what} for {name} must lie in [{lo:g}, {hi:g}], got {float(out[0]):g}")
        if name == "Posterize" and not bool((sel == sel.round()).all()):
            raise ValueError(f"{what} for Posterize must be whole numbers of bits (0..8), got {sel.tolist()}")
    return mag


def apply_op(
    x: torch.Tensor,
    name: str,
    magnitude: torch.Tensor,
    *,
    interpolation: str = "nearest",
    fill: float | None = None,
) -> torch.Tensor:
    """The same result as ``reference.policies.apply_op`` on each image (up to nearest-neighbour ties in
    the geometric operations); adds batching, validation and speed: operation ``name`` on every image
    of ``x`` ``[n, C, H, W]``, image i at ``magnitude[i]``.

    ``magnitude`` ``[n]`` is in the operation's unit (see ``SPACES``), finite and in the operation's
    valid range (a factor ``1 + m >= 0``, posterize 0..8 whole bits, solarize in [0, 1]); ignored for
    operations without one. Returns a new tensor with the dtype, shape and device of ``x``.
    """
    check_one_of(name, "name", list(OPS))
    _check_images(x)
    check_tensor(magnitude, "magnitude", ndim=1)
    if magnitude.shape[0] != x.shape[0]:
        raise ValueError(f"magnitude has {magnitude.shape[0]} entries but x has {x.shape[0]} images")
    mag = _check_magnitudes((name,), torch.zeros(x.shape[0], dtype=torch.int64), magnitude, "magnitude")
    fill = _check_interp(interpolation, fill)
    return apply_one(x, name, mag, interpolation, fill)


def _check_draws(draws: object, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``draws`` a well-formed ``PolicyDraws`` for ``batch`` images; returns its CPU ``op`` and ``magnitude``."""
    if not isinstance(draws, PolicyDraws):
        raise TypeError(f"draws must be a PolicyDraws (from sample_*), got {type(draws).__name__}")
    if isinstance(draws.ops, str) or not isinstance(draws.ops, (tuple, list)) or not draws.ops:
        raise TypeError(f"draws.ops must be a non-empty tuple of operation names, got {draws.ops!r}")
    for name in draws.ops:
        check_one_of(name, "draws.ops entry", list(OPS))
    op = check_tensor(draws.op, "draws.op", ndim=2).cpu()
    if op.is_floating_point() or op.is_complex() or op.dtype == torch.bool:
        raise TypeError(f"draws.op must hold integer operation indices, got dtype {op.dtype}")
    if op.shape[0] != batch:
        raise ValueError(f"draws.op has shape {tuple(op.shape)}, but x has {batch} images")
    check_tensor(draws.magnitude, "draws.magnitude", ndim=2)
    if draws.magnitude.shape != op.shape:
        raise ValueError(f"draws.magnitude has shape {tuple(draws.magnitude.shape)}, expected {tuple(op.shape)}")
    if op.numel() and (int(op.min()) < 0 or int(op.max()) >= len(draws.ops)):
        raise ValueError(
            f"draws.op must index draws.ops (0..{len(draws.ops) - 1}), got {int(op.min())}..{int(op.max())}"
        )
    return op.to(torch.int64), _check_magnitudes(tuple(draws.ops), op, draws.magnitude, "draws.magnitude")


def apply_draws(
    x: torch.Tensor, draws: PolicyDraws, *, interpolation: str = "nearest", fill: float | None = None
) -> torch.Tensor:
    """The same result as ``reference.policies.apply_draws`` (up to nearest-neighbour ties in the
    geometric operations); adds validation and speed: step j applies operation ``draws.op[i, j]`` at
    ``draws.magnitude[i, j]`` to image i of ``x`` ``[B, C, H, W]`` (uint8 or float in [0, 1]), the
    images of a step grouped by operation, so the cost is a loop over operations, not images.

    Returns a new tensor like ``x``; ``x`` is not modified. Raises ValueError/TypeError naming the
    field (``draws.ops``, ``draws.op``, ``draws.magnitude``) for draws that are not a ``PolicyDraws``
    for ``B`` images, an op index out of range, a magnitude not finite or outside its operation's range.
    """
    _check_images(x)
    fill = _check_interp(interpolation, fill)
    op, mag = _check_draws(draws, x.shape[0])
    return apply_steps(x, tuple(draws.ops), op, mag, interpolation, fill)


# -- 4. The policies and AugMix's consistency loss -----------------------------------------------


def trivial_augment(
    x: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    ops: Sequence[str] | None = None,
    num_bins: int = 31,
    space: str | Space = "wide",
    interpolation: str = "nearest",
    fill: float | None = None,
) -> torch.Tensor:
    """The same result as ``reference.policies.trivial_augment`` (Müller & Hutter, 2021) on the same
    generator state (up to nearest-neighbour ties); adds validation, batching and speed.

    Each image gets one operation, uniform over ``ops`` (default: every operation of ``space``), at a
    magnitude bin uniform over ``num_bins``, random sign. With ``space="wide"`` this is torchvision's
    ``TrivialAugmentWide`` per image.

    ``x``: ``[B, C, H, W]``, B >= 1, C in {1, 3}, uint8 (0..255) or float32/float64 (0..1), finite;
    ``generator``: the source of all randomness (``None``: torch's global one); ``ops``: a subset of
    the space's names; ``num_bins >= 2``; ``space``: ``"wide"``, ``"randaugment"``, ``"augmix"``,
    ``"medical"`` or a mapping like ``SPACES[...]``; ``interpolation``, ``fill``: for the geometric
    operations (torchvision's defaults: nearest, zeros). Returns a new tensor like ``x``.
    """
    _check_images(x)
    fill = _check_interp(interpolation, fill)
    b, _, h, w = x.shape
    draws = _sampler(b, h, w, 1, None, num_bins, ops, space, generator)
    return apply_steps(x, draws.ops, draws.op, draws.magnitude, interpolation, fill)


def rand_augment(
    x: torch.Tensor,
    *,
    num_ops: int = 2,
    magnitude: int = 9,
    num_bins: int = 31,
    generator: torch.Generator | None = None,
    ops: Sequence[str] | None = None,
    space: str | Space = "randaugment",
    interpolation: str = "nearest",
    fill: float | None = None,
) -> torch.Tensor:
    """The same result as ``reference.policies.apply_draws`` on the draws of
    ``reference.policies.sample_rand_augment`` (Cubuk et al., 2020) from the same generator state;
    adds validation, batching and speed.

    Each image gets ``num_ops`` (N) operations drawn uniformly with replacement, all at bin
    ``magnitude`` (M) of ``num_bins``, random sign, applied in order: torchvision's ``RandAugment``
    per image. ``x``, ``generator``, ``ops``, ``space``, ``interpolation``, ``fill``: as in
    ``trivial_augment``. Returns a new tensor with the dtype, shape and device of ``x``.
    """
    _check_images(x)
    fill = _check_interp(interpolation, fill)
    b, _, h, w = x.shape
    draws = _sampler(b, h, w, num_ops, magnitude, num_bins, ops, space, generator)
    return apply_steps(x, draws.ops, draws.op, draws.magnitude, interpolation, fill)


def _dirichlet(alpha: float, k: int, batch: int, generator: torch.Generator | None) -> torch.Tensor:
    # torch.distributions cannot take a generator: draw a seed from it, sample in a forked CPU RNG
    seed = int(randint(0, 2**62, (1,), generator=generator)[0])
    with forked_cpu_rng(seed):
        return torch.distributions.Dirichlet(torch.full((k,), float(alpha), dtype=torch.float64)).sample((batch,))


def _augmix_args(severity, mixture_width, chain_depth, alpha, all_ops, interpolation) -> tuple:
    """``augmix``'s settings, validated once: ``(severity, width, depth, alpha, all_ops, interpolation)``."""
    severity = check_int(severity, "severity", low=1, high=10)
    width = check_int(mixture_width, "mixture_width", low=1)
    depth = check_int(chain_depth, "chain_depth", low=-1)
    if depth == 0:
        raise ValueError("chain_depth must be -1 (random 1..3) or a positive int, got 0")
    alpha = check_number(alpha, "alpha", low=0.0, low_inclusive=False)
    all_ops = check_bool(all_ops, "all_ops")
    check_one_of(interpolation, "interpolation", ["nearest", "bilinear"])
    return severity, width, depth, alpha, all_ops, interpolation


def _sample_augmix(b, h, w, severity, width, depth, alpha, all_ops, generator):
    """AugMix's draws for ``b`` images: ``(chains, weights [b, width], m [b])``, where chain k of image i
    is row ``k·b + i`` of ``chains`` (a ``PolicyDraws``; ``Identity`` pads chains shorter than the longest)."""
    space = dict(SPACES["augmix"])
    if all_ops:
        for name in ("Brightness", "Color", "Contrast", "Sharpness"):
            space[name] = (_lin(0.9), True)
    names = (*space, "Identity")
    table, signed = _magnitude_table(names[:-1], space, 10, h, w)
    table = torch.cat([table, torch.zeros(1, 10, dtype=torch.float64)])
    signed = torch.cat([signed, torch.tensor([False])])
    max_depth = depth if depth > 0 else 3
    m = _dirichlet(alpha, 2, b, generator)[:, 1]  # Beta(alpha, alpha)
    weights = _dirichlet(alpha, width, b, generator)  # [B, width]
    op = randint(0, len(names) - 1, (width * b, max_depth), generator=generator).cpu()
    bins = randint(0, severity, (width * b, max_depth), generator=generator).cpu()
    sign = torch.where(signed[op], _signs((width * b, max_depth), generator).cpu(), 1.0)
    if depth < 0:
        d = randint(1, 4, (width * b, 1), generator=generator).cpu()
        op = torch.where(torch.arange(max_depth)[None, :] < d, op, len(names) - 1)
    return PolicyDraws(names, op, table[op, bins] * sign), weights, m


def _augmix(x: torch.Tensor, args: tuple, generator: torch.Generator | None) -> torch.Tensor:
    """``augmix`` on checked inputs: all chains at once, as one batch of ``width·B`` images."""
    severity, width, depth, alpha, all_ops, interpolation = args
    b, _, h, w = x.shape
    chains, weights, m = _sample_augmix(b, h, w, severity, width, depth, alpha, all_ops, generator)
    out = apply_steps(x.repeat(width, 1, 1, 1), chains.ops, chains.op, chains.magnitude, interpolation, None)
    return mix_chains(x, out, weights, m)


def augmix(
    x: torch.Tensor,
    *,
    severity: int = 3,
    mixture_width: int = 3,
    chain_depth: int = -1,
    alpha: float = 1.0,
    all_ops: bool = False,
    generator: torch.Generator | None = None,
    interpolation: str = "bilinear",
) -> torch.Tensor:
    """The same result as ``reference.policies.augmix`` (Hendrycks et al., 2020) on the same chains and
    weights (within float rounding, a grey level for uint8, except the rare pixel where a later
    posterize/solarize amplifies a bilinear rounding difference); adds the sampling, validation,
    batching and speed.

    For each image: ``mixture_width`` chains, each of ``chain_depth`` operations (``-1``: a depth
    uniform in 1..3, per image and chain) drawn from the AugMix list (``all_ops=True`` adds the colour
    operations, as torchvision's default does) at bins ``0..severity - 1`` of 10; the chains are
    mixed with Dirichlet(alpha) weights and the mixture with the original by a Beta(alpha, alpha)
    weight m: ``out = (1 - m)·x + m·Σ_i w_i·chain_i(x)``, computed in float and cast back to the input
    dtype (truncated for uint8, like torchvision). ``x``: as in ``trivial_augment``.

    Returns a new tensor with the dtype, shape and device of ``x``.
    """
    _check_images(x)
    args = _augmix_args(severity, mixture_width, chain_depth, alpha, all_ops, interpolation)
    check_generator(generator)
    return _augmix(x, args, generator)


def _jsd(*logits: torch.Tensor) -> torch.Tensor:
    dt = torch.float32 if logits[0].dtype in (torch.float16, torch.bfloat16) else logits[0].dtype
    probs = [z.to(dt).softmax(dim=1) for z in logits]
    log_m = torch.clamp(torch.stack(probs).mean(0), 1e-7, 1.0).log()
    return (sum(F.kl_div(log_m, p, reduction="batchmean") for p in probs) / len(probs)).to(logits[0].dtype)


def jensen_shannon_consistency(*logits: torch.Tensor) -> torch.Tensor:
    """The same result as ``reference.policies.jensen_shannon`` (within float rounding); adds validation.

    AugMix's consistency loss: the Jensen–Shannon divergence among the softmax outputs of the views
    ``logits`` (each ``[B, K]``, B, K >= 1, finite; clean first, then the AugMix views), mean over the
    batch, in nats: ``JS = (1/V) Σ_v KL(p_v ‖ M)`` with ``M`` the mean of the ``V`` distributions
    (clamped at 1e-7 before the log, as in the paper's code). 0 when all views agree; at most ``log V``.
    A scalar in the logits' dtype (computed in float32 for float16/bfloat16), differentiable.
    """
    if len(logits) < 2:
        raise ValueError(f"jensen_shannon_consistency needs at least two views, got {len(logits)}")
    for i, z in enumerate(logits):
        check_tensor(z, f"logits[{i}]", ndim=2, floating=True, nonempty=True)
        if z.shape != logits[0].shape:
            raise ValueError(f"logits[{i}] has shape {tuple(z.shape)}, expected {tuple(logits[0].shape)}")
        check_tensor(z, f"logits[{i}]", finite=True)
    return _jsd(*logits)


def augmix_jsd_loss(
    weight: float = 12.0,
    *,
    severity: int = 3,
    mixture_width: int = 3,
    chain_depth: int = -1,
    alpha: float = 1.0,
    all_ops: bool = False,
    interpolation: str = "bilinear",
):
    """AugMix's training objective (Hendrycks et al., 2020) as a ``training.BatchLoss`` for
    ``training.fit(..., loss=augmix_jsd_loss())``: cross-entropy on the clean batch plus ``weight`` ×
    the Jensen–Shannon consistency (the same result as ``reference.policies.jensen_shannon``) among the
    clean batch and two independent AugMix views of it.

    The returned ``loss(model, xb, yb, generator) -> scalar`` draws both views in one ``augmix`` call
    on ``[xb, xb]`` from ``generator`` and runs one forward pass on the concatenated ``3·B`` images.
    ``xb``: float images ``[B, C, H, W]`` in [0, 1]; ``yb``: labels ``[B]``. ``weight >= 0`` (the
    paper's 12); the other settings are ``augmix``'s, validated now, not at the first batch.
    """
    weight = check_number(weight, "weight", low=0.0)
    args = _augmix_args(severity, mixture_width, chain_depth, alpha, all_ops, interpolation)

    def loss(model: torch.nn.Module, xb: torch.Tensor, yb: torch.Tensor | None, generator: torch.Generator):
        if yb is None:
            raise TypeError("yb must be labels [B]: augmix_jsd_loss needs labelled data (fit(..., y=labels))")
        _check_images(xb, "xb")
        views = torch.cat([xb, _augmix(torch.cat([xb, xb]), args, generator)])
        clean, aug1, aug2 = model(views).chunk(3)
        return F.cross_entropy(clean, yb) + weight * _jsd(clean, aug1, aug2)

    return loss


def prob_untouched_rand_augment(num_ops: int, ops: Sequence[str], *, identity_like: Sequence[str] = ()) -> float:
    """Probability that RandAugment with ``num_ops`` draws (uniform over ``ops``, with replacement)
    leaves an image untouched: every draw must be ``Identity`` or one of ``identity_like``.

    ``(k / len(ops)) ** num_ops`` with ``k`` the number of such operations in ``ops``. ``ops`` and
    ``identity_like`` are lists of names from ``OPS`` (a bare string is refused: it is not a list).
    """
    num_ops = check_int(num_ops, "num_ops", low=0)
    if isinstance(ops, str) or not isinstance(ops, Sequence) or not ops:
        raise TypeError(f"ops must be a non-empty list of operation names, got {ops!r}")
    for name in ops:
        check_one_of(name, "ops entry", list(OPS))
    if isinstance(identity_like, str) or not isinstance(identity_like, (Sequence, set, frozenset)):
        raise TypeError(f"identity_like must be a list of operation names (not a bare string), got {identity_like!r}")
    for name in identity_like:
        check_one_of(name, "identity_like entry", list(OPS))
    keep = {"Identity", *identity_like}
    k = sum(1 for o in ops if o in keep)
    return (k / len(ops)) ** num_ops
