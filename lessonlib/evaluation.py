"""Honest evaluation around augmentation: splits that keep relatives apart, oversampling inside folds.

Augmentation makes relatives: the copies of one image, the beats and windows of one recording, the
SMOTE rows interpolated from two patients. A test score is honest only if no relative of a test
example was seen in training. This module gives notebook 09 the pieces, each checked by a test:

* ``augmented_copies`` — originals plus ``n_copies`` augmented copies, with the index of each row's
  source (its *group*), so a split can keep a source and its copies on one side.
* ``group_split`` / ``split_then_augment`` — split by group first, augment the training side only.
* ``shared_groups`` — how many groups sit on both sides of a split (0 for an honest split).
* ``sliding_windows`` / ``time_block_split`` / ``overlap_fraction`` — windows cut from one record,
  a split by time block with a purge gap, and how many of a test window's samples training saw.
* ``oversample`` / ``cross_validate`` — random duplication or SMOTE, before the split (the leak) or
  inside each training fold (the fix), scored by sensitivity, specificity and ROC AUC.
* ``binary_scores`` — sensitivity, specificity and ROC AUC from labels and scores.

Randomness comes only from an optional ``torch.Generator``; scikit-learn objects that need a seed
get one drawn from it, so a generator state fixes every result. Inputs are never modified.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lessonlib.utils import (
    check_generator,
    check_int,
    check_number,
    check_one_of,
    check_tensor,
    randint,
    randperm,
    uniform,
)

__all__ = [
    "AugmentedSet",
    "augmented_copies",
    "group_split",
    "shared_groups",
    "Split",
    "split_then_augment",
    "sliding_windows",
    "time_block_split",
    "overlap_fraction",
    "OVERSAMPLERS",
    "oversample",
    "binary_scores",
    "cross_validate",
]

Augment = Callable[..., tuple[torch.Tensor, torch.Tensor]]


def _draw_seed(generator: torch.Generator | None) -> int:
    """A seed for a scikit-learn object, drawn from ``generator`` (so the generator fixes the result)."""
    return int(randint(0, 2**31 - 1, (), generator=generator))


def _check_labels(y: object, name: str = "y", n: int | None = None) -> torch.Tensor:
    check_tensor(y, name, ndim=1)
    if y.is_floating_point() or y.is_complex() or y.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer labels, got dtype {y.dtype}")
    if n is not None and y.shape[0] != n:
        raise ValueError(f"{name} must have one entry per row ({n}), got {y.shape[0]}")
    return y


# ----------------------------------------------------------------------------------------------
# Copies, groups and group splits
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AugmentedSet:
    """Rows ``x`` ``[N * (1 + copies), ...]``, labels ``y`` and ``source`` (int64, the original's index).

    Rows ``0..N-1`` are the originals (``source[i] == i``); copy ``c`` of original ``i`` is row
    ``(c + 1) * N + i``.
    """

    x: torch.Tensor
    y: torch.Tensor
    source: torch.Tensor


def augmented_copies(
    x: torch.Tensor,
    y: torch.Tensor,
    augment: Augment,
    n_copies: int,
    *,
    generator: torch.Generator | None = None,
) -> AugmentedSet:
    """The originals followed by ``n_copies`` augmented copies of every one, with each row's source.

    Args:
        x: ``[N, ...]`` examples (any dtype the augmentation takes).
        y: ``[N]`` integer labels.
        augment: ``augment(x, y, generator) -> (x, y)``, the course's adapter convention (e.g.
            ``augment.affine_augment(...)``); called once per copy on the whole batch.
        n_copies: copies per original, ``>= 0``.
        generator: source of randomness for the augmentation.

    Returns:
        ``AugmentedSet`` on ``x``'s device; ``source`` says which original each row came from, which
        is the group to split by.
    """
    check_tensor(x, "x", nonempty=True)
    _check_labels(y, "y", x.shape[0])
    if not callable(augment):
        raise TypeError(f"augment must be a callable augment(x, y, generator), got {type(augment).__name__}")
    n_copies = check_int(n_copies, "n_copies", low=0)
    check_generator(generator)
    xs, ys = [x], [y]
    for _ in range(n_copies):
        xa, ya = augment(x, y, generator)
        if xa.shape != x.shape or ya.shape != y.shape:
            raise ValueError(
                f"augment must keep shapes, got x {tuple(xa.shape)} (expected {tuple(x.shape)}) "
                f"and y {tuple(ya.shape)} (expected {tuple(y.shape)})"
            )
        xs.append(xa)
        ys.append(ya)
    source = torch.arange(x.shape[0], device=x.device).repeat(n_copies + 1)
    return AugmentedSet(torch.cat(xs), torch.cat(ys), source)


def group_split(
    groups: torch.Tensor, test_fraction: float, *, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Split rows so that every group lies entirely on one side (``GroupShuffleSplit`` with a generator).

    The distinct groups are shuffled and the first ``round(test_fraction * n_groups)`` (at least one,
    at most all but one) go to the test side.

    Args:
        groups: ``[N]`` integer group ids (a patient, a record, the source of augmented copies).
        test_fraction: share of the *groups* held out, in (0, 1).
        generator: source of randomness.

    Returns:
        ``(train_idx, test_idx)``, int64 row indices in increasing order, on ``groups``' device;
        together they cover every row once and share no group.
    """
    _check_labels(groups, "groups")
    f = check_number(test_fraction, "test_fraction", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    check_generator(generator)
    uniq, inverse = torch.unique(groups, return_inverse=True)
    n_groups = int(uniq.numel())
    if n_groups < 2:
        raise ValueError(f"groups must hold at least 2 distinct groups to split, got {n_groups}")
    n_test = min(max(int(round(f * n_groups)), 1), n_groups - 1)
    is_test_group = torch.zeros(n_groups, dtype=torch.bool, device=groups.device)
    is_test_group[randperm(n_groups, generator=generator, device=groups.device)[:n_test]] = True
    is_test = is_test_group[inverse]
    return torch.nonzero(~is_test).flatten(), torch.nonzero(is_test).flatten()


def shared_groups(groups: torch.Tensor, train_idx: torch.Tensor, test_idx: torch.Tensor) -> int:
    """How many distinct groups have rows on both sides of a split (0 means no relative crosses it)."""
    _check_labels(groups, "groups")
    _check_labels(train_idx, "train_idx")
    _check_labels(test_idx, "test_idx")
    both = np.intersect1d(groups[train_idx].cpu().numpy(), groups[test_idx].cpu().numpy())
    return int(both.size)


@dataclass(frozen=True)
class Split:
    """A train/test split: augmented training rows, untouched test rows, and the original indices."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    train_idx: torch.Tensor
    test_idx: torch.Tensor


def split_then_augment(
    x: torch.Tensor,
    y: torch.Tensor,
    augment: Augment | None,
    *,
    n_copies: int = 0,
    test_fraction: float = 0.3,
    groups: torch.Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Split:
    """The leakage-safe order: split the originals (by group), then augment the training side only.

    Args:
        x: ``[N, ...]`` original examples; y: ``[N]`` integer labels.
        augment: ``augment(x, y, generator) -> (x, y)`` or None (no copies).
        n_copies: augmented copies per training example (the originals are kept too).
        test_fraction: share of groups held out, in (0, 1).
        groups: ``[N]`` patient/record ids; None means each example is its own group.
        generator: source of randomness for the split and the augmentation.

    Returns:
        ``Split`` whose test rows are originals only and share no group with the training rows.
    """
    check_tensor(x, "x", nonempty=True)
    _check_labels(y, "y", x.shape[0])
    if groups is None:
        groups = torch.arange(x.shape[0], device=x.device)
    _check_labels(groups, "groups", x.shape[0])
    n_copies = check_int(n_copies, "n_copies", low=0)
    if augment is None and n_copies:
        raise ValueError(f"n_copies={n_copies} needs an augment callable, got augment=None")
    train_idx, test_idx = group_split(groups, test_fraction, generator=generator)
    x_tr, y_tr = x[train_idx], y[train_idx]
    if augment is not None and n_copies:
        aug = augmented_copies(x_tr, y_tr, augment, n_copies, generator=generator)
        x_tr, y_tr = aug.x, aug.y
    return Split(x_tr, y_tr, x[test_idx], y[test_idx], train_idx, test_idx)


# ----------------------------------------------------------------------------------------------
# Windows cut from one recording
# ----------------------------------------------------------------------------------------------


def sliding_windows(signal: torch.Tensor, length: int, stride: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Cut ``[C, T]`` (or ``[T]``) into windows of ``length`` samples every ``stride`` samples.

    Returns:
        ``(windows, starts)``: ``windows`` ``[n, C, length]`` (a copy, same dtype and device; ``[n,
        length]`` for a 1-d signal) and ``starts`` int64 ``[n]`` in samples, with
        ``n = (T - length) // stride + 1``. Consecutive windows overlap by ``length - stride`` samples.
    """
    check_tensor(signal, "signal", ndim=(1, 2), nonempty=True)
    t = signal.shape[-1]
    length = check_int(length, "length", low=1, high=t)
    stride = check_int(stride, "stride", low=1)
    windows = signal.unfold(-1, length, stride)  # [C, n, L] or [n, L]
    if signal.ndim == 2:
        windows = windows.transpose(0, 1)
    starts = torch.arange(windows.shape[0], device=signal.device) * stride
    return windows.contiguous().clone(), starts


def time_block_split(
    starts: torch.Tensor, length: int, n_samples: int, n_blocks: int, block: int, *, purge: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hold out one time block of a record: the windows inside it are the test set.

    The record ``[0, n_samples)`` is cut into ``n_blocks`` equal blocks. Test windows lie entirely in
    block ``block``. With ``purge`` (default) every window that overlaps the block is removed from
    training, so no test sample was seen in training; without it, only the test windows are removed
    (the windows straddling the block edge then leak a few samples).

    Returns:
        ``(train_idx, test_idx)``, int64 window indices on ``starts``' device.
    """
    _check_labels(starts, "starts")
    length = check_int(length, "length", low=1)
    n_samples = check_int(n_samples, "n_samples", low=length)
    n_blocks = check_int(n_blocks, "n_blocks", low=2)
    block = check_int(block, "block", low=0, high=n_blocks - 1)
    lo = block * n_samples / n_blocks
    hi = (block + 1) * n_samples / n_blocks
    end = starts + length
    is_test = (starts >= lo) & (end <= hi)
    if not bool(is_test.any()):
        raise ValueError(f"block {block} of {n_blocks} holds no whole window of length {length}; use fewer blocks")
    overlaps = (end > lo) & (starts < hi)
    is_train = ~overlaps if purge else ~is_test
    return torch.nonzero(is_train).flatten(), torch.nonzero(is_test).flatten()


def overlap_fraction(test_starts: torch.Tensor, train_starts: torch.Tensor, length: int) -> torch.Tensor:
    """For each test window, the share of its samples that lie inside at least one training window.

    Returns:
        float64 ``[n_test]`` in [0, 1]: 1 means training saw every sample of that window.
    """
    _check_labels(test_starts, "test_starts")
    _check_labels(train_starts, "train_starts")
    length = check_int(length, "length", low=1)
    for name, st in (("test_starts", test_starts), ("train_starts", train_starts)):
        if st.numel() and int(st.min()) < 0:
            raise ValueError(f"{name} must be window starts >= 0 (in samples), got a minimum of {int(st.min())}")
    n = int(
        max(
            int(test_starts.max()) if test_starts.numel() else 0, int(train_starts.max()) if train_starts.numel() else 0
        )
    )
    seen = torch.zeros(n + length + 1, dtype=torch.int64, device=test_starts.device)
    if train_starts.numel():  # coverage by a difference array: +1 at each start, -1 after each end
        ones = torch.ones_like(train_starts)
        seen.index_add_(0, train_starts, ones)
        seen.index_add_(0, train_starts + length, -ones)
    covered = (seen.cumsum(0) > 0).double()[: n + length]
    offsets = test_starts[:, None] + torch.arange(length, device=test_starts.device)
    return covered[offsets].mean(1)


# ----------------------------------------------------------------------------------------------
# Oversampling and cross-validation
# ----------------------------------------------------------------------------------------------

OVERSAMPLERS = ("duplicate", "smote")


def oversample(
    x: torch.Tensor,
    y: torch.Tensor,
    method: str = "duplicate",
    *,
    k_neighbors: int = 5,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Add minority rows until every class has as many rows as the largest one.

    ``"duplicate"`` repeats randomly drawn minority rows (random oversampling). ``"smote"`` adds
    interpolations ``x_i + u (x_j - x_i)``, ``u ~ U(0, 1)``, between a random minority row ``x_i`` and
    one of its ``k_neighbors`` nearest minority neighbours ``x_j`` (Chawla et al. 2002; neighbours by
    scikit-learn's ``NearestNeighbors``, Euclidean, in the units given: scale features first).

    Args:
        x: ``[N, F]`` float rows; y: ``[N]`` integer labels.
        method: one of ``OVERSAMPLERS``.
        k_neighbors: neighbours for SMOTE (capped at the class size minus one).
        generator: source of randomness.

    Returns:
        ``(x_new, y_new)``: the original rows first (unchanged, in order), then the added ones.
    """
    from sklearn.neighbors import NearestNeighbors

    check_tensor(x, "x", ndim=2, floating=True, finite=True, nonempty=True)
    _check_labels(y, "y", x.shape[0])
    check_one_of(method, "method", OVERSAMPLERS)
    k_neighbors = check_int(k_neighbors, "k_neighbors", low=1)
    check_generator(generator)
    classes, counts = torch.unique(y, return_counts=True)
    target = int(counts.max())
    new_x, new_y = [x], [y]
    for c, n_c in zip(classes.tolist(), counts.tolist(), strict=True):  # a loop over classes, not rows
        need = target - n_c
        if need == 0:
            continue
        members = torch.nonzero(y == c).flatten()
        base = members[randint(0, n_c, need, generator=generator, device=x.device)]
        if method == "duplicate" or n_c == 1:
            added = x[base]
        else:
            k = min(k_neighbors, n_c - 1)
            xc = x[members].detach().cpu().double().numpy()
            nbrs = NearestNeighbors(n_neighbors=k + 1).fit(xc).kneighbors(xc, return_distance=False)[:, 1:]
            nbrs = torch.as_tensor(nbrs, device=x.device)  # [n_c, k] positions within the class
            pos = torch.searchsorted(members, base)
            partner = members[nbrs[pos, randint(0, k, need, generator=generator, device=x.device)]]
            u = uniform((need, 1), generator=generator, device=x.device, dtype=x.dtype)
            added = x[base] + u * (x[partner] - x[base])
        new_x.append(added)
        new_y.append(torch.full((need,), c, dtype=y.dtype, device=y.device))
    return torch.cat(new_x), torch.cat(new_y)


def binary_scores(y: torch.Tensor, score: torch.Tensor, *, threshold: float = 0.5) -> dict[str, float]:
    """Sensitivity, specificity (at ``score >= threshold``) and ROC AUC for a binary task (1 = positive).

    Returns:
        ``{"sensitivity", "specificity", "auc"}`` as floats (AUC from scikit-learn's
        ``roc_auc_score``; ties count one half).
    """
    from sklearn.metrics import roc_auc_score

    _check_labels(y, "y")
    check_tensor(score, "score", ndim=1, finite=True)
    if score.shape[0] != y.shape[0]:
        raise ValueError(f"score must have one entry per label ({y.shape[0]}), got {score.shape[0]}")
    t = check_number(threshold, "threshold")
    yy = y.cpu().numpy()
    if set(np.unique(yy).tolist()) != {0, 1}:
        raise ValueError(f"y must contain both classes 0 and 1, got {sorted(set(np.unique(yy).tolist()))}")
    s = score.detach().cpu().double().numpy()
    pred = s >= t
    return {
        "sensitivity": float(pred[yy == 1].mean()),
        "specificity": float((~pred[yy == 0]).mean()),
        "auc": float(roc_auc_score(yy, s)),
    }


def cross_validate(
    make_model: Callable[[], object],
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    oversampling: str | None = None,
    where: str = "inside",
    n_folds: int = 5,
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """Stratified k-fold cross-validation of a scikit-learn classifier, with optional oversampling.

    ``where="inside"`` oversamples each training fold only (the honest order: test folds hold real
    rows only). ``where="before"`` oversamples the whole table first and then splits it (the leak:
    copies or interpolations of one patient land in both a training and a test fold).

    Args:
        make_model: returns a fresh, unfitted classifier with ``fit`` and ``predict_proba``.
        x: ``[N, F]`` float rows; y: ``[N]`` labels 0/1 (1 = positive, usually the rare class).
        oversampling: None or one of ``OVERSAMPLERS``.
        where: ``"inside"`` or ``"before"``.
        n_folds: folds, ``>= 2``.
        generator: source of randomness (fold assignment and oversampling).

    Returns:
        Mean over folds of ``binary_scores`` (sensitivity, specificity, AUC at threshold 0.5).
    """
    from sklearn.model_selection import StratifiedKFold

    check_tensor(x, "x", ndim=2, floating=True, finite=True, nonempty=True)
    _check_labels(y, "y", x.shape[0])
    if not callable(make_model):
        raise TypeError(f"make_model must be a callable returning a classifier, got {type(make_model).__name__}")
    if oversampling is not None:
        check_one_of(oversampling, "oversampling", OVERSAMPLERS)
    check_one_of(where, "where", ("inside", "before"))
    n_folds = check_int(n_folds, "n_folds", low=2)
    check_generator(generator)
    if oversampling is not None and where == "before":
        x, y = oversample(x, y, oversampling, generator=generator)
    folds = StratifiedKFold(n_folds, shuffle=True, random_state=_draw_seed(generator))
    xn, yn = x.detach().cpu().double(), y.cpu()
    rows = []
    for tr, te in folds.split(xn.numpy(), yn.numpy()):
        x_tr, y_tr = xn[tr], yn[tr]
        if oversampling is not None and where == "inside":
            x_tr, y_tr = oversample(x_tr, y_tr, oversampling, generator=generator)
        model = make_model()
        model.fit(x_tr.numpy(), y_tr.numpy())
        score = torch.as_tensor(model.predict_proba(xn[te].numpy())[:, 1])
        rows.append(binary_scores(yn[te], score))
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
