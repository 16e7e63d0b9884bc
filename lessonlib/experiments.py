"""Experiments over several seeds: repetition with mean and spread, threads on a CPU, learning curves.

* ``map_seeds(experiment, seeds)`` runs ``experiment(seed)`` for each seed and returns the results in
  order; on a CPU several seeds train at once in threads (one core each), which is what keeps the
  notebooks within a minute on two cores; results are identical to running the seeds one by one.
* ``map_runs(experiment, runs)`` is the same over any runs, e.g. ``(seed, setting)`` pairs.
* ``repeat_over_seeds`` collects the metrics into a ``SeedSummary`` (mean ± sample std).
* ``paired_comparison`` / ``compare_settings``: the course's one rule for "real or within noise" (a
  paired Student-t interval over seeds, Bonferroni-corrected for the number of comparisons).
* ``stratified_subset`` draws class-balanced training subsets; ``learning_curve`` trains every
  augmentation setting on the same subsets and initial weights (paired comparisons).

Imports ``utils``, ``models`` and ``training``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from lessonlib.models import make_model
from lessonlib.training import Augment, check_labelled, evaluate, fit
from lessonlib.utils import (
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_seed,
    check_tensor,
    make_generator,
    progress_bar,
    randperm,
)
from lessonlib.utils import device as default_device

__all__ = [
    "map_seeds",
    "map_runs",
    "repeat_over_seeds",
    "parallel_workers",
    "SeedSummary",
    "stratified_subset",
    "LearningCurve",
    "learning_curve",
    "PairedComparison",
    "paired_comparison",
    "compare_settings",
]

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class SeedSummary:
    """Per-seed values of each metric, with mean and sample standard deviation."""

    seeds: tuple[int, ...]
    values: Mapping[str, np.ndarray]

    def mean(self, metric: str) -> float:
        return float(np.mean(self._get(metric)))

    def std(self, metric: str) -> float:
        v = self._get(metric)
        return float(np.std(v, ddof=1)) if v.size > 1 else 0.0

    def _get(self, metric: str) -> np.ndarray:
        if metric not in self.values:
            raise KeyError(f"metric {metric!r} not recorded; have {sorted(self.values)}")
        return self.values[metric]

    def format(self, metric: str, digits: int = 3) -> str:
        """E.g. ``'0.912 ± 0.010 (n=5)'``: mean ± sample std over seeds."""
        return f"{self.mean(metric):.{digits}f} ± {self.std(metric):.{digits}f} (n={len(self.seeds)})"


def _seed_list(seeds: object) -> tuple[int, ...]:
    """``seeds`` as a tuple: a count n means seeds ``0..n-1``; a sequence is checked seed by seed."""
    if isinstance(seeds, (str, bytes)):
        raise TypeError(f"seeds must be a count or a sequence of integer seeds, got {type(seeds).__name__} {seeds!r}")
    try:
        return tuple(range(check_int(seeds, "seeds", low=1)))
    except TypeError:
        pass
    try:
        items = list(seeds)  # type: ignore[call-overload]
    except TypeError:
        raise TypeError(f"seeds must be a count or a sequence of integer seeds, got {type(seeds).__name__}") from None
    if not items:
        raise ValueError("seeds is empty; expected at least one seed")
    return tuple(check_seed(s, f"seeds[{i}]") for i, s in enumerate(items))


def parallel_workers(n_tasks: int, device: torch.device | str | None = None) -> int:
    """How many experiments ``map_seeds`` runs at once: 1 on a GPU, else one per usable CPU core
    (at most ``n_tasks`` and 8).

    On a CPU the course's models are so small that one core per model is the fastest layout: two
    models trained side by side on two cores take about 1.5x less time than one after the other,
    while giving one model both cores helps little (per-operation overhead dominates).
    """
    check_int(n_tasks, "n_tasks", low=1)
    dev = torch.device(device) if device is not None else default_device()
    if dev.type != "cpu":
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(n_tasks, cores, 8))


@contextlib.contextmanager
def _one_thread_per_task(device: torch.device) -> Iterator[None]:
    """On a CPU, give every task one intra-op thread (restored after), however many tasks run at
    once, so the results do not depend on how many share the cores."""
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def map_runs(
    experiment: Callable[[R], T],
    runs: Sequence[R],
    *,
    workers: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    desc: str = "runs",
) -> list[T]:
    """``[experiment(r) for r in runs]``, with several runs at once on a CPU; ``runs`` may hold anything.

    The general form of ``map_seeds``: a run is whatever ``experiment`` takes, e.g. a
    ``(seed, setting)`` pair, so a grid of seeds x settings keeps both cores busy to the end (five
    seeds on two cores leave one idle for the fifth; forty (seed, setting) runs do not). Runs start
    in the order given, so list the slowest first. Each must be self-contained (see ``map_seeds``);
    the results are then identical to a plain loop, in the order of ``runs``.

    Args:
        experiment: ``run -> result``.
        runs: a non-empty sequence (not a string).
        workers, device, progress, desc: as in ``map_seeds``.
    """
    if not callable(experiment):
        raise TypeError(f"experiment must be callable run -> result, got {type(experiment).__name__}")
    if isinstance(runs, (str, bytes)) or not isinstance(runs, Sequence):
        raise TypeError(f"runs must be a sequence (a list of runs), got {type(runs).__name__}")
    if len(runs) == 0:
        raise ValueError("runs is empty; expected at least one run")
    dev = torch.device(device) if device is not None else default_device()
    if workers is None:
        workers = parallel_workers(len(runs), dev)
    workers = check_int(workers, "workers", low=1)
    bar = progress_bar(total=len(runs), desc=desc, enabled=progress)

    def run(item: R) -> T:
        result = experiment(item)
        bar.update(1)
        return result

    try:
        with _one_thread_per_task(dev):
            if workers == 1:
                return [run(r) for r in runs]
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lessonlib-run") as pool:
                return list(pool.map(run, runs))
    finally:
        bar.close()


def map_seeds(
    experiment: Callable[[int], T],
    seeds: Sequence[int] | int = 5,
    *,
    workers: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    desc: str = "seeds",
) -> list[T]:
    """``[experiment(s) for s in seeds]``, with several seeds running at once on a CPU.

    Each experiment must be self-contained, as every experiment in this course is: randomness from
    its own ``torch.Generator`` or inside ``lessonlib.seeded`` (which is thread-safe), no shared
    mutable state. Then the results are identical to a plain loop; only the time changes.

    Args:
        experiment: ``seed -> result``.
        seeds: a list of seeds, or an int n meaning seeds ``0..n-1``.
        workers: experiments at once; default ``parallel_workers(len(seeds), device)`` (1 on a GPU).
        device: where the experiments train; default ``lessonlib.device()``. On a CPU each experiment
            runs with one intra-op thread (``torch.set_num_threads(1)`` for the call, restored after).
        progress: a ``tqdm`` bar over finished seeds.

    Returns:
        The results, in the order of ``seeds``. An exception in any experiment is raised here.
    """
    if not callable(experiment):
        raise TypeError(f"experiment must be callable seed -> result, got {type(experiment).__name__}")
    return map_runs(experiment, _seed_list(seeds), workers=workers, device=device, progress=progress, desc=desc)


def repeat_over_seeds(
    experiment: Callable[[int], Mapping[str, float] | float],
    seeds: Sequence[int] | int = 5,
    *,
    workers: int | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
    desc: str = "seeds",
) -> SeedSummary:
    """Run ``experiment(seed)`` for each seed and collect its metrics (mean and spread).

    Args:
        experiment: returns a float or a ``{metric: float}`` dict (a float is stored as ``"value"``);
            self-contained as ``map_seeds`` requires, since seeds may run at once on a CPU.
        seeds: a list of seeds, or an int n meaning seeds ``0..n-1``.
        workers, device: as in ``map_seeds``.
        progress: show a ``tqdm`` bar.

    Raises:
        TypeError: ``experiment`` not callable, or returning anything but a real number or a mapping
            of metric names to real numbers (the message names the seed and what came).
        ValueError: different seeds returned different metrics.
    """
    seeds = _seed_list(seeds)
    results = map_seeds(experiment, seeds, workers=workers, device=device, progress=progress, desc=desc)
    rows = [_metrics_row(r, seed) for r, seed in zip(results, seeds, strict=True)]
    keys = rows[0].keys()
    for r in rows:
        if r.keys() != keys:
            raise ValueError(
                f"experiment returned different metrics for different seeds: {sorted(r)} vs {sorted(keys)}"
            )
    values = {k: np.asarray([float(r[k]) for r in rows]) for k in keys}
    return SeedSummary(seeds, values)


def _metrics_row(result: object, seed: int) -> dict[str, float]:
    """One experiment's result as ``{metric: float}``, or a TypeError naming ``experiment`` and the seed."""
    if isinstance(result, Mapping):
        row = dict(result)
    else:
        row = {"value": result}
    for k, v in row.items():
        if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            raise TypeError(
                f"experiment must return a float or a {{metric: float}} dict; for seed {seed} it returned "
                f"{type(result).__name__} with {k!r}: {type(v).__name__}"
            )
    return {k: float(v) for k, v in row.items()}


def stratified_subset(y: torch.Tensor, n: int, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices ``[n]`` (int64, on ``y``'s device) of a class-balanced random subset of labels ``y`` ``[N]``.

    Each of the K classes present gets ``n // K`` examples; the ``n % K`` left over go to distinct
    classes drawn at random. Within a class the examples are drawn without replacement. Guarantees:
    no index repeats; per-class counts differ by at most one; same generator state → same subset.

    Raises:
        ValueError: if ``n`` is not in ``[K, N]`` or a class has fewer than its share of examples.
    """
    check_tensor(y, "y", ndim=1, nonempty=True)
    if y.is_floating_point() or y.dtype == torch.bool:
        raise TypeError(f"y must hold integer class labels, got dtype {y.dtype}")
    check_generator(generator)
    classes = torch.unique(y.cpu())
    k = int(classes.numel())
    n = check_int(n, "n")
    if not k <= n <= y.shape[0]:
        raise ValueError(f"n must be an int between the number of classes ({k}) and len(y) ({y.shape[0]}), got {n!r}")
    extra = set(randperm(k, generator=generator)[: n % k].tolist())
    yc = y.cpu()
    picked = []
    for i, c in enumerate(classes.tolist()):  # a loop over classes, not samples
        members = torch.nonzero(yc == c).flatten()
        share = n // k + (1 if i in extra else 0)
        if members.numel() < share:
            raise ValueError(f"class {c} has {members.numel()} examples but needs {share} for n={n}")
        picked.append(members[randperm(members.numel(), generator=generator)[:share]])
    idx = torch.cat(picked)
    return idx[randperm(idx.numel(), generator=generator)].to(y.device)


@dataclass(frozen=True)
class LearningCurve:
    """Test accuracy per (setting, seed, size): ``accuracy[name]`` is ``[n_seeds, n_sizes]``.

    ``models[name]`` keeps the models trained at the largest size (one per seed) when requested.
    """

    sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    accuracy: Mapping[str, np.ndarray]
    models: Mapping[str, list[nn.Module]]

    def gain(self, name: str, baseline: str) -> np.ndarray:
        """Per-seed accuracy gain of ``name`` over ``baseline`` (paired by seed), ``[n_seeds, n_sizes]``."""
        for k in (name, baseline):
            if k not in self.accuracy:
                raise KeyError(f"setting {k!r} not in the curve; have {sorted(self.accuracy)}")
        return self.accuracy[name] - self.accuracy[baseline]


def learning_curve(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    sizes: Sequence[int],
    settings: Mapping[str, Augment | None],
    seeds: Sequence[int] | int = 5,
    steps: int = 300,
    batch_size: int = 32,
    lr: float = 3e-3,
    model_kind: str = "cnn2d",
    model_kwargs: Mapping[str, object] | None = None,
    keep_models: bool = False,
    device: torch.device | str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> LearningCurve:
    """Test accuracy vs training-set size for several augmentation settings, over several seeds.

    For every seed and size, one class-balanced subset of the training set is drawn (the *same*
    subset and the same initial weights for every setting, so differences between settings are
    paired), and each setting trains a fresh model for exactly ``steps`` optimiser steps with a
    cosine learning-rate schedule (equal compute for every size). Cost: ``len(seeds) · len(sizes) ·
    len(settings)`` fits.

    Args:
        x_train, y_train: the pool to draw subsets from, ``[N, ...]`` and ``[N]``.
        x_test, y_test: the fixed evaluation set.
        sizes: total training-set sizes, increasing.
        settings: ``{name: augment or None}``.
        seeds: a list of seeds or a count n (seeds 0..n-1).
        keep_models: keep the models trained at the largest size, for later analysis.
        device, workers: as in ``map_seeds`` (on a CPU several (seed, size) runs train at once;
            the numbers are the same as one after another).
    """
    check_labelled(x_train, y_train, "x_train", "y_train")
    check_labelled(x_test, y_test, "x_test", "y_test")
    check_bool(keep_models, "keep_models")
    if isinstance(sizes, (str, bytes)) or not isinstance(sizes, Sequence):
        raise TypeError(f"sizes must be a sequence of training-set sizes, got {type(sizes).__name__}")
    sizes = tuple(check_int(s, f"sizes[{i}]", low=1) for i, s in enumerate(sizes))
    if not sizes or list(sizes) != sorted(set(sizes)):
        raise ValueError(f"sizes must be a non-empty strictly increasing sequence, got {sizes!r}")
    if not isinstance(settings, Mapping):
        raise TypeError(f"settings must be a mapping {{name: augment or None}}, got {type(settings).__name__}")
    if not settings:
        raise ValueError("settings is empty; expected e.g. {'none': None, 'affine': augment.affine_augment()}")
    for name, aug in settings.items():
        if aug is not None and not callable(aug):
            raise TypeError(
                f"settings[{name!r}] must be an augment(x, y, generator) -> (x, y) or None, got {type(aug).__name__}"
            )
    if model_kwargs is not None and not isinstance(model_kwargs, Mapping):
        raise TypeError(f"model_kwargs must be a mapping of make_model options, got {type(model_kwargs).__name__}")
    try:  # a bad model_kind or option fails now, named, rather than inside a worker thread
        make_model(model_kind, 0, **dict(model_kwargs or {}))
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"model_kind={model_kind!r} with model_kwargs={dict(model_kwargs or {})!r} builds no model: {exc}"
        ) from exc
    seeds = _seed_list(seeds)
    runs = [(seed, n) for seed in seeds for n in sizes]

    def run(k: int) -> dict[str, tuple[float, nn.Module]]:
        seed, n = runs[k]
        idx = stratified_subset(y_train, n, generator=make_generator(seed))
        xs, ys = x_train[idx.to(x_train.device)], y_train[idx.to(y_train.device)]
        out = {}
        for name, aug in settings.items():
            model = make_model(model_kind, seed, **dict(model_kwargs or {}))
            fit(
                model,
                xs,
                ys,
                steps=steps,
                batch_size=batch_size,
                lr=lr,
                augment=aug,
                seed=seed,
                schedule="cosine",
                device=device,
                progress=False,
            )
            out[name] = (evaluate(model, x_test, y_test).accuracy, model)
        return out

    # every (seed, size) run is self-contained, so map_seeds may train several at once on a CPU
    results = map_seeds(run, range(len(runs)), workers=workers, device=device, progress=progress, desc="learning curve")
    acc = {name: np.zeros((len(seeds), len(sizes))) for name in settings}
    models: dict[str, list[nn.Module]] = {name: [] for name in settings} if keep_models else {}
    for k, res in enumerate(results):
        i, j = divmod(k, len(sizes))
        for name, (accuracy, model) in res.items():
            acc[name][i, j] = accuracy
            if keep_models and j == len(sizes) - 1:
                models[name].append(model)
    return LearningCurve(sizes, seeds, acc, models)


# ----------------------------------------------------------------------------------------------
# Paired comparisons: the one rule every notebook uses to call a difference real or within noise
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedComparison:
    """A paired difference ``treatment − baseline`` over seeds, with its interval and verdict.

    The rule (taught in notebook 01, used wherever the course compares settings): the mean of the
    per-seed differences, their sample standard deviation, and a two-sided Student-t interval for the
    mean at family-wise confidence ``level`` over ``n_comparisons`` comparisons (Bonferroni: each
    interval at ``1 − (1 − level) / n_comparisons``). A difference is *real* (``verdict`` "higher" or
    "lower") only when that interval excludes 0; otherwise it is "within noise".

    Attributes:
        name: what was compared, e.g. ``"TrivialAugment − none"``.
        differences: per-seed differences ``[n_seeds]`` (float64), in the metric's own unit.
        seeds: the seeds, in the order of ``differences``.
        n_comparisons: how many comparisons the cell made (the Bonferroni factor).
        level: family-wise confidence (e.g. 0.95).
        low, high: the interval for the mean difference.
    """

    name: str
    differences: np.ndarray
    seeds: tuple[int, ...]
    n_comparisons: int
    level: float
    low: float
    high: float

    @property
    def mean(self) -> float:
        return float(self.differences.mean())

    @property
    def std(self) -> float:
        return float(self.differences.std(ddof=1))

    @property
    def n_better(self) -> int:
        """Seeds on which the difference is positive."""
        return int((self.differences > 0).sum())

    @property
    def verdict(self) -> str:
        """``"higher"``, ``"lower"`` or ``"within noise"`` (the interval contains 0)."""
        if self.low > 0:
            return "higher"
        if self.high < 0:
            return "lower"
        return "within noise"

    def format(self, digits: int = 3, scale: float = 1.0) -> str:
        """E.g. ``'TrivialAugment − none: +0.048 ± 0.019 (5 seeds, 5/5 positive; 95 % interval +0.021 to
        +0.075 over 6 comparisons): higher'``; ``scale=100`` prints fractions as points."""
        f = lambda v: f"{v * scale:+.{digits}f}"  # noqa: E731
        head = f"{self.name}: " if self.name else ""
        over = f" over {self.n_comparisons} comparisons" if self.n_comparisons > 1 else ""
        return (
            f"{head}{f(self.mean)} ± {self.std * scale:.{digits}f} ({len(self.seeds)} seeds, "
            f"{self.n_better}/{len(self.seeds)} positive; {self.level * 100:g} % interval {f(self.low)} to "
            f"{f(self.high)}{over}): {self.verdict}"
        )

    def __str__(self) -> str:
        return self.format()


def _per_seed(values: object, name: str) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().double().numpy()
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers, one per seed, got {type(values).__name__}") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one value per seed), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr.tolist()}")
    return arr


def paired_comparison(
    treatment: Sequence[float] | np.ndarray | torch.Tensor,
    baseline: Sequence[float] | np.ndarray | torch.Tensor,
    *,
    seeds: Sequence[int] | None = None,
    n_comparisons: int = 1,
    level: float = 0.95,
    name: str = "",
) -> PairedComparison:
    """Compare two settings run on the same seeds: ``treatment[i] − baseline[i]`` per seed.

    Args:
        treatment, baseline: one value per seed ``[n]`` (n >= 2), the same seeds in the same order
            (same subsets and initial weights: that is what makes the comparison paired).
        seeds: the seeds, for the record (default ``0..n-1``).
        n_comparisons: how many comparisons the cell or table makes (>= 1); each interval is widened
            so that all of them hold together at ``level`` (Bonferroni).
        level: family-wise confidence in (0, 1).
        name: a label for ``format``.

    Returns:
        ``PairedComparison`` (mean, std, interval, verdict; ``format`` prints the course's sentence).
        The interval equals ``scipy.stats.ttest_rel(treatment, baseline).confidence_interval(1 −
        (1 − level) / n_comparisons)`` (tested).

    Raises:
        TypeError/ValueError: not numbers, not 1-D, lengths differ, fewer than 2 seeds, non-finite
            values, ``n_comparisons`` < 1, ``level`` outside (0, 1).
    """
    from scipy import stats

    a, b = _per_seed(treatment, "treatment"), _per_seed(baseline, "baseline")
    if a.shape != b.shape:
        raise ValueError(f"treatment and baseline must have one value per seed each, got {a.size} and {b.size}")
    if a.size < 2:
        raise ValueError(f"a paired comparison needs at least 2 seeds, got {a.size}")
    n_comparisons = check_int(n_comparisons, "n_comparisons", low=1)
    level = check_number(level, "level", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    seed_list = tuple(range(a.size)) if seeds is None else tuple(check_seed(s, "seeds") for s in seeds)
    if len(seed_list) != a.size:
        raise ValueError(f"seeds must name one seed per value ({a.size}), got {len(seed_list)}")
    d = a - b
    alpha = (1.0 - level) / n_comparisons
    half = float(stats.t.ppf(1.0 - alpha / 2.0, d.size - 1)) * float(d.std(ddof=1)) / np.sqrt(d.size)
    return PairedComparison(name, d, seed_list, n_comparisons, level, float(d.mean() - half), float(d.mean() + half))


def compare_settings(
    results: Mapping[str, Sequence[float] | np.ndarray | torch.Tensor],
    baseline: str,
    *,
    seeds: Sequence[int] | None = None,
    level: float = 0.95,
) -> dict[str, PairedComparison]:
    """Every setting of ``results`` against ``baseline``, paired by seed, corrected for their number.

    Args:
        results: ``{setting: per-seed values [n]}``, all on the same seeds in the same order.
        baseline: the key of the setting the others are compared with.
        seeds, level: as ``paired_comparison``; ``n_comparisons`` is the number of other settings.

    Returns:
        ``{setting: PairedComparison(setting − baseline)}`` for every setting but the baseline, in order.
    """
    if not isinstance(results, Mapping) or not results:
        raise TypeError(f"results must be a non-empty mapping setting -> per-seed values, got {type(results).__name__}")
    if baseline not in results:
        raise ValueError(f"baseline must be one of the settings {list(results)}, got {baseline!r}")
    others = [k for k in results if k != baseline]
    if not others:
        raise ValueError("results holds only the baseline; expected at least one other setting to compare")
    return {
        k: paired_comparison(
            results[k], results[baseline], seeds=seeds, n_comparisons=len(others), level=level, name=f"{k} − {baseline}"
        )
        for k in others
    }
