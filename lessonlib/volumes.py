"""3-D medical volumes (CT, MR): physical units, spacing, spatial and intensity augmentation, k-space artefacts.

Conventions (notebook 12):

* A batch of volumes is ``[B, C, D, H, W]`` (floating); a label map is ``[B, D, H, W]`` of integer
  class indices (what ``cross_entropy`` takes). Every function works on the whole batch at once with
  **per-sample** random parameters drawn from an optional ``torch.Generator``; inputs are never
  modified; results keep the caller's device and dtype (float16/bfloat16 are computed in float32).
* ``spacing = (sd, sh, sw)`` is the voxel size in mm along (D, H, W) (a single number means
  isotropic). A tensor does not know its spacing, so every spatial function takes it explicitly:
  rotations, displacements and translations are in **mm**, which is what keeps a rotation a
  rotation on a 5 mm-slice volume.
* Physical coordinates are centred: voxel ``i`` of an axis of ``n`` voxels sits at
  ``(i - (n - 1) / 2) * s`` mm. k-space is ``fftshift(fftn(x))`` over the three spatial axes.
* **Spatial** transforms (``resample``, ``affine_3d``, ``random_affine_3d``, ``random_elastic_3d``,
  ``random_flip_3d``) move the image *and* its label map with the same parameters, the label map by
  nearest neighbour (a blended label is not a class). **Intensity** transforms (``bias_field``,
  ``motion``, ``ghosting``, ``spike``, ``gibbs_ringing``, ``ct_dose_noise``, ``ct_window``,
  ``zscore``) touch the image only.

Each technique has a short textbook version in ``lessonlib.reference.volumes``; every function here
says which one it equals and is tested against it (and against TorchIO or MONAI where the
definitions match; ``tests/test_volumes.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from lessonlib.utils import (
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_one_of,
    check_positive,
    check_range,
    check_tensor,
    compute_dtype,
    randint,
    uniform,
)

__all__ = [
    "CT_WINDOWS",
    "ct_window",
    "ct_dose_noise",
    "zscore",
    "resample",
    "affine_3d",
    "rotation_matrices",
    "random_affine_3d",
    "random_elastic_3d",
    "random_flip_3d",
    "bias_field",
    "motion",
    "ghosting",
    "spike",
    "gibbs_ringing",
    "kspace",
    "sample_patches",
    "dice_ce_loss",
]

#: Standard CT display windows, ``name: (level, width)`` in Hounsfield units.
CT_WINDOWS = {"lung": (-600.0, 1500.0), "soft tissue": (40.0, 400.0), "bone": (400.0, 1800.0), "brain": (40.0, 80.0)}

_DIMS = (-3, -2, -1)


# ----------------------------------------------------------------------------------------------
# validation helpers (public entries validate once; the private cores below do not)
# ----------------------------------------------------------------------------------------------


def _check_volume(volume: object, name: str = "volume") -> torch.Tensor:
    check_tensor(volume, name, ndim=5, floating=True, nonempty=True, finite=True)
    if min(volume.shape[2:]) < 2:
        raise ValueError(f"{name} must have at least 2 voxels along D, H and W, got shape {tuple(volume.shape)}")
    return volume


def _check_label(label: object, volume: torch.Tensor, name: str = "label") -> torch.Tensor | None:
    if label is None:
        return None
    check_tensor(label, name, ndim=4)
    if label.is_floating_point() or label.is_complex() or label.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class indices [B, D, H, W], got dtype {label.dtype}")
    want = (volume.shape[0], *volume.shape[2:])
    if tuple(label.shape) != want:
        raise ValueError(f"{name} must have shape {want} (volume's [B, D, H, W]), got {tuple(label.shape)}")
    return label


def _check_spacing(spacing: object, name: str = "spacing") -> tuple[float, float, float]:
    if isinstance(spacing, (int, float)) and not isinstance(spacing, bool):
        s = check_positive(spacing, name)
        return (s, s, s)
    if isinstance(spacing, torch.Tensor):
        spacing = spacing.tolist()
    if not isinstance(spacing, Sequence) or isinstance(spacing, str) or len(spacing) != 3:
        raise ValueError(f"{name} must be a number or 3 voxel sizes in mm (d, h, w), got {spacing!r}")
    return tuple(check_positive(s, f"{name}[{i}]") for i, s in enumerate(spacing))


def _nonneg_range(r: object, name: str, *, high: float | None = None) -> tuple[float, float]:
    """A ``(min, max)`` range; a single number ``v`` means ``(-v, v)`` (symmetric, like TorchIO)."""
    if isinstance(r, (int, float)) and not isinstance(r, bool):
        v = check_number(r, name, low=0.0, high=high)
        return (-v, v)
    return check_range(r, name)


def _int_range(r: object, name: str, *, low: int) -> tuple[int, int]:
    """An int ``n`` (meaning ``(n, n)``) or an inclusive ``(min, max)`` pair of ints >= ``low``."""
    pair = (r, r) if isinstance(r, int) and not isinstance(r, bool) else r
    if not isinstance(pair, (tuple, list)) or len(pair) != 2:
        raise ValueError(f"{name} must be an int or a (min, max) pair, got {r!r}")
    lo, hi = check_int(pair[0], f"{name}[0]", low=low), check_int(pair[1], f"{name}[1]", low=low)
    if lo > hi:
        raise ValueError(f"{name} must have min <= max, got {r!r}")
    return lo, hi


def _rng_device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


# ----------------------------------------------------------------------------------------------
# CT: Hounsfield units, windows, dose
# ----------------------------------------------------------------------------------------------


def ct_window(hu: torch.Tensor, window: str | tuple[float, float] = "soft tissue") -> torch.Tensor:
    """Map Hounsfield units to [0, 1] through a display window: ``clip((HU - (L - W/2)) / W, 0, 1)``.

    The same result as ``reference.volumes.ct_window``; adds named windows and validation.

    Args:
        hu: CT values in Hounsfield units, any shape, floating (``stored * RescaleSlope + RescaleIntercept``).
        window: a name of ``CT_WINDOWS`` (``"lung"``, ``"soft tissue"``, ``"bone"``, ``"brain"``) or a
            ``(level, width)`` pair in HU with ``width > 0``.

    Returns:
        A new tensor of ``hu``'s shape, dtype and device, in [0, 1]. A fixed window is preprocessing
        (the same for every scan, train and test); jittering ``level``/``width`` per sample is an
        intensity augmentation. MR has no such absolute scale: use ``zscore`` there.
    """
    check_tensor(hu, "hu", floating=True, nonempty=True)
    if isinstance(window, str):
        level, width = CT_WINDOWS[check_one_of(window, "window", list(CT_WINDOWS))]
    else:
        if not isinstance(window, (tuple, list)) or len(window) != 2:
            raise ValueError(f"window must be a name in {list(CT_WINDOWS)} or a (level, width) pair, got {window!r}")
        level = check_number(window[0], "window[0] (level)")
        width = check_positive(window[1], "window[1] (width)")
    return ((hu - (level - width / 2)) / width).clamp(0.0, 1.0)


def ct_dose_noise(
    hu: torch.Tensor,
    *,
    dose: float | tuple[float, float] = (0.25, 1.0),
    sigma_full_dose: float = 10.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Simulate a lower-dose CT scan: add Gaussian noise whose variance grows as 1 / dose.

    Quantum noise in CT has variance proportional to 1 / dose. A scan taken at full dose with noise
    ``sigma_full_dose`` (HU) becomes, at dose fraction ``f``, a scan with noise
    ``sigma_full_dose / sqrt(f)``; the noise to *add* is independent with
    ``sigma = sigma_full_dose * sqrt(1/f - 1)`` (``reference.volumes.ct_dose_noise``). The noise here
    is white; real CT noise is spatially correlated (its power spectrum follows the reconstruction
    kernel), which validated simulators (Massoumzadeh et al., 2009) add in the projection data.

    The same result as ``reference.volumes.ct_dose_noise`` with the per-sample dose and noise drawn
    here; adds batching and validation.

    Args:
        hu: ``[B, C, D, H, W]`` (or any ``[B, ...]``) in HU, floating, finite, non-empty.
        dose: dose fraction in (0, 1]: one number, or a ``(min, max)`` range drawn per sample.
        sigma_full_dose: the noise the full-dose scan already has, in HU (> 0).
        generator: randomness (dose per sample, then the noise).

    Returns:
        A new tensor like ``hu``.
    """
    check_tensor(hu, "hu", floating=True, nonempty=True, finite=True)
    if hu.ndim < 2:
        raise ValueError(f"hu must be a batch [B, ...] with at least 2 dimensions, got shape {tuple(hu.shape)}")
    lo, hi = check_range(dose, "dose", low=0.0, high=1.0)
    if lo <= 0:
        raise ValueError(f"dose must be a fraction in (0, 1], got {dose!r}")
    sigma0 = check_positive(sigma_full_dose, "sigma_full_dose")
    generator = check_generator(generator)
    f, z = _draw_dose(hu.shape, lo, hi, generator, hu.device)
    cd = compute_dtype(hu.dtype)
    sigma = (sigma0 * (1.0 / f - 1.0).sqrt()).to(cd).view(-1, *([1] * (hu.ndim - 1)))
    return (hu.to(cd) + sigma * z.to(cd)).to(hu.dtype)


