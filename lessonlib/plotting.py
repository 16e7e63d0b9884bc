"""Figures used across the course: image grids, the 12-lead ECG on paper, mean ± spread curves, reliability diagrams.

Every function draws with matplotlib, returns the ``Figure`` (so notebooks can save or tweak it) and
never modifies its inputs. Tensors may live on any device; they are copied to the CPU for drawing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure

from lessonlib.metrics import reliability_bins
from lessonlib.utils import check_int, check_positive

__all__ = [
    "to_display",
    "show_images",
    "plot_ecg_12lead",
    "plot_ecg_strip",
    "plot_mean_spread",
    "plot_reliability_diagram",
    "ECG_PAPER_SPEED_MM_S",
    "ECG_GAIN_MM_MV",
]

ECG_PAPER_SPEED_MM_S = 25.0  # standard paper speed
ECG_GAIN_MM_MV = 10.0  # standard gain


def to_display(img: torch.Tensor | np.ndarray) -> np.ndarray:
    """Convert an image to a numpy array matplotlib can show.

    Accepts ``[C, H, W]`` or ``[H, W]`` tensors (uint8, uint16, bool, or float in [0, 1]); returns
    ``[H, W]`` (one channel) or ``[H, W, 3]`` float in [0, 1]. Float images outside [0, 1] (e.g.
    normalised) are min-max rescaled for display only. The result is always a new array: writing to
    it never changes ``img``.

    Raises:
        TypeError: not a tensor/array, or a complex dtype. ValueError: wrong shape or no pixels.
    """
    if isinstance(img, np.ndarray):
        img = torch.from_numpy(np.ascontiguousarray(img))
    if not isinstance(img, torch.Tensor):
        raise TypeError(f"img must be a tensor or array, got {type(img).__name__}")
    if img.is_complex():
        raise TypeError(f"img must be real-valued, got dtype {img.dtype}")
    if img.numel() == 0:
        raise ValueError(f"img has no pixels (shape {tuple(img.shape)}); expected [C, H, W] or [H, W] with H, W >= 1")
    t = img.detach().cpu()
    if t.ndim == 3:
        if t.shape[0] not in (1, 3):
            raise ValueError(f"img must have 1 or 3 channels first ([C, H, W]), got shape {tuple(t.shape)}")
        t = t[0] if t.shape[0] == 1 else t.permute(1, 2, 0)
    elif t.ndim != 2:
        raise ValueError(f"img must be [C, H, W] or [H, W], got shape {tuple(t.shape)}")
    if t.dtype == torch.uint8:
        return (t.to(torch.float32) / 255.0).numpy()
    if t.dtype == torch.uint16:
        return (t.to(torch.int32).to(torch.float32) / 65535.0).numpy()
    t = t.to(torch.float32, copy=True)  # a copy even for float32 input: the caller's tensor is never aliased
    lo, hi = float(t.min()), float(t.max())
    if lo < 0.0 or hi > 1.0:
        t = (t - lo) / max(hi - lo, 1e-12)
    return t.numpy()


def show_images(
    images: Sequence[torch.Tensor] | torch.Tensor,
    titles: Sequence[str] | None = None,
    *,
    ncols: int | None = None,
    size: float = 2.2,
    cmap: str = "gray",
    suptitle: str | None = None,
) -> Figure:
    """A grid of images with optional titles.

    Args:
        images: a sequence of ``[C, H, W]``/``[H, W]`` images or a batch ``[N, C, H, W]``.
        titles: one title per image.
        ncols: columns (default: up to 8 in one row).
        size: inches per panel.
        cmap: colour map for one-channel images.
    """
    if isinstance(images, torch.Tensor):
        if images.ndim != 4:
            raise ValueError(f"a tensor of images must be [N, C, H, W], got shape {tuple(images.shape)}")
        images = list(images)
    images = list(images)
    if not images:
        raise ValueError("images is empty; expected at least one image")
    if titles is not None and len(titles) != len(images):
        raise ValueError(f"titles has {len(titles)} entries for {len(images)} images")
    n = len(images)
    ncols = min(n, 8) if ncols is None else check_int(ncols, "ncols", low=1)
    size = check_positive(size, "size")
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            arr = to_display(images[i])
            ax.imshow(arr, cmap=cmap if arr.ndim == 2 else None, vmin=0, vmax=1, interpolation="nearest")
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def _as_signal(v: object, name: str) -> torch.Tensor:
    """A real tensor or array as a float32 CPU tensor for drawing (never the caller's storage)."""
    if isinstance(v, np.ndarray):
        v = torch.from_numpy(np.ascontiguousarray(v))
    if not isinstance(v, torch.Tensor):
        raise TypeError(f"{name} must be a tensor or numpy array, got {type(v).__name__}")
    if v.is_complex() or v.dtype == torch.bool:
        raise TypeError(f"{name} must be real-valued, got dtype {v.dtype}")
    return v.detach().cpu().to(torch.float32, copy=True)


def _ecg_grid(ax, t0: float, t1: float, v0: float, v1: float) -> None:
    """Draw standard ECG paper: 1 mm minor squares (0.04 s, 0.1 mV), 5 mm major (0.2 s, 0.5 mV)."""
    ax.set_xticks(np.arange(t0, t1 + 1e-9, 0.2))
    ax.set_xticks(np.arange(t0, t1 + 1e-9, 0.04), minor=True)
    ax.set_yticks(np.arange(np.floor(v0 * 2) / 2, v1 + 1e-9, 0.5))
    ax.set_yticks(np.arange(np.floor(v0 * 10) / 10, v1 + 1e-9, 0.1), minor=True)
    ax.grid(which="major", color="#e08080", linewidth=0.6)
    ax.grid(which="minor", color="#f4c6c6", linewidth=0.3)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_xlim(t0, t1)
    ax.set_ylim(v0, v1)
    # 1 mV is 10 mm high and 1 s is 25 mm wide: y-units are drawn 2.5x... i.e. aspect = 10/25.
    ax.set_aspect(ECG_GAIN_MM_MV / ECG_PAPER_SPEED_MM_S)
    for spine in ax.spines.values():
        spine.set_visible(False)


_LAYOUT = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))


