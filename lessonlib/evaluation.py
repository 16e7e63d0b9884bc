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


def _describe_output(out: object) -> str:
    """What a callable returned, in a few words (for a TypeError naming the callable)."""
    if isinstance(out, tuple):
        return f"a tuple of {len(out)} ({', '.join(type(o).__name__ for o in out[:3])})"
    return type(out).__name__


def _check_indices(idx: object, name: str, n: int) -> torch.Tensor:
    """Integer row indices ``[M]`` into ``n`` rows: each in ``0..n-1`` (a negative index is refused, not wrapped)."""
    _check_labels(idx, name)
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise ValueError(f"{name} must hold row indices in 0..{n - 1}, got {int(idx.min())}..{int(idx.max())}")
    return idx


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
            ``augment.affine_augment(...)``); called once per copy on the whole batch; it must return a
            pair of tensors of the shapes it was given (else a TypeError/ValueError naming ``augment``).
        n_copies: copies per original, ``>= 0``.
        generator: source of randomness for the augmentation.

    Returns:
        ``AugmentedSet`` on ``x``'s device; ``source`` says which original each row came from, which
        is the group to split by.
    """
    check_tensor(x, "x", finite=True, nonempty=True)
    _check_labels(y, "y", x.shape[0])
    if not callable(augment):
        raise TypeError(f"augment must be a callable augment(x, y, generator), got {type(augment).__name__}")
    n_copies = check_int(n_copies, "n_copies", low=0)
    check_generator(generator)
    xs, ys = [x], [y]
    for _ in range(n_copies):
        out = augment(x, y, generator)
        if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
            raise TypeError(f"augment must return a pair (x, y) of tensors, got {_describe_output(out)}")
        xa, ya = out
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
    """How many distinct groups have rows on both sides of a split (0 means no relative crosses it).

    Args:
        groups: ``[N]`` integer group ids, at least one row.
        train_idx, test_idx: integer row indices ``[M]`` in ``0..N-1`` (a negative index is refused,
            never read from the end); either may be empty (a side with no rows shares no group).

    Raises:
        TypeError / ValueError naming ``groups``, ``train_idx`` or ``test_idx``.
    """
    _check_labels(groups, "groups")
    check_tensor(groups, "groups", nonempty=True)
    _check_indices(train_idx, "train_idx", groups.shape[0])
    _check_indices(test_idx, "test_idx", groups.shape[0])
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
    check_tensor(x, "x", finite=True, nonempty=True)
    _check_labels(y, "y", x.shape[0])
    if augment is not None and not callable(augment):
        raise TypeError(f"augment must be None or a callable augment(x, y, generator), got {type(augment).__name__}")
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
    check_tensor(signal, "signal", ndim=(1, 2), finite=True, nonempty=True)
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

    Args:
        starts: ``[n]`` integer window starts (in samples, as ``sliding_windows`` returns them), at least
            one; every window ``[start, start + length)`` must lie inside the record, so each start is
            in ``0..n_samples - length``.
        length: window length in samples, ``>= 1``; n_samples: the record's length, ``>= length``.
        n_blocks: blocks, ``>= 2``; block: the held-out block, ``0..n_blocks - 1``.

    Returns:
        ``(train_idx, test_idx)``, int64 window indices on ``starts``' device.

    Raises:
        TypeError / ValueError naming the parameter; ValueError when the block holds no whole window.
    """
    _check_labels(starts, "starts")
    check_tensor(starts, "starts", nonempty=True)
    length = check_int(length, "length", low=1)
    n_samples = check_int(n_samples, "n_samples", low=length)
    lo_s, hi_s = int(starts.min()), int(starts.max())
    if lo_s < 0 or hi_s > n_samples - length:
        raise ValueError(
            f"starts must lie in 0..{n_samples - length} (a window of length {length} inside a record of "
            f"n_samples={n_samples}), got {lo_s}..{hi_s}"
        )
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

    Args:
        test_starts: ``[n_test]`` integer starts (>= 0) of the test windows, at least one.
        train_starts: ``[n_train]`` integer starts (>= 0) of the training windows; may be empty (then
            every share is 0).
        length: window length in samples, ``>= 1``.

    Returns:
        float64 ``[n_test]`` in [0, 1]: 1 means training saw every sample of that window.
    """
    _check_labels(test_starts, "test_starts")
    check_tensor(test_starts, "test_starts", nonempty=True)
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
    check_tensor(y, "y", nonempty=True)
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
        make_model: returns a fresh, unfitted classifier with ``fit`` and ``predict_proba`` (whose
            output is ``[n, 2]``: column 1 the positive class).
        x: ``[N, F]`` float rows; y: ``[N]`` labels 0/1 (1 = positive, usually the rare class), both
            present.
        oversampling: None or one of ``OVERSAMPLERS``.
        where: ``"inside"`` or ``"before"``.
        n_folds: folds, ``>= 2`` and at most the rows of the smaller class (of the table that is split:
            after oversampling when ``where="before"``), so every test fold holds both classes.
        generator: source of randomness (fold assignment and oversampling).

    Returns:
        Mean over folds of ``binary_scores`` (sensitivity, specificity, AUC at threshold 0.5).

    Raises:
        TypeError / ValueError naming the parameter (``make_model`` when what it returns has no
        ``fit``/``predict_proba`` or gives no ``[n, 2]`` probabilities).
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
    counts = torch.bincount(y.cpu(), minlength=2) if int(y.min()) >= 0 else None
    if counts is None or counts.numel() != 2 or int(counts.min()) == 0:
        raise ValueError(f"y must hold the labels 0 and 1, both present, got {sorted(set(y.tolist()))[:10]}")
    split_rows = int(counts.max()) if oversampling is not None and where == "before" else int(counts.min())
    if n_folds > split_rows:
        raise ValueError(
            f"n_folds={n_folds} is more than the {split_rows} rows of the smaller class in y; stratified folds "
            f"need at least one row of each class per fold: use n_folds <= {split_rows}"
        )
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
        if not (callable(getattr(model, "fit", None)) and callable(getattr(model, "predict_proba", None))):
            raise TypeError(
                f"make_model must return a classifier with fit and predict_proba, got {_describe_output(model)}"
            )
        model.fit(x_tr.numpy(), y_tr.numpy())
        proba = np.asarray(model.predict_proba(xn[te].numpy()))
        if proba.shape != (len(te), 2):
            raise ValueError(
                f"make_model's classifier must give predict_proba of shape ({len(te)}, 2), got {proba.shape}"
            )
        score = torch.as_tensor(proba[:, 1], dtype=torch.float64)
        rows.append(binary_scores(yn[te], score))
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
