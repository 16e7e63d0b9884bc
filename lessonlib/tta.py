"""Test-time augmentation (TTA): batched, deterministic, with explicit merging and dense inverses.

TTA averages a model's prediction over a set of *views* of each input — deterministic transforms
under which the label should not change (the orbit of an assumed invariance). It helps only when
the views are label-preserving for the modality *and* the model's errors differ between views; it
costs V forward passes per image; and it can turn right answers wrong (a digit 6 rotated by 180° is
a 9). The notebook ``06_tta`` measures all three. Read ``lessonlib.reference.tta`` first: TTA over the
D4 views and its merges in 70 lines, one view at a time; ``predict_with_tta`` is tested equal to it.

* ``predict_with_tta(model, x, views="d4", merge="mean", activation="softmax", ...)`` — merged
  predictions ``[B, K]`` (``dense=True``: ``[B, K, H, W]``, each view's output mapped back first).
* ``view_disagreement(view_predictions)`` — a per-sample uncertainty score from the per-view outputs.
* ``tta_effect`` (accuracy change and how many predictions flipped wrong→right and right→wrong) and
  ``error_rate_by_bin`` (is disagreement a useful uncertainty?) measure what TTA did.
* ``lessonlib.augment.views_augment(views)`` is the training-time twin: one random view per image.
* ``make_views`` / ``View`` / ``shift_view`` — named view sets (``"identity"``, ``"hflip"``,
  ``"flips"``, ``"d4"``) built on ``lessonlib.geometric.dihedral`` and its exact inverse, and small
  integer shifts for data (like digits) that are *not* D4-invariant.

Batching: the V views of a chunk of images are concatenated and go through the model in **one**
forward pass per chunk; never one image at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from lessonlib.geometric import D4_NAMES, dihedral, dihedral_inverse
from lessonlib.utils import check_bool, check_int, check_one_of, check_tensor

__all__ = [
    "View",
    "VIEW_SETS",
    "MERGES",
    "ACTIVATIONS",
    "DISAGREEMENTS",
    "DEFAULT_PIXELS_PER_PASS_CPU",
    "DEFAULT_VIEW_IMAGES_PER_PASS_CPU",
    "DEFAULT_PIXELS_PER_PASS_ACCELERATOR",
    "default_batch_size",
    "make_views",
    "shift_view",
    "predict_with_tta",
    "merge_views",
    "view_disagreement",
    "TTAEffect",
    "tta_effect",
    "BinnedErrors",
    "error_rate_by_bin",
]

#: Named view sets as indices into ``geometric.D4_NAMES``. ``"flips"`` = identity, horizontal flip,
#: vertical flip (``hflip+rot180``) and both flips (``rot180``): the views that keep H and W in place.
VIEW_SETS: dict[str, tuple[int, ...]] = {
    "identity": (0,),
    "hflip": (0, 4),
    "flips": (0, 4, 6, 2),
    "d4": tuple(range(8)),
}

#: ``mean``: arithmetic mean of the activated outputs (probabilities). ``logit_mean``: mean of the raw
#: outputs (logits), then the activation. ``gmean``: normalised geometric mean of the probabilities,
#: ``softmax(mean_v log p_v)`` — for softmax this equals ``logit_mean`` exactly (the per-view
#: log-normaliser is constant over classes and cancels), for sigmoid it is ``sigmoid(mean logit)`` too
#: (geometric mean of the Bernoulli pair (p, 1-p), renormalised). ``max``: element-wise maximum of
#: the activated outputs (rows no longer sum to 1).
MERGES = ("mean", "logit_mean", "gmean", "max")
ACTIVATIONS = ("softmax", "sigmoid", None)
DISAGREEMENTS = ("mutual_information", "variance", "vote")


def predict_with_tta(
    model: nn.Module,
    x: torch.Tensor,
    *,
    views: str | Sequence[Callable[[torch.Tensor], torch.Tensor]] = "d4",
    merge: str = "mean",
    activation: str | None = "softmax",
    batch_size: int | None = None,
    return_views: bool = False,
    dense: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """The same result as ``reference.tta.tta`` (D4 views, softmax merges); adds other views and
    activations, chunked batching (all views of a chunk in one forward pass), devices, eval mode and validation.

    Test-time augmentation: ``merge_v f(g_v x)``, dense outputs mapped back first (``g_v⁻¹ f(g_v x)``).

    Args:
        model: maps ``[N, C, H, W]`` to logits ``[N, K]`` (or ``[N, K, H, W]`` with ``dense=True``).
        x: a batch ``[B, C, H, W]``, floating point, on any device (it is moved to the model's device
            chunk by chunk; results come back on ``x.device``). Not modified.
        views: ``"identity"``, ``"hflip"``, ``"flips"``, ``"d4"`` (the 8 exact symmetries of the square,
            ``geometric.D4_NAMES``) or a sequence of deterministic callables / ``View`` objects (see
            ``make_views``, ``shift_view``). Views with quarter turns need square images.
        merge: ``"mean"`` (of probabilities), ``"logit_mean"`` (of logits, then the activation),
            ``"gmean"`` (normalised geometric mean of probabilities) or ``"max"``; see ``MERGES``.
        activation: ``"softmax"`` (over classes, dim 1 of the output), ``"sigmoid"`` (multi-label or
            binary) or ``None`` (the model already outputs scores you want averaged as they are).
        batch_size: images per chunk; each forward pass sees ``V × batch_size`` inputs (all views of
            the chunk, concatenated), so memory grows with ``V × batch_size``. ``None`` uses
            ``default_batch_size(V, H, W, device)``: at most 65 536 input pixels and 256 view-images
            per pass on a CPU, i.e. 32 digits (8x8) × 8 D4 views, chosen by the chunk-size sweep of
            ``benchmarks/bench_tta.py`` (one giant pass of every view-image is *slower* on a CPU);
            on a GPU much larger (2**22 pixels per pass).
        return_views: also return the per-view predictions (activated, in the input's frame).
        dense: the model outputs maps ``[N, K, H, W]`` (segmentation); each view's output is mapped
            back with the view's ``inverse`` before merging, so the result is aligned with ``x``.

    Returns:
        ``merged`` shaped ``[B, K]`` (``[B, K, H, W]`` when dense), or ``(merged, per_view)`` with
        ``per_view`` shaped ``[V, B, K(, H, W)]``, both on ``x.device``.

    Guarantees: runs under ``torch.inference_mode()``; every submodule is put in eval mode for the
    call and its previous mode restored afterwards (also when the call raises); the same input gives
    the same output (the views are deterministic and nothing random is drawn); results do not depend
    on ``batch_size`` beyond floating-point rounding of the model's kernels.
    """
    view_list = _check_tta_args(model, x, views, merge, activation, batch_size, return_views, dense)
    dev = _model_device(model, x.device)
    chunk = batch_size or default_batch_size(len(view_list), x.shape[-2], x.shape[-1], dev)
    with _eval_mode(model), torch.inference_mode():
        # every view of a chunk in ONE forward pass; dense outputs mapped back to x's frame
        pieces = [
            _predict_views(model, x[start : start + chunk].to(dev), view_list, dense)
            for start in range(0, x.shape[0], chunk)
        ]
        raw = torch.cat(pieces, dim=1)  # [V, B, K(, H, W)] raw outputs
        merged = _merge(raw, merge, activation).to(x.device)
        if not return_views:
            return merged
        return merged, _activate(raw, activation).to(x.device)


def merge_views(view_outputs: torch.Tensor, *, merge: str = "mean", activation: str | None = "softmax") -> torch.Tensor:
    """The same result as ``reference.tta.merge_views`` (softmax); adds ``sigmoid``/no activation,
    half-precision inputs (merged in float32) and validation.

    Merge raw per-view outputs ``[V, B, K]`` (or dense ``[V, B, K, H, W]``) into ``[B, K(, H, W)]``.

    ``view_outputs`` are the model's *raw* outputs (logits), already mapped back to the input frame for
    dense outputs. The class axis is dim 2. See ``MERGES`` for what each merge computes; ``gmean``
    needs an activation (a geometric mean of logits is meaningless). Computed in float32 or wider,
    returned in the dtype of ``view_outputs``.
    """
    check_tensor(view_outputs, "view_outputs", ndim=(3, 5), floating=True)
    _check_merge(merge, activation)
    return _merge(view_outputs, merge, activation)


def _merge(view_outputs: torch.Tensor, merge: str, activation: str | None) -> torch.Tensor:
    """``merge_views`` without its checks (``predict_with_tta`` validated ``merge`` and ``activation``)."""
    y = view_outputs.float() if view_outputs.dtype in (torch.float16, torch.bfloat16) else view_outputs
    if merge == "mean":
        out = _activate(y, activation).mean(0)
    elif merge == "logit_mean":
        out = _activate(y.mean(0, keepdim=True), activation)[0]
    elif merge == "max":
        out = _activate(y, activation).amax(0)
    elif activation == "softmax":  # gmean
        out = y.log_softmax(dim=2).mean(0).softmax(dim=1)
    else:  # gmean, sigmoid: renormalised geometric mean of (p, 1-p) per class
        log_p, log_q = F.logsigmoid(y).mean(0), F.logsigmoid(-y).mean(0)
        out = torch.sigmoid(log_p - log_q)
    return out.to(view_outputs.dtype)


# ----------------------------------------------------------------------------------------------
# Views: named D4 sets (from geometric), shifts, your own callables
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """One deterministic test-time view: ``forward`` maps a batch ``[B, C, H, W]`` to its view.

    ``inverse`` (optional) maps a *dense* model output ``[B, K, H', W']`` of the view back to the
    frame of the original input; it is needed only for ``dense=True``. Both must be deterministic,
    vectorised over the batch, and must not modify their input in place.
    """

    name: str
    forward: Callable[[torch.Tensor], torch.Tensor]
    inverse: Callable[[torch.Tensor], torch.Tensor] | None = None
    swaps_hw: bool = False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward(x)


def make_views(views: str | Sequence[Callable[[torch.Tensor], torch.Tensor]]) -> tuple[View, ...]:
    """Resolve a view specification into a tuple of ``View``.

    Args:
        views: a name in ``VIEW_SETS`` (``"identity"``, ``"hflip"``, ``"flips"``, ``"d4"``) or a
            non-empty sequence of deterministic callables ``[B, C, H, W] -> [B, C, H', W']``
            (``View`` objects or plain functions; a plain function has no inverse, so it cannot be
            used with ``dense=True``).

    Returns:
        The views in order; the first is conventionally the identity.
    """
    if isinstance(views, str):
        if views not in VIEW_SETS:
            raise ValueError(f"views must be one of {sorted(VIEW_SETS)} or a sequence of callables, got {views!r}")
        return tuple(_d4_view(k) for k in VIEW_SETS[views])
    if not isinstance(views, Sequence) or len(views) == 0:
        raise ValueError(f"views must be a view-set name or a non-empty sequence of callables, got {views!r}")
    out = []
    for i, v in enumerate(views):
        if isinstance(v, View):
            out.append(v)
        elif callable(v):
            out.append(View(getattr(v, "__name__", f"view{i}"), v))
        else:
            raise TypeError(f"views[{i}] must be callable (x) -> x, got {type(v).__name__}")
    return tuple(out)


def shift_view(dx: int, dy: int) -> View:
    """A view that shifts the image by whole pixels (``dx`` right, ``dy`` down), zero-filled.

    Deterministic and exact (no interpolation). Its ``inverse`` shifts a dense output back by
    ``(-dx, -dy)``; the ``|dx|`` columns and ``|dy|`` rows that left the frame come back as zeros, so
    the inverse is exact only away from the border. ``shift_view(0, 0)`` is the identity.
    """
    dx, dy = check_int(dx, "dx (pixels)"), check_int(dy, "dy (pixels)")
    return View(f"shift({dx:+d},{dy:+d})", lambda x: _shift(x, dx, dy), lambda y: _shift(y, -dx, -dy))


def _d4_view(k: int) -> View:
    return View(D4_NAMES[k], lambda x, k=k: dihedral(x, k), lambda y, k=k: dihedral_inverse(y, k), swaps_hw=k % 2 == 1)


def _shift(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """Move content ``dx`` pixels right and ``dy`` down; zeros enter at the border."""
    h, w = x.shape[-2:]
    # pad (left, right, top, bottom) then crop back to H x W.
    padded = F.pad(x, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)))
    top, left = max(-dy, 0), max(-dx, 0)
    return padded[..., top : top + h, left : left + w]


# ----------------------------------------------------------------------------------------------
# Chunking, validation and the private cores of predict_with_tta
# ----------------------------------------------------------------------------------------------

#: Default bounds on the work per forward pass when ``batch_size=None`` on a CPU, in input pixels
#: (views × images × H × W) and in view-images (views × images): small chunks pay per-pass overhead,
#: large ones outgrow the cache (on large images) or the threads' sweet spot (on tiny ones). The values
#: come from the chunk-size sweep ``python -m benchmarks.bench_tta --sweep`` at one and two threads;
#: the measured figures and the reasoning are in ``benchmarks/bench_tta.py``'s docstring.
DEFAULT_PIXELS_PER_PASS_CPU = 2**16
DEFAULT_VIEW_IMAGES_PER_PASS_CPU = 256
#: Accelerators (CUDA, MPS) want big passes to fill the device; not tuned here beyond "large".
DEFAULT_PIXELS_PER_PASS_ACCELERATOR = 2**22


def default_batch_size(n_views: int, height: int, width: int, device: torch.device | str = "cpu") -> int:
    """Images per chunk that ``predict_with_tta`` uses when ``batch_size=None``.

    On a CPU ``max(1, min(DEFAULT_PIXELS_PER_PASS_CPU // (n_views · height · width),
    DEFAULT_VIEW_IMAGES_PER_PASS_CPU // n_views))`` (65 536 pixels, 256 view-images); elsewhere
    ``max(1, DEFAULT_PIXELS_PER_PASS_ACCELERATOR // (n_views · height · width))``. For D4 on 8x8 digits:
    32 images (256 view-images per pass); on 32x32 images: 8; on 64x64: 2; from 65x65 on: 1.

    Raises:
        TypeError/ValueError naming the parameter: sizes that are not integers >= 1, a ``device``
        that is not a ``torch.device`` or a device string torch understands (``"cpu"``, ``"cuda:0"``).
    """
    for name, v in (("n_views", n_views), ("height", height), ("width", width)):
        check_int(v, name, low=1)
    if not isinstance(device, (torch.device, str)):
        raise TypeError(f"device must be a torch.device or a string such as 'cpu', got {type(device).__name__}")
    try:
        kind = torch.device(device).type
    except RuntimeError as exc:
        raise ValueError(f"device must name a torch device such as 'cpu' or 'cuda', got {device!r}") from exc
    if kind != "cpu":
        return max(1, DEFAULT_PIXELS_PER_PASS_ACCELERATOR // (n_views * height * width))
    by_pixels = DEFAULT_PIXELS_PER_PASS_CPU // (n_views * height * width)
    return max(1, min(by_pixels, DEFAULT_VIEW_IMAGES_PER_PASS_CPU // n_views))


def _check_tta_args(
    model: object,
    x: object,
    views: object,
    merge: object,
    activation: object,
    batch_size: object,
    return_views: object,
    dense: object,
) -> tuple[View, ...]:
    """Validate ``predict_with_tta``'s arguments up front; returns the resolved views."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_tensor(x, "x", ndim=4, floating=True)
    if x.shape[0] == 0:
        raise ValueError(f"x must hold at least one image, got shape {tuple(x.shape)}")
    view_list = make_views(views)
    _check_merge(merge, activation)
    if batch_size is not None:
        check_int(batch_size, "batch_size (images per chunk, or None)", low=1)
    check_bool(return_views, "return_views")
    check_bool(dense, "dense")
    h, w = x.shape[-2:]
    if h != w and any(v.swaps_hw for v in view_list):
        bad = [v.name for v in view_list if v.swaps_hw]
        raise ValueError(
            f"views {bad} rotate by a quarter turn and need square images, but x is {h}x{w}; "
            "use views='flips' or 'hflip', or crop/pad to a square"
        )
    if dense:
        missing = [v.name for v in view_list if v.inverse is None]
        if missing:
            raise ValueError(f"dense=True needs an inverse for every view; views {missing} have none (use View(...))")
    return view_list


def _check_merge(merge: object, activation: object) -> None:
    check_one_of(activation, "activation", ACTIVATIONS)
    check_one_of(merge, "merge", MERGES)
    if merge == "gmean" and activation is None:
        raise ValueError(
            "merge='gmean' needs activation 'softmax' or 'sigmoid' (a geometric mean of logits is undefined)"
        )


def _model_device(model: nn.Module, fallback: torch.device) -> torch.device:
    for p in model.parameters():
        return p.device
    for b in model.buffers():
        return b.device
    return fallback


@contextlib.contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Every submodule in eval mode inside; each one's previous mode restored after, also on errors."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, was_training in modes:
            m.training = was_training


def _predict_views(model: nn.Module, xc: torch.Tensor, view_list: tuple[View, ...], dense: bool) -> torch.Tensor:
    """Raw outputs ``[V, b, K(, H, W)]`` of one chunk ``[b, C, H, W]``: all its views in ONE forward pass.

    Dense outputs are mapped back to the input's frame with each view's inverse.
    """
    b, hw = xc.shape[0], tuple(xc.shape[-2:])
    viewed = [_apply_view(v, xc) for v in view_list]
    if len({tuple(t.shape) for t in viewed}) > 1:
        got = {v.name: tuple(t.shape[-2:]) for v, t in zip(view_list, viewed, strict=True)}
        raise ValueError(f"all views must give images of one size to share a forward pass, got {got}")
    y = _check_output(model(torch.cat(viewed)), len(view_list) * b, dense, hw)  # [V*b, K(, H', W')]
    y = y.reshape(len(view_list), b, *y.shape[1:])
    if dense:
        y = torch.stack([v.inverse(y[i]) for i, v in enumerate(view_list)])
        if tuple(y.shape[-2:]) != hw:
            raise ValueError(f"a view's inverse returned maps of {tuple(y.shape[-2:])}, expected {hw}")
    return y


def _apply_view(view: View, xc: torch.Tensor) -> torch.Tensor:
    out = view(xc)
    if not isinstance(out, torch.Tensor) or out.ndim != 4 or out.shape[:2] != xc.shape[:2]:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"view {view.name!r} must map [B, C, H, W] to [B, C, H', W'] (got {got} for {tuple(xc.shape)})"
        )
    return out


def _check_output(y: object, n: int, dense: bool, hw: tuple[int, int]) -> torch.Tensor:
    if not isinstance(y, torch.Tensor) or not y.is_floating_point():
        raise TypeError(f"the model must return a floating-point tensor, got {type(y).__name__}")
    want = 4 if dense else 2
    if y.ndim != want or y.shape[0] != n:
        shape = "[N, K, H, W] (dense=True)" if dense else "[N, K] (use dense=True for maps)"
        raise ValueError(f"the model returned shape {tuple(y.shape)} for {n} inputs; expected {shape}")
    return y


def _activate(y: torch.Tensor, activation: str | None) -> torch.Tensor:
    if activation == "softmax":
        return y.softmax(dim=-1 if y.ndim == 3 else 2)
    if activation == "sigmoid":
        return y.sigmoid()
    return y


# ----------------------------------------------------------------------------------------------
# Uncertainty from the views
# ----------------------------------------------------------------------------------------------


def view_disagreement(view_predictions: torch.Tensor, *, method: str = "mutual_information") -> torch.Tensor:
    """A per-sample uncertainty score from per-view predictions: how much the views disagree.

    Args:
        view_predictions: probabilities ``[V, B, K]`` (rows summing to 1 over K, as returned by
            ``predict_with_tta(..., activation="softmax", return_views=True)``), or dense
            ``[V, B, K, H, W]`` for a per-pixel score. V >= 2.
        method:
            * ``"mutual_information"`` (default): ``H(mean_v p_v) − mean_v H(p_v)`` in nats, the
              information the view carries about the prediction (as in BALD for MC dropout); 0 when
              all views agree, at most ``log V`` and ``log K``.
            * ``"variance"``: variance over views (population, ``/V``) averaged over classes.
            * ``"vote"``: fraction of views whose top class differs from the top class of the mean
              prediction, in ``{0, 1/V, ..., 1}``. It can reach 1: views voting 0.5/0.1/0.4 and
              0.1/0.5/0.4 average to a mean whose top class (the third) is neither view's.

    Returns:
        ``[B]`` (``[B, H, W]`` when dense), float, on the input's device; higher means less certain.
    """
    check_tensor(view_predictions, "view_predictions", ndim=(3, 5), floating=True, finite=True)
    check_one_of(method, "method", DISAGREEMENTS)
    p = view_predictions
    if p.shape[0] < 2:
        raise ValueError(f"view_predictions needs at least 2 views along dim 0, got shape {tuple(p.shape)}")
    if method == "variance":
        return p.var(0, unbiased=False).mean(1)
    if bool((p < 0).any()) or not torch.allclose(p.sum(2), torch.ones((), dtype=p.dtype, device=p.device), atol=1e-3):
        raise ValueError(
            f"method={method!r} needs probabilities summing to 1 over classes (dim 2); apply softmax to logits first"
        )
    mean = p.mean(0)
    if method == "vote":
        return (p.argmax(2) != mean.argmax(1).unsqueeze(0)).to(p.dtype).mean(0)

    def entropy(q: torch.Tensor, dim: int) -> torch.Tensor:
        return -(q * q.clamp_min(torch.finfo(q.dtype).tiny).log()).sum(dim)

    return (entropy(mean, 1) - entropy(p, 2).mean(0)).clamp_min(0)


# ----------------------------------------------------------------------------------------------
# Measuring what TTA did: flips between right and wrong, error rate by disagreement
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TTAEffect:
    """What TTA changed on a labelled set, against the plain (single-view) prediction.

    ``accuracy_plain`` and ``accuracy_tta`` are fractions; ``wrong_to_right`` and ``right_to_wrong``
    count samples whose correctness TTA changed, so ``accuracy_tta - accuracy_plain`` equals
    ``(wrong_to_right - right_to_wrong) / n``.
    """

    accuracy_plain: float
    accuracy_tta: float
    wrong_to_right: int
    right_to_wrong: int
    n: int

    @property
    def change(self) -> float:
        """Accuracy change ``accuracy_tta - accuracy_plain`` (fraction; 0.01 = one point)."""
        return self.accuracy_tta - self.accuracy_plain

    def as_dict(self) -> dict[str, float]:
        return {
            "accuracy_plain": self.accuracy_plain,
            "accuracy_tta": self.accuracy_tta,
            "change": self.change,
            "wrong_to_right": float(self.wrong_to_right),
            "right_to_wrong": float(self.right_to_wrong),
        }


def _labels(pred: torch.Tensor, name: str) -> torch.Tensor:
    check_tensor(pred, name, ndim=(1, 2))
    return pred.argmax(1) if pred.ndim == 2 else pred


def tta_effect(y: torch.Tensor, plain: torch.Tensor, tta: torch.Tensor) -> TTAEffect:
    """Compare plain and TTA predictions with the labels ``y`` ``[N]`` (integers).

    ``plain`` and ``tta`` are predicted labels ``[N]`` or scores ``[N, K]`` (argmax is taken), on any
    device. Returns a ``TTAEffect`` with both accuracies and the two flip counts.
    """
    check_tensor(y, "y", ndim=1)
    if y.is_floating_point():
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    if y.shape[0] == 0:
        raise ValueError("y is empty; expected at least one labelled sample")
    a, b = _labels(plain, "plain").cpu(), _labels(tta, "tta").cpu()
    for name, t in (("plain", a), ("tta", b)):
        if t.shape[0] != y.shape[0]:
            raise ValueError(f"{name} has {t.shape[0]} predictions but y has {y.shape[0]} labels; they must match")
    yc = y.cpu()
    ok_a, ok_b = a == yc, b == yc
    n = int(yc.shape[0])
    return TTAEffect(
        accuracy_plain=float(ok_a.double().mean()),
        accuracy_tta=float(ok_b.double().mean()),
        wrong_to_right=int((~ok_a & ok_b).sum()),
        right_to_wrong=int((ok_a & ~ok_b).sum()),
        n=n,
    )


@dataclass(frozen=True)
class BinnedErrors:
    """Error rate per bin of an uncertainty score: ``edges`` ``[n_bins + 1]``, ``error_rate`` and
    ``count`` ``[n_bins]`` (float64 and int64 tensors on the CPU)."""

    edges: torch.Tensor
    error_rate: torch.Tensor
    count: torch.Tensor


def error_rate_by_bin(score: torch.Tensor, correct: torch.Tensor, *, n_bins: int = 4) -> BinnedErrors:
    """Error rate of predictions grouped by an uncertainty ``score`` (e.g. ``view_disagreement``).

    Args:
        score: ``[N]`` floats, higher = less certain.
        correct: ``[N]`` booleans (prediction right?).
        n_bins: number of bins with (about) equal counts: samples are sorted by score (ties broken
            by index, so the split is deterministic) and cut into ``n_bins`` consecutive groups.

    Returns:
        ``BinnedErrors``: bin ``b`` holds the samples with ranks in its group; ``edges[b]`` and
        ``edges[b + 1]`` are the smallest and largest score in it. A useful score gives an error
        rate that rises from the first bin to the last.
    """
    check_tensor(score, "score", ndim=1, floating=True, finite=True)
    check_tensor(correct, "correct", ndim=1)
    if correct.dtype != torch.bool:
        raise TypeError(f"correct must be a bool tensor, got dtype {correct.dtype}")
    if score.shape != correct.shape:
        raise ValueError(
            f"score has shape {tuple(score.shape)} but correct has {tuple(correct.shape)}; they must match"
        )
    check_int(n_bins, f"n_bins (1..N={score.shape[0]})", low=1, high=score.shape[0])
    s, c = score.detach().cpu().double(), correct.cpu()
    order = torch.sort(s, stable=True).indices
    groups = torch.tensor_split(order, n_bins)
    edges = torch.tensor([float(s[groups[0]].min())] + [float(s[g].max()) for g in groups], dtype=torch.float64)
    err = torch.tensor([float((~c[g]).double().mean()) for g in groups], dtype=torch.float64)
    count = torch.tensor([g.numel() for g in groups], dtype=torch.int64)
    return BinnedErrors(edges, err, count)