def plot_ecg_12lead(
    signal_mv: torch.Tensor,
    fs: float,
    leads: Sequence[str],
    *,
    rhythm_lead: str = "II",
    title: str | None = None,
    mm_per_inch: float = 25.4,
) -> Figure:
    """A 12-lead ECG in the standard 3x4 layout plus a 10-s rhythm strip, on 25 mm/s, 10 mm/mV paper.

    Args:
        signal_mv: ``[12, T]`` in millivolts (at least 10 s for the full layout; shorter records use
            their full length split into four columns).
        fs: sampling rate in Hz.
        leads: the 12 lead names in the order of ``signal_mv``'s rows.
        rhythm_lead: the lead drawn as a full-length strip at the bottom.
        mm_per_inch: paper scale (25.4 = true size when printed at 100%).

    A numpy ``signal_mv`` is accepted too. Raises ``TypeError``/``ValueError`` naming the parameter.
    """
    sig = _as_signal(signal_mv, "signal_mv")
    if sig.ndim != 2 or sig.shape[0] != len(leads):
        raise ValueError(f"signal_mv must be [leads, T] with {len(leads)} rows matching leads, got {tuple(sig.shape)}")
    if sig.shape[1] == 0:
        raise ValueError("signal_mv has no samples; expected [leads, T] with T >= 1")
    fs = check_positive(fs, "fs")
    mm_per_inch = check_positive(mm_per_inch, "mm_per_inch")
    missing = {name for row in _LAYOUT for name in row} - set(leads)
    if missing:
        raise ValueError(f"leads must contain the 12 standard leads; missing {sorted(missing)}")
    if rhythm_lead not in leads:
        raise ValueError(f"rhythm_lead {rhythm_lead!r} is not among leads {list(leads)}")
    n = sig.shape[-1]
    dur = n / fs
    col = dur / 4
    idx = {name: i for i, name in enumerate(leads)}
    row_h = 3.0  # mV of paper per row
    total_h = row_h * 4
    width_mm = dur * ECG_PAPER_SPEED_MM_S
    height_mm = total_h * ECG_GAIN_MM_MV
    fig, ax = plt.subplots(figsize=(width_mm / mm_per_inch, height_mm / mm_per_inch))
    _ecg_grid(ax, 0.0, dur, -total_h, 0.0)
    t = np.arange(n) / fs
    for r, row in enumerate(_LAYOUT):
        base = -row_h * (r + 0.5)
        for c, name in enumerate(row):
            a, b = int(round(c * col * fs)), int(round((c + 1) * col * fs))
            ax.plot(t[a:b], sig[idx[name], a:b].numpy() + base, color="k", linewidth=0.6)
            ax.text(c * col + 0.05, base + 0.9, name, fontsize=8, fontweight="bold")
    base = -row_h * 3.5
    ax.plot(t, sig[idx[rhythm_lead]].numpy() + base, color="k", linewidth=0.6)
    ax.text(0.05, base + 0.9, rhythm_lead, fontsize=8, fontweight="bold")
    ax.set_title(title or f"12-lead ECG, {ECG_PAPER_SPEED_MM_S:g} mm/s, {ECG_GAIN_MM_MV:g} mm/mV, fs={fs:g} Hz")
    fig.tight_layout()
    return fig