def _draw_dose(shape, lo, hi, generator, device):
    f = uniform((shape[0],), low=lo, high=hi, generator=generator, device=device)
    z = torch.randn(shape, generator=generator, device=_rng_device(generator)).to(device)
    return f, z


def zscore(volume: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Per-volume, per-channel standardisation ``(x - mean) / std`` over the voxels of ``mask``.

    MR intensities have no physical unit: the same tissue differs between scanners, sequences and
    even sessions, so each volume is normalised by its own statistics (usually over the foreground),
    whereas CT's Hounsfield units are comparable across scans and get a fixed window instead.

    Args:
        volume: ``[B, C, D, H, W]`` floating, finite, non-empty.
        mask: optional ``[B, D, H, W]`` bool (or 0/1) foreground; statistics over ``mask`` only
            (each sample needs at least 2 foreground voxels), applied to every voxel.

    Returns:
        A new tensor like ``volume``; a constant volume (std 0) maps to 0.
    """
    _check_volume(volume)
    cd = compute_dtype(volume.dtype)
    x = volume.to(cd)
    if mask is None:
        w = torch.ones_like(x[:, :1])
    else:
        check_tensor(mask, "mask", ndim=4)
        if tuple(mask.shape) != (volume.shape[0], *volume.shape[2:]):
            raise ValueError(f"mask must have volume's [B, D, H, W] shape, got {tuple(mask.shape)}")
        w = (mask != 0).to(cd)[:, None]
        if int(w.flatten(1).sum(1).min()) < 2:
            raise ValueError("mask must mark at least 2 voxels of every sample; got a sample with fewer")
    n = w.sum(_DIMS, keepdim=True)
    mean = (x * w).sum(_DIMS, keepdim=True) / n
    var = ((x - mean) ** 2 * w).sum(_DIMS, keepdim=True) / (n - 1)
    std = var.sqrt()
    out = torch.where(std > 0, (x - mean) / std.clamp(min=torch.finfo(cd).tiny), torch.zeros_like(x))
    return out.to(volume.dtype)


# ----------------------------------------------------------------------------------------------
# Spatial: resampling, affine, elastic, flips
# ----------------------------------------------------------------------------------------------


def _axis_positions(n: int, s: float, m: int, t: float, device) -> torch.Tensor:
    """Input index positions (float64) of ``m`` output voxels of spacing ``t``, centred on the input's centre."""
    return (n - 1) / 2 + (torch.arange(m, dtype=torch.float64, device=device) - (m - 1) / 2) * t / s


def _resample_axis(x: torch.Tensor, dim: int, pos: torch.Tensor, nearest: bool) -> torch.Tensor:
    """Linear (or nearest) interpolation of ``x`` along ``dim`` at index positions ``pos``; 0 outside."""
    n = x.shape[dim]
    shape = [1] * x.ndim
    shape[dim] = -1
    if nearest:
        idx = (pos + 0.5).floor()  # ties round up, as ITK (TorchIO) does
        inside = (idx >= 0) & (idx <= n - 1)
        out = x.index_select(dim, idx.clamp(0, n - 1).long())
        return out * inside.view(shape).to(out.dtype) if not inside.all() else out
    i0 = pos.floor()
    w1 = (pos - i0).to(x.dtype)
    ok0 = ((i0 >= 0) & (i0 <= n - 1)).to(x.dtype)
    ok1 = ((i0 + 1 >= 0) & (i0 + 1 <= n - 1)).to(x.dtype)
    a = x.index_select(dim, i0.clamp(0, n - 1).long())
    b = x.index_select(dim, (i0 + 1).clamp(0, n - 1).long())
    return a * ((1 - w1) * ok0).view(shape) + b * (w1 * ok1).view(shape)


def resample(
    volume: torch.Tensor,
    spacing: float | Sequence[float],
    new_spacing: float | Sequence[float],
    *,
    label: bool = False,
) -> torch.Tensor:
    """Resample a batch to a new voxel spacing, keeping the volume's centre fixed.

    The same result as ``reference.volumes.resample`` (and TorchIO's ``Resample`` grid without
    antialiasing); adds batching and a separable kernel (three 1-D passes instead of a 3-D grid).

    New size per axis ``m = floor(n * s / s')`` (the extent never grows, so nothing is
    extrapolated); output voxel ``j`` sits at ``(j - (m - 1) / 2) * s'`` mm.

    Args:
        volume: ``[B, C, D, H, W]`` floating (an image: trilinear interpolation), or with
            ``label=True`` a label map ``[B, D, H, W]`` of integer classes (nearest neighbour, so
            every output voxel is one of the input's classes).
        spacing, new_spacing: voxel sizes in mm, ``(sd, sh, sw)`` or one number (isotropic).
        label: the input is a label map.

    Returns:
        A new tensor on ``volume``'s device and dtype, of the new size. Downsampling by large factors
        aliases (no low-pass filter first); average blocks (``avg_pool3d``) when that matters.
    """
    label = check_bool(label, "label")
    if label:
        check_tensor(volume, "volume", ndim=4, nonempty=True)
        if volume.is_floating_point() or volume.dtype == torch.bool or volume.is_complex():
            raise TypeError(f"volume must be an integer label map [B, D, H, W] with label=True, got {volume.dtype}")
    else:
        _check_volume(volume)
    s = _check_spacing(spacing, "spacing")
    t = _check_spacing(new_spacing, "new_spacing")
    x = volume.to(compute_dtype(volume.dtype)) if not label else volume
    first = x.ndim - 3
    for a in range(3):
        n = x.shape[first + a]
        m = max(int(n * s[a] // t[a]), 1)
        x = _resample_axis(x, first + a, _axis_positions(n, s[a], m, t[a], x.device), label)
    return x.to(volume.dtype)


def _rotation_matrices(degrees: torch.Tensor) -> torch.Tensor:
    """``[N, 3]`` angles (degrees) about the d, h, w axes -> ``[N, 3, 3]`` rotations ``R_d @ R_h @ R_w``."""
    a = torch.deg2rad(degrees.double())
    c, s = a.cos(), a.sin()
    one, zero = torch.ones_like(c[:, 0]), torch.zeros_like(c[:, 0])

    def rot(i, j, k):  # rotation in the plane of axes j, k (about axis i)
        m = [[None] * 3 for _ in range(3)]
        m[i][i], m[i][j], m[i][k] = one, zero, zero
        m[j][i], m[j][j], m[j][k] = zero, c[:, i], -s[:, i]
        m[k][i], m[k][j], m[k][k] = zero, s[:, i], c[:, i]
        return torch.stack([torch.stack(row, -1) for row in m], -2)

    return rot(0, 1, 2) @ rot(1, 2, 0) @ rot(2, 0, 1)


def rotation_matrices(degrees: torch.Tensor) -> torch.Tensor:
    """Rotation matrices ``[N, 3, 3]`` (float64) from angles ``[N, 3]`` in degrees about the d, h, w axes.

    ``R = R_d @ R_h @ R_w``, where ``R_a`` rotates the plane of the two other axes; the order
    ``random_affine_3d`` and ``motion`` use. Pass the result to ``affine_3d`` (which maps output
    positions to input positions, so ``R`` there moves the content by ``R^-1 = R^T``).
    """
    check_tensor(degrees, "degrees", ndim=2, floating=True, finite=True)
    if degrees.shape[1] != 3:
        raise ValueError(f"degrees must be [N, 3] (about d, h, w), got shape {tuple(degrees.shape)}")
    return _rotation_matrices(degrees)


def _half_extent(shape, spacing, device) -> torch.Tensor:
    half = [(n - 1) / 2 * s for n, s in zip(shape, spacing, strict=True)]
    return torch.tensor(half, dtype=torch.float64, device=device)


def _warp(x: torch.Tensor, grid: torch.Tensor, nearest: bool, fill: float = 0.0) -> torch.Tensor:
    """grid_sample with align_corners=True and a constant ``fill`` outside the volume."""
    mode = "nearest" if nearest else "bilinear"
    if fill == 0.0:
        return F.grid_sample(x, grid.to(x.dtype), mode=mode, padding_mode="zeros", align_corners=True)
    return F.grid_sample(x - fill, grid.to(x.dtype), mode=mode, padding_mode="zeros", align_corners=True) + fill


def _affine_grid(matrix: torch.Tensor, offset: torch.Tensor, shape, spacing) -> torch.Tensor:
    """Sampling grid ``[B, D, H, W, 3]`` (x, y, z = w, h, d) for ``out(p) = in(A p + t)`` in mm."""
    h = _half_extent(shape, spacing, matrix.device)
    a = matrix.double() * h[None, :] / h[:, None]  # diag(1/h) A diag(h): the map in [-1, 1] coordinates
    t = offset.double() / h
    theta = torch.cat([a.flip(-1).flip(-2), t.flip(-1)[..., None]], dim=-1)  # (d, h, w) -> (x, y, z) order
    size = (matrix.shape[0], 1, *shape)
    return F.affine_grid(theta.float(), size, align_corners=True)


def _apply_grid(volume, label, grid, fill):
    cd = compute_dtype(volume.dtype)
    out = _warp(volume.to(cd), grid, False, fill).to(volume.dtype)
    if label is None:
        return out
    lab = _warp(label[:, None].to(torch.float32), grid.float(), True)[:, 0]
    return out, lab.round().to(label.dtype)


def affine_3d(
    volume: torch.Tensor,
    matrix: torch.Tensor,
    offset: torch.Tensor,
    *,
    spacing: float | Sequence[float],
    label: torch.Tensor | None = None,
    fill: float = 0.0,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Resample every volume of a batch under its own affine map in mm: ``out(p) = in(A_b p + t_b)``.

    The same result as ``reference.volumes.affine`` applied to each sample; adds batching (one
    ``affine_grid`` + ``grid_sample`` call), labels and a fill value.

    Args:
        volume: ``[B, C, D, H, W]`` floating, finite.
        matrix: ``[B, 3, 3]`` (or ``[3, 3]`` for all) maps output positions to input positions, in mm,
            axes ordered (d, h, w), about the volume's centre.
        offset: ``[B, 3]`` (or ``[3]``) translation in mm.
        spacing: voxel size in mm (d, h, w) or one number.
        label: optional ``[B, D, H, W]`` integer label map, moved with the same map by nearest neighbour.
        fill: value outside the field of view (0 for MR; -1000 HU, air, for CT in HU).

    Returns:
        The new volume, or ``(volume, label)`` when ``label`` is given.
    """
    _check_volume(volume)
    label = _check_label(label, volume)
    spacing = _check_spacing(spacing)
    fill = check_number(fill, "fill")
    b = volume.shape[0]
    check_tensor(matrix, "matrix", ndim=(2, 3), floating=True, finite=True)
    check_tensor(offset, "offset", ndim=(1, 2), floating=True, finite=True)
    if tuple(matrix.shape) not in ((3, 3), (b, 3, 3)):
        raise ValueError(f"matrix must be [3, 3] or [B, 3, 3] with B = {b}, got {tuple(matrix.shape)}")
    if tuple(offset.shape) not in ((3,), (b, 3)):
        raise ValueError(f"offset must be [3] or [B, 3] with B = {b}, got {tuple(offset.shape)}")
    matrix, offset = matrix.expand(b, 3, 3), offset.expand(b, 3)
    grid = _affine_grid(matrix.to(volume.device), offset.to(volume.device), volume.shape[2:], spacing)
    return _apply_grid(volume, label, grid, fill)


def _draw_affine(b, degrees, scales, translation, generator, device):
    """Per-sample backward maps of ``p -> R S p + t``: ``A = (R S)^-1``, ``offset = -A t`` (float64)."""
    angles = uniform((b, 3), low=degrees[0], high=degrees[1], generator=generator, device=device)
    scale = uniform((b, 3), low=scales[0], high=scales[1], generator=generator, device=device)
    shift = uniform((b, 3), low=translation[0], high=translation[1], generator=generator, device=device)
    forward = _rotation_matrices(angles) @ torch.diag_embed(scale.double())
    a = torch.linalg.inv(forward)
    return a, -(a @ shift.double()[..., None])[..., 0]


def random_affine_3d(
    volume: torch.Tensor,
    label: torch.Tensor | None = None,
    *,
    spacing: float | Sequence[float],
    degrees: float | tuple[float, float] = 10.0,
    scales: tuple[float, float] = (0.9, 1.1),
    translation: float | tuple[float, float] = 0.0,
    fill: float = 0.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """A random 3-D rotation, scaling and translation per sample, in mm (TorchIO's ``RandomAffine``).

    Per sample: three angles uniform in ``degrees`` (about d, h, w), three scale factors uniform in
    ``scales``, three shifts uniform in ``translation`` (mm); the content moves by ``p -> R S p + t``
    about the volume's centre, so the volume is resampled with ``affine_3d(volume, (R S)^-1,
    -(R S)^-1 t)``. The same result as ``reference.volumes.affine`` with those maps; adds the
    per-sample draws and batching. Because the map acts in mm, a 5 mm-slice volume rotates as the
    anatomy does; pass the wrong spacing and the anatomy is sheared (notebook 12 shows it).

    Args:
        volume: ``[B, C, D, H, W]`` floating, finite. label: optional ``[B, D, H, W]`` integer map.
        spacing: voxel size in mm (d, h, w) or one number.
        degrees: ``v`` means ``(-v, v)``; or a ``(min, max)`` range. scales: ``(min, max)``, > 0.
        translation: mm; ``v`` means ``(-v, v)``.
        fill: value outside the field of view. generator: randomness.

    Returns:
        The new volume, or ``(volume, label)`` when ``label`` is given (label by nearest neighbour).
    """
    _check_volume(volume)
    label = _check_label(label, volume)
    spacing = _check_spacing(spacing)
    degrees = _nonneg_range(degrees, "degrees", high=180.0)
    scales = check_range(scales, "scales", low=0.0, low_inclusive=False)
    translation = _nonneg_range(translation, "translation")
    fill = check_number(fill, "fill")
    generator = check_generator(generator)
    a, t = _draw_affine(volume.shape[0], degrees, scales, translation, generator, volume.device)
    grid = _affine_grid(a, t, volume.shape[2:], spacing)
    return _apply_grid(volume, label, grid, fill)


def _draw_control(b, k, max_displacement, generator, device):
    """Per-sample control displacements ``[B, 3, k, k, k]`` in mm, uniform in ±max, borders locked at 0."""
    u = uniform((b, 3, k, k, k), low=-max_displacement, high=max_displacement, generator=generator, device=device)
    inner = torch.zeros(k, k, k, device=device)
    inner[1:-1, 1:-1, 1:-1] = 1
    return u * inner


def random_elastic_3d(
    volume: torch.Tensor,
    label: torch.Tensor | None = None,
    *,
    spacing: float | Sequence[float],
    control_points: int = 7,
    max_displacement: float = 7.5,
    generator: torch.Generator | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """A random smooth deformation per sample: ``out(p) = in(p + u(p))``, ``u`` in mm.

    Per sample: displacements uniform in ``±max_displacement`` mm on a ``control_points``³ grid
    spanning the volume, the outer layer locked at 0 (the border does not move, as TorchIO's
    ``locked_borders=2``), interpolated to every voxel trilinearly. The same result as
    ``reference.volumes.elastic`` with those control grids; adds the draws and batching.
    Stated difference: TorchIO interpolates the control grid with a cubic B-spline (a C² field); ours
    is piecewise linear (C⁰), cheaper and smooth enough at these magnitudes.

    Args:
        volume: ``[B, C, D, H, W]`` floating, finite. label: optional ``[B, D, H, W]`` integer map.
        spacing: voxel size in mm. control_points: grid size per axis, >= 3.
        max_displacement: mm, >= 0; keep it below half the control spacing to avoid folding.
        generator: randomness.

    Returns:
        The new volume, or ``(volume, label)`` when ``label`` is given.
    """
    _check_volume(volume)
    label = _check_label(label, volume)
    spacing = _check_spacing(spacing)
    k = check_int(control_points, "control_points", low=3)
    m = check_number(max_displacement, "max_displacement", low=0.0)
    generator = check_generator(generator)
    control = _draw_control(volume.shape[0], k, m, generator, volume.device)
    return _apply_grid(volume, label, _elastic_grid(control, volume.shape[2:], spacing), 0.0)


def _elastic_grid(control: torch.Tensor, shape, spacing) -> torch.Tensor:
    b = control.shape[0]
    h = _half_extent(shape, spacing, control.device).float()
    u = F.interpolate(control.float(), size=tuple(shape), mode="trilinear", align_corners=True)
    u = (u / h.view(1, 3, 1, 1, 1)).permute(0, 2, 3, 4, 1).flip(-1)  # [B, D, H, W, (x, y, z)] in [-1, 1] units
    eye = torch.eye(3, 4, device=control.device).expand(b, 3, 4)
    return F.affine_grid(eye, (b, 1, *shape), align_corners=True) + u


def random_flip_3d(
    volume: torch.Tensor,
    label: torch.Tensor | None = None,
    *,
    axes: Sequence[int] = (2,),
    p: float = 0.5,
    generator: torch.Generator | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Flip each sample along each allowed axis with probability ``p`` (independently per sample and axis).

    Only axes where the anatomy allows: left-right (``axes=(2,)`` for the course's brain volumes,
    whose W axis runs right to left) is a plausible other brain; superior-inferior is not. A
    flipped label map must also swap left/right classes if it has any (this one does not).

    Args:
        volume: ``[B, C, D, H, W]`` floating. label: optional ``[B, D, H, W]`` integer map.
        axes: spatial axes 0, 1, 2 (= D, H, W) that may be flipped. p: probability per axis.
        generator: randomness.

    Returns:
        The new volume, or ``(volume, label)``.
    """
    _check_volume(volume)
    label = _check_label(label, volume)
    axes = tuple(check_one_of(a, "axes", (0, 1, 2)) for a in axes)
    p = check_number(p, "p", low=0.0, high=1.0)
    generator = check_generator(generator)
    flips = uniform((volume.shape[0], 3), generator=generator, device=volume.device) < p
    out, lab = volume, label
    for a in axes:
        f = flips[:, a]
        out = torch.where(f.view(-1, 1, 1, 1, 1), out.flip(2 + a), out)
        if lab is not None:
            lab = torch.where(f.view(-1, 1, 1, 1), lab.flip(1 + a), lab)
    out = out.clone() if out is volume else out
    if label is None:
        return out
    return out, (lab.clone() if lab is label else lab)


# ----------------------------------------------------------------------------------------------
# MR intensity artefacts: bias field (image domain), motion, ghosting, spike, Gibbs (k-space)
# ----------------------------------------------------------------------------------------------


def _monomials(order: int) -> list[tuple[int, int, int]]:
    return [(i, j, k) for i in range(order + 1) for j in range(order + 1 - i) for k in range(order + 1 - i - j)]


def _bias_log_field(coefficients: torch.Tensor, order: int, shape, dtype) -> torch.Tensor:
    """``log`` of the field ``[B, D, H, W]`` from coefficients ``[B, M]`` (TorchIO's monomial order)."""
    b, dev = coefficients.shape[0], coefficients.device
    dense = torch.zeros(b, order + 1, order + 1, order + 1, dtype=dtype, device=dev)
    i, j, k = (torch.tensor(v, device=dev) for v in zip(*_monomials(order), strict=True))
    dense[:, i, j, k] = coefficients.to(dtype)
    powers = [
        torch.linspace(-1, 1, n, dtype=dtype, device=dev)[None, :] ** torch.arange(order + 1, device=dev)[:, None]
        for n in shape
    ]
    return torch.einsum("bijk,id,jh,kw->bdhw", dense, *powers)


def bias_field(
    volume: torch.Tensor,
    *,
    coefficients: float | tuple[float, float] = 0.5,
    order: int = 3,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """MR bias field: multiply each volume by a smooth random gain ``exp(polynomial(d, h, w))``.

    Per sample, the coefficients of every monomial ``d^i h^j w^k`` with ``i + j + k <= order``
    (coordinates in [-1, 1]) are drawn uniform in ``coefficients`` (``v`` means ``(-v, v)``); the
    volume is multiplied by ``exp`` of their sum (TorchIO's ``RandomBiasField``, same coefficient
    order, same field: tested). The same result as ``reference.volumes.bias_field`` with those
    coefficients; adds the draws, batching and a separable evaluation (one einsum instead of a
    3-D array per monomial).

    Args:
        volume: ``[B, C, D, H, W]`` floating, finite (one field per sample, shared by its channels).
        coefficients: range of each coefficient. order: polynomial degree, 0..6.
        generator: randomness.

    Returns:
        A new tensor like ``volume``. The field is positive and smooth, so zeros stay zero and
        ``log(out) - log(x)`` is a polynomial of degree ``order``.
    """
    _check_volume(volume)
    c = _nonneg_range(coefficients, "coefficients")
    order = check_int(order, "order", low=0, high=6)
    generator = check_generator(generator)
    m = len(_monomials(order))
    coef = uniform((volume.shape[0], m), low=c[0], high=c[1], generator=generator, device=volume.device)
    cd = compute_dtype(volume.dtype)
    field = _bias_log_field(coef, order, volume.shape[2:], cd).exp()
    return (volume.to(cd) * field[:, None]).to(volume.dtype)


def kspace(volume: torch.Tensor) -> torch.Tensor:
    """Centred k-space of each volume: ``fftshift(fftn(x))`` over (D, H, W), complex ``[B, C, D, H, W]``.

    The 0 Hz sample sits at index ``n // 2`` of every axis (the convention of every k-space function
    here and of TorchIO). Computed in float64 (complex128) so that energies and phases can be compared.
    """
    _check_volume(volume)
    return _kspace(volume.double())


def _kspace(x: torch.Tensor) -> torch.Tensor:
    return torch.fft.fftshift(torch.fft.fftn(x, dim=_DIMS), dim=_DIMS)


def _image(k: torch.Tensor) -> torch.Tensor:
    return torch.fft.ifftn(torch.fft.ifftshift(k, dim=_DIMS), dim=_DIMS).real


def _draw_ghosting(b, num_ghosts, axes, intensity, generator, device):
    n = randint(num_ghosts[0], num_ghosts[1] + 1, (b,), generator=generator, device=device)
    axis = torch.tensor(axes, device=device)[randint(0, len(axes), (b,), generator=generator, device=device)]
    strength = uniform((b,), low=intensity[0], high=intensity[1], generator=generator, device=device)
    return n, axis, strength


def ghosting(
    volume: torch.Tensor,
    *,
    num_ghosts: int | tuple[int, int] = (4, 10),
    axes: Sequence[int] = (0, 1, 2),
    intensity: float | tuple[float, float] = (0.5, 1.0),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """MR ghosting: every n-th k-space plane along a phase-encode axis attenuated, per sample.

    Per sample: ``n`` uniform in ``num_ghosts``, an axis from ``axes``, a strength uniform in
    ``intensity``; k-space planes ``0, n, 2n, ...`` along that axis are multiplied by
    ``1 - strength``, the central plane is kept, and the real part of the inverse transform is
    returned. The result shows shifted copies ("ghosts") of the anatomy ``size / n`` voxels apart.
    The same result as ``reference.volumes.ghosting`` (and TorchIO's ``Ghosting`` with
    ``restore=None``: tested); adds the draws and batching.

    Args:
        volume: ``[B, C, D, H, W]`` floating, finite.
        num_ghosts: an int or an inclusive ``(min, max)`` range, >= 1.
        axes: allowed axes 0, 1, 2 (= D, H, W); choose the phase-encode direction(s) of the sequence.
        intensity: in [0, 1]; one number or a range. generator: randomness.
    """
    _check_volume(volume)
    ng = _int_range(num_ghosts, "num_ghosts", low=1)
    axes = tuple(check_one_of(a, "axes", (0, 1, 2)) for a in axes)
    if not axes:
        raise ValueError("axes is empty; expected at least one of 0, 1, 2")
    inten = check_range(intensity, "intensity", low=0.0, high=1.0)
    generator = check_generator(generator)
    n, axis, strength = _draw_ghosting(volume.shape[0], ng, axes, inten, generator, volume.device)
    return _ghosting_core(volume, n, axis, strength)


def _ghosting_core(volume, n, axis, strength):
    cd = compute_dtype(volume.dtype)
    gain = torch.ones(volume.shape[0], 1, *volume.shape[2:], dtype=cd, device=volume.device)
    for a, size in enumerate(volume.shape[2:]):
        j = torch.arange(size, device=volume.device)
        hit = (j[None] % n[:, None] == 0) & (j[None] != size // 2) & (axis[:, None] == a)  # [B, size]
        w = torch.where(hit, (1 - strength[:, None]).to(cd), torch.ones((), dtype=cd, device=volume.device))
        shape = [volume.shape[0], 1, 1, 1, 1]
        shape[2 + a] = size
        gain = gain * w.view(shape)
    return _image(_kspace(volume.to(cd)) * gain).to(volume.dtype)


def _draw_spikes(b, num_spikes, intensity, generator, device):
    count = randint(num_spikes[0], num_spikes[1] + 1, (b,), generator=generator, device=device)
    positions = uniform((b, num_spikes[1], 3), generator=generator, device=device)
    strength = uniform((b,), low=intensity[0], high=intensity[1], generator=generator, device=device)
    return count, positions, strength


def spike(
    volume: torch.Tensor,
    *,
    num_spikes: int | tuple[int, int] = 1,
    intensity: float | tuple[float, float] = (1.0, 3.0),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """MR spike (herringbone) artefact: a few k-space samples raised to ``intensity × max|K|``.

    Per sample: a number of spikes uniform in ``num_spikes``, each at a random k-space position
    (uniform fraction of each axis), all with one strength uniform in ``intensity`` (``v`` means
    ``(-v, v)``, TorchIO's convention); each channel's k-space gets ``strength × max|K_c|`` added
    there and the real part of the inverse transform is returned: stripes across the whole volume.
    The same result as ``reference.volumes.spike`` (and TorchIO's ``Spike``: tested); adds the draws
    and batching.

    Args:
        volume: ``[B, C, D, H, W]`` floating, finite.
        num_spikes: an int or an inclusive ``(min, max)`` range, >= 0.
        intensity: ratio to the k-space maximum. generator: randomness.
    """
    _check_volume(volume)
    ns = _int_range(num_spikes, "num_spikes", low=0)
    inten = _nonneg_range(intensity, "intensity")
    generator = check_generator(generator)
    count, positions, strength = _draw_spikes(volume.shape[0], ns, inten, generator, volume.device)
    return _spike_core(volume, count, positions, strength)


def _spike_core(volume, count, positions, strength):
    b, c = volume.shape[:2]
    sizes = torch.tensor(volume.shape[2:], device=volume.device)
    k = _kspace(volume.to(compute_dtype(volume.dtype)))
    if positions.shape[1] == 0:
        return _image(k).to(volume.dtype)
    idx = (positions.double() * sizes).floor().long()  # [B, S, 3]
    flat = (idx[..., 0] * sizes[1] + idx[..., 1]) * sizes[2] + idx[..., 2]  # [B, S]
    used = (torch.arange(positions.shape[1], device=volume.device)[None] < count[:, None]).to(k.real.dtype)
    peak = k.abs().flatten(2).amax(-1)  # [B, C]
    add = (strength[:, None, None] * peak[:, :, None] * used[:, None, :]).to(k.dtype)  # [B, C, S]
    kf = k.reshape(b, c, -1).scatter_add(2, flat[:, None, :].expand(b, c, -1), add)
    return _image(kf.view_as(k)).to(volume.dtype)


def _draw_motion(b, n, degrees, translation, generator, device):
    angles = uniform((b, n, 3), low=degrees[0], high=degrees[1], generator=generator, device=device)
    shifts = uniform((b, n, 3), low=translation[0], high=translation[1], generator=generator, device=device)
    step = 1.0 / (n + 1)
    jitter = uniform((b, n), low=-0.3 * step, high=0.3 * step, generator=generator, device=device)
    times = torch.arange(1, n + 1, device=device, dtype=torch.float32) * step + jitter  # sorted, in (0, 1)
    return angles, shifts, times


def motion(
    volume: torch.Tensor,
    *,
    spacing: float | Sequence[float],
    degrees: float | tuple[float, float] = 10.0,
    translation: float | tuple[float, float] = 10.0,
    num_transforms: int = 2,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """MR motion artefact: k-space assembled from moved copies of the volume, in segments of lines.

    Per sample: ``num_transforms`` rigid moves (angles uniform in ``degrees`` about d, h, w; shifts
    uniform in ``translation`` mm) happening at sorted times in (0, 1) (evenly spaced, jittered by
    ±30 % of a step). Each move gives a copy ``in(R p + t)``; the k-space lines along the last
    axis (W, taken as the phase-encode direction) acquired between two moves come from the copy of
    that period, and the segment holding the k-space centre from the still volume, as in Shaw et
    al. (2019) and TorchIO's ``RandomMotion``. The same result as ``reference.volumes.motion`` given
    those copies; adds the draws and batching (all copies resampled and transformed in one call).

    Args:
        volume: ``[B, C, D, H, W]`` floating, finite.
        spacing: voxel size in mm (the moves are physical).
        degrees, translation: ``v`` means ``(-v, v)``; or ``(min, max)``; degrees in [-180, 180].
        num_transforms: moves per sample, 1..8. generator: randomness.
    """
    _check_volume(volume)
    spacing = _check_spacing(spacing)
    deg = _nonneg_range(degrees, "degrees", high=180.0)
    tr = _nonneg_range(translation, "translation")
    n = check_int(num_transforms, "num_transforms", low=1, high=8)
    generator = check_generator(generator)
    angles, shifts, times = _draw_motion(volume.shape[0], n, deg, tr, generator, volume.device)
    return _motion_core(volume, angles, shifts, times, spacing)


def _motion_core(volume, angles, shifts, times, spacing):
    b, n = times.shape
    cd = compute_dtype(volume.dtype)
    x = volume.to(cd)
    rot = _rotation_matrices(angles.reshape(-1, 3))
    grid = _affine_grid(rot, shifts.reshape(-1, 3).double(), volume.shape[2:], spacing)
    moved = _warp(x.repeat_interleave(n, 0), grid, False).view(b, n, *x.shape[1:])
    spectra = _kspace(torch.cat([x[:, None], moved], 1))  # [B, n + 1, C, D, H, W]
    w = volume.shape[-1]
    bounds = (times.double() * w).floor()  # [B, n]
    line = torch.arange(w, device=volume.device, dtype=torch.float64)
    segment = (line[None, :, None] >= bounds[:, None, :]).sum(-1)  # [B, W] in 0..n
    centre = (times <= 0.5).sum(-1, keepdim=True)  # segment holding the centre gets copy 0 (still)
    copy = torch.where(segment == 0, centre, torch.where(segment == centre, torch.zeros_like(segment), segment))
    pick = F.one_hot(copy, n + 1).permute(0, 2, 1).to(spectra.real.dtype)  # [B, n + 1, W]
    k = (spectra * pick[:, :, None, None, None, :]).sum(1)
    return _image(k).to(volume.dtype)


def gibbs_ringing(
    volume: torch.Tensor,
    *,
    keep: float | tuple[float, float] = (0.3, 0.7),
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Gibbs ringing / lower resolution: keep only the central fraction of k-space along each axis.

    Per sample ``keep`` is drawn uniform in the range (or fixed); frequencies with ``|f| > keep ·
    n / 2`` are zeroed along every axis (a box low-pass filter), so edges blur and ring. The same
    result as ``reference.volumes.gibbs``; adds the draws and batching. MONAI's ``GibbsNoise``
    uses a spherical mask instead of our box, a stated difference.

    Args:
        volume: ``[B, C, D, H, W]`` floating, finite.
        keep: fraction in (0, 1]. generator: randomness.
    """
    _check_volume(volume)
    lo, hi = check_range(keep, "keep", low=0.0, high=1.0, low_inclusive=False)
    generator = check_generator(generator)
    frac = uniform((volume.shape[0],), low=lo, high=hi, generator=generator, device=volume.device)
    cd = compute_dtype(volume.dtype)
    k = _kspace(volume.to(cd))
    for a, size in enumerate(volume.shape[2:]):
        f = (torch.arange(size, device=volume.device) - size // 2).abs().to(torch.float64)
        m = (f[None] <= frac.double()[:, None] * size / 2).to(cd)  # [B, size]
        shape = [volume.shape[0], 1, 1, 1, 1]
        shape[2 + a] = size
        k = k * m.view(shape)
    return _image(k).to(volume.dtype)


# ----------------------------------------------------------------------------------------------
# Patches, Dice
# ----------------------------------------------------------------------------------------------


def sample_patches(
    volume: torch.Tensor,
    label: torch.Tensor,
    *,
    size: int | Sequence[int],
    n: int,
    foreground: float = 0.5,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sample ``n`` patches (with their label patches), a fraction of them centred on the foreground.

    Each patch picks a volume of the batch and a centre: with probability ``foreground`` a voxel
    drawn uniformly among the voxels with ``label > 0`` (over the whole batch), otherwise a voxel
    drawn uniformly anywhere; the patch is then shifted to lie inside the volume. Foreground
    oversampling keeps a small structure in most batches (nnU-Net forces a third of each batch to
    contain foreground; DeepMedic samples half its patches on lesions).

    Args:
        volume: ``[B, C, D, H, W]`` floating, finite. label: ``[B, D, H, W]`` integer map.
        size: patch size per axis (one int or three), each at most the volume's size.
        n: number of patches, >= 1. foreground: probability in [0, 1]. generator: randomness.

    Returns:
        ``(patches [n, C, *size], label_patches [n, *size])``, new tensors.
    """
    _check_volume(volume)
    _check_label(label, volume)
    n = check_int(n, "n", low=1)
    sizes = (size,) * 3 if isinstance(size, int) else tuple(size)
    if len(sizes) != 3:
        raise ValueError(f"size must be an int or 3 ints, got {size!r}")
    sizes = tuple(check_int(s, f"size[{i}]", low=1, high=volume.shape[2 + i]) for i, s in enumerate(sizes))
    fg = check_number(foreground, "foreground", low=0.0, high=1.0)
    generator = check_generator(generator)
    dev = volume.device
    b, dims = volume.shape[0], volume.shape[2:]
    use_fg = uniform((n,), generator=generator, device=dev) < fg
    anywhere = torch.stack([randint(0, m, (n,), generator=generator, device=dev) for m in (b, *dims)], 1)
    where = (label > 0).nonzero()  # [F, 4]: (b, d, h, w)
    if where.shape[0] > 0:
        pick = where[randint(0, where.shape[0], (n,), generator=generator, device=dev)]
        centre = torch.where(use_fg[:, None], pick, anywhere)
    else:
        centre = anywhere
    idx = [centre[:, 0]]
    for a, (m, p) in enumerate(zip(dims, sizes, strict=True)):
        start = (centre[:, 1 + a] - p // 2).clamp(0, m - p)
        idx.append(start[:, None] + torch.arange(p, device=dev)[None])  # [n, p]
    bi, di, hi, wi = idx
    sel = (bi[:, None, None, None], di[:, :, None, None], hi[:, None, :, None], wi[:, None, None, :])
    patches = volume.permute(0, 2, 3, 4, 1)[sel].permute(0, 4, 1, 2, 3).contiguous()
    return patches, label[sel].contiguous()


def dice_ce_loss(logits: torch.Tensor, target: torch.Tensor, *, smooth: float = 1.0) -> torch.Tensor:
    """Cross-entropy plus soft Dice loss for segmentation, the usual pair (nnU-Net's default).

    ``CE(logits, target) + 1 - mean_k (2 Σ p_k t_k + smooth) / (Σ p_k + Σ t_k + smooth)``, with
    ``p = softmax(logits)`` and sums over the batch and every voxel (the "batch Dice").

    Args:
        logits: ``[B, K, D, H, W]`` floating. target: ``[B, D, H, W]`` integer classes in 0..K-1.
        smooth: > 0, keeps an absent class from dividing by zero.

    Returns:
        A scalar tensor with a gradient (usable in ``training.fit(..., loss=...)``).
    """
    check_tensor(logits, "logits", ndim=5, floating=True, nonempty=True)
    check_tensor(target, "target", ndim=4)
    if tuple(target.shape) != (logits.shape[0], *logits.shape[2:]):
        raise ValueError(f"target must be logits' [B, D, H, W], got {tuple(target.shape)} for {tuple(logits.shape)}")
    smooth = check_positive(smooth, "smooth")
    ce = F.cross_entropy(logits, target)
    p = logits.softmax(1)
    t = F.one_hot(target, logits.shape[1]).permute(0, 4, 1, 2, 3).to(p.dtype)
    dims = (0, 2, 3, 4)
    dice = (2 * (p * t).sum(dims) + smooth) / (p.sum(dims) + t.sum(dims) + smooth)
    return ce + 1 - dice.mean()