def plot_ecg_strip(
    traces_mv: Mapping[str, torch.Tensor],
    fs: float,
    *,
    seconds: tuple[float, float] | None = None,
    title: str | None = None,
    height_mv: float = 3.0,
) -> Figure:
    """One or more single-lead traces (e.g. before/after an augmentation) on ECG paper, one row each.

    Args:
        traces_mv: ``{label: [T] tensor in mV}``.
        fs: sampling rate in Hz.
        seconds: ``(start, end)`` window in seconds; default the whole trace.
        height_mv: paper height per row in mV.
    """
    if not traces_mv:
        raise ValueError("traces_mv is empty; expected at least one {label: trace}")
    fs = check_positive(fs, "fs")
    height_mv = check_positive(height_mv, "height_mv")
    traces_mv = {label: _as_signal(tr, f"traces_mv[{label!r}]") for label, tr in traces_mv.items()}
    n_rows = len(traces_mv)
    first = next(iter(traces_mv.values()))
    dur = first.shape[-1] / fs
    t0, t1 = seconds if seconds is not None else (0.0, dur)
    width_mm = (t1 - t0) * ECG_PAPER_SPEED_MM_S
    fig, axes = plt.subplots(
        n_rows,
        1,
        figsize=(max(width_mm / 25.4, 4.0), n_rows * height_mv * ECG_GAIN_MM_MV / 25.4 + 0.3),
        squeeze=False,
    )
    for ax, (label, trace) in zip(axes[:, 0], traces_mv.items(), strict=True):
        tr = trace.detach().cpu().to(torch.float32)
        if tr.ndim != 1:
            raise ValueError(f"trace {label!r} must be 1-D [T], got shape {tuple(tr.shape)}")
        t = np.arange(tr.shape[0]) / fs
        keep = (t >= t0) & (t <= t1)
        y = tr.numpy()[keep]
        mid = float(np.median(y)) if y.size else 0.0
        _ecg_grid(ax, t0, t1, mid - height_mv / 2, mid + height_mv / 2)
        ax.plot(t[keep], y, color="k", linewidth=0.7)
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=8)
    if title:
        axes[0, 0].set_title(title)
    fig.tight_layout()
    return fig


def plot_mean_spread(
    x: Sequence[float],
    curves: Mapping[str, np.ndarray | Sequence[Sequence[float]]],
    *,
    xlabel: str = "",
    ylabel: str = "",
    title: str | None = None,
    logx: bool = False,
    ax=None,
) -> Figure:
    """Curves of mean ± one standard deviation over repeats (seeds).

    Args:
        x: the x positions, length ``P``.
        curves: ``{label: values}`` with values shaped ``[n_repeats, P]``.
    """
    xs = np.asarray(x, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
    else:
        fig = ax.figure
    for label, vals in curves.items():
        v = np.asarray(vals, dtype=float)
        if v.ndim != 2 or v.shape[1] != xs.size:
            raise ValueError(f"curve {label!r} must be [n_repeats, {xs.size}], got shape {v.shape}")
        m, s = v.mean(0), v.std(0, ddof=1) if v.shape[0] > 1 else np.zeros(xs.size)
        ax.plot(xs, m, marker="o", label=f"{label} (n={v.shape[0]})")
        ax.fill_between(xs, m - s, m + s, alpha=0.2)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_reliability_diagram(
    probs: torch.Tensor, labels: torch.Tensor, *, n_bins: int = 15, title: str | None = None, ax=None
) -> Figure:
    """Reliability diagram: accuracy vs confidence per equal-width confidence bin, with the gap shaded.

    Args:
        probs: ``[N, K]`` class probabilities.
        labels: ``[N]`` integer labels.
        n_bins: number of equal-width bins on (0, 1].

    The bins are ``metrics.reliability_bins``, the same ones ``metrics.expected_calibration_error``
    sums over, so the figure shows exactly the gaps behind the printed ECE.
    """
    bins = reliability_bins(probs, labels, n_bins)
    n_bins = bins.count.size
    centres, acc = bins.centres, bins.accuracy
    if ax is None:
        fig, ax = plt.subplots(figsize=(3.6, 3.6))
    else:
        fig = ax.figure
    w = 1.0 / n_bins
    ax.bar(centres, np.nan_to_num(acc), width=w, edgecolor="k", linewidth=0.4, label="accuracy")
    ax.bar(
        centres,
        np.nan_to_num(centres - acc),
        bottom=np.nan_to_num(acc),
        width=w,
        color="tab:red",
        alpha=0.3,
        label="gap",
    )
    ax.plot([0, 1], [0, 1], "k--", linewidth=0.8)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig
