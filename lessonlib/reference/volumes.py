"""Reference versions of the techniques of ``lessonlib.volumes`` (see ``lessonlib.reference``).

Volumes are ``[C, D, H, W]`` (one sample; the fast module takes batches ``[B, C, D, H, W]``) with a
voxel ``spacing = (sd, sh, sw)`` in mm. Physical coordinates are centred: voxel ``i`` of an axis of
``n`` voxels sits at ``(i - (n - 1) / 2) * s`` mm, so the volume's centre is the origin.
k-space is ``fftshift(fftn(x))`` over the three spatial axes, the centre (``n // 2``) being 0 Hz.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lessonlib.reference.dense import dice as binary_dice

__all__ = [
    "ct_window",
    "ct_dose_noise",
    "resample",
    "affine",
    "elastic",
    "bias_field",
    "ghosting",
    "spike",
    "motion",
    "gibbs",
    "dice",
]


def _centred(n: int, s: float) -> torch.Tensor:
    """Physical positions (mm) of the ``n`` voxel centres of an axis with spacing ``s``."""
    return (torch.arange(n, dtype=torch.float64) - (n - 1) / 2) * s


def _sample(volume: torch.Tensor, points: torch.Tensor, spacing, mode: str = "bilinear") -> torch.Tensor:
    """``volume`` ``[C, D, H, W]`` sampled at physical points ``[d, h, w, 3]`` (mm); zero outside."""
    half = torch.tensor([(n - 1) / 2 * s for n, s in zip(volume.shape[1:], spacing, strict=True)], dtype=torch.float64)
    grid = (points / half).flip(-1).to(volume.dtype)  # grid_sample wants (x, y, z) = (w, h, d)
    return F.grid_sample(volume[None], grid[None], mode=mode, padding_mode="zeros", align_corners=True)[0]


def ct_window(hu: torch.Tensor, level: float, width: float) -> torch.Tensor:
    """A CT display window: ``clip((HU - (level - width / 2)) / width, 0, 1)``.

    Hounsfield units (Hounsfield, 1973) put water at 0 and air at -1000; a window maps the band
    ``level ± width / 2`` to [0, 1] (e.g. lung: level -600, width 1500; soft tissue: 40, 400).
    """
    assert width > 0
    return ((hu - (level - width / 2)) / width).clamp(0, 1)


def ct_dose_noise(hu: torch.Tensor, noise: torch.Tensor, dose: float, sigma_full_dose: float) -> torch.Tensor:
    """A lower-dose CT from a full-dose one: ``HU + sigma_full_dose · sqrt(1/dose - 1) · z``.

    Quantum noise variance grows as 1 / dose, so a scan with noise ``sigma`` at full dose has
    ``sigma / sqrt(dose)`` at ``dose``; ``z`` = ``noise`` is standard normal of ``hu``'s shape (white
    noise, where real CT noise is correlated; Massoumzadeh et al., 2009 add it to the projections).
    """
    assert 0 < dose <= 1 and noise.shape == hu.shape
    return hu + sigma_full_dose * (1 / dose - 1) ** 0.5 * noise


def resample(volume: torch.Tensor, spacing, new_spacing, label: bool = False) -> torch.Tensor:
    """Resample ``[C, D, H, W]`` from ``spacing`` to ``new_spacing`` (mm), keeping the centre fixed.

    New size per axis ``m = floor(n * s / s')``; new voxel ``j`` reads the old index position
    ``x_j = (n - 1) / 2 + (j - (m - 1) / 2) · s' / s`` by trilinear interpolation, or, for a label
    map, the nearest voxel ``floor(x_j + 0.5)`` (never blend labels; ties round up as in ITK). The
    grid is TorchIO's ``Resample`` (Pérez-García et al., 2021); nnU-Net (Isensee et al., 2021)
    resamples every case to one target spacing the same way (images smooth, labels by class).
    """
    assert volume.ndim == 4 and len(spacing) == len(new_spacing) == 3
    sizes = [max(int(n * s // t), 1) for n, s, t in zip(volume.shape[1:], spacing, new_spacing, strict=True)]
    pos = [
        (n - 1) / 2 + (torch.arange(m, dtype=torch.float64) - (m - 1) / 2) * t / s
        for n, m, s, t in zip(volume.shape[1:], sizes, spacing, new_spacing, strict=True)
    ]
    if label:  # nearest neighbour: the voxel whose index is closest; 0 outside the old grid
        idx = torch.meshgrid(*[(p + 0.5).floor().long() for p in pos], indexing="ij")
        inside = torch.stack([(i >= 0) & (i < n) for i, n in zip(idx, volume.shape[1:], strict=True)]).all(0)
        clamped = [i.clamp(0, n - 1) for i, n in zip(idx, volume.shape[1:], strict=True)]
        return volume[:, clamped[0], clamped[1], clamped[2]] * inside
    mm = [(p - (n - 1) / 2) * s for p, n, s in zip(pos, volume.shape[1:], spacing, strict=True)]
    points = torch.stack(torch.meshgrid(*mm, indexing="ij"), dim=-1)  # the same positions in mm
    return _sample(volume.double(), points, spacing).to(volume.dtype)


def affine(volume: torch.Tensor, matrix: torch.Tensor, offset: torch.Tensor, spacing, label: bool = False):
    """Resample ``[C, D, H, W]`` under an affine map in physical space: ``out(p) = in(A p + t)``.

    ``p`` is a voxel centre in mm (centred, axes (d, h, w)), ``A`` = ``matrix`` ``[3, 3]``,
    ``t`` = ``offset`` ``[3]`` in mm; trilinear (nearest for labels), zero outside. Working in mm is
    what keeps a rotation a rotation on an anisotropic grid (Pérez-García et al., 2021, TorchIO's
    ``RandomAffine``; 3-D augmentation for segmentation: Çiçek et al., 2016).
    """
    assert volume.ndim == 4 and matrix.shape == (3, 3) and offset.shape == (3,)
    axes = [_centred(n, s) for n, s in zip(volume.shape[1:], spacing, strict=True)]
    p = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    q = p @ matrix.double().T + offset.double()
    return _sample(volume.double(), q, spacing, "nearest" if label else "bilinear").to(volume.dtype)


def elastic(volume: torch.Tensor, control: torch.Tensor, spacing, label: bool = False) -> torch.Tensor:
    """Elastic deformation: ``out(p) = in(p + u(p))``, ``u`` interpolated from control points.

    ``control`` ``[3, k, k, k]`` holds displacements (mm, axes (d, h, w)) on a coarse grid spanning
    the volume; ``u`` is their trilinear interpolation at every voxel (Çiçek et al., 2016 deform 3-D
    volumes with random displacements on a coarse grid and B-spline interpolation; TorchIO uses a
    cubic B-spline, this reference a piecewise-linear one).
    """
    assert volume.ndim == 4 and control.ndim == 4 and control.shape[0] == 3
    size = volume.shape[1:]
    u = F.interpolate(control[None].double(), size=size, mode="trilinear", align_corners=True)[0]
    axes = [_centred(n, s) for n, s in zip(size, spacing, strict=True)]
    p = torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1)
    return _sample(volume.double(), p + u.permute(1, 2, 3, 0), spacing, "nearest" if label else "bilinear").to(
        volume.dtype
    )


def bias_field(volume: torch.Tensor, coefficients, order: int) -> torch.Tensor:
    """MR bias field: ``out = x · exp(Σ_{i+j+k ≤ order} c_ijk d^i h^j w^k)``, coordinates in [-1, 1].

    A smooth multiplicative intensity non-uniformity modelled, as by Van Leemput et al. (1999), by
    a low-order polynomial (here of the log-gain). ``coefficients`` are listed with ``i`` slowest
    and ``k`` fastest, TorchIO's ``BiasField`` order.
    """
    d, h, w = (torch.linspace(-1, 1, n, dtype=torch.float64) for n in volume.shape[1:])
    dd, hh, ww = torch.meshgrid(d, h, w, indexing="ij")
    log_field, n = torch.zeros_like(dd), 0
    for i in range(order + 1):
        for j in range(order + 1 - i):
            for k in range(order + 1 - i - j):
                log_field += float(coefficients[n]) * dd**i * hh**j * ww**k
                n += 1
    assert n == len(coefficients)
    return (volume.double() * log_field.exp()).to(volume.dtype)


def _kspace(x: torch.Tensor) -> torch.Tensor:
    return torch.fft.fftshift(torch.fft.fftn(x.double(), dim=(-3, -2, -1)), dim=(-3, -2, -1))


def _image(k: torch.Tensor) -> torch.Tensor:
    return torch.fft.ifftn(torch.fft.ifftshift(k, dim=(-3, -2, -1)), dim=(-3, -2, -1)).real


def ghosting(volume: torch.Tensor, num_ghosts: int, axis: int, intensity: float) -> torch.Tensor:
    """MR ghosting: every ``num_ghosts``-th k-space plane along ``axis`` scaled by ``1 - intensity``.

    Periodic signal changes during the acquisition (breathing, pulsation) modulate the phase-encode
    lines, which shows as shifted copies of the object (Zaitsev et al., 2015); the central plane
    (0 Hz) is kept. TorchIO's ``Ghosting`` with ``restore=None``; ``axis`` 0, 1 or 2 is (d, h, w).
    """
    assert volume.ndim == 4 and num_ghosts >= 1 and 0 <= intensity <= 1
    k = _kspace(volume)
    n = volume.shape[1 + axis]
    for j in range(0, n, num_ghosts):
        if j != n // 2:
            k.select(1 + axis, j).mul_(1 - intensity)
    return _image(k).to(volume.dtype)


def spike(volume: torch.Tensor, positions: torch.Tensor, intensity: float) -> torch.Tensor:
    """MR spike (herringbone): one k-space sample per spike raised by ``intensity · max|K|``.

    ``positions`` ``[S, 3]`` are fractions in [0, 1) of each axis of the shifted k-space; a spike
    of RF noise at one k-space point is a stripe pattern across the whole image (as in TorchIO's
    ``Spike``, Pérez-García et al., 2021). Each channel uses its own ``max|K|``; the real part is kept.
    """
    assert volume.ndim == 4 and positions.ndim == 2 and positions.shape[1] == 3
    k = _kspace(volume)
    sizes = torch.tensor(volume.shape[1:])
    for c in range(volume.shape[0]):
        peak = k[c].abs().max()
        for pos in positions:
            i, j, m = (pos.double() * sizes).floor().long().tolist()
            k[c, i, j, m] += intensity * peak
    return _image(k).to(volume.dtype)


def motion(volume: torch.Tensor, copies: list[torch.Tensor], times: list[float]) -> torch.Tensor:
    """MR motion: k-space lines (last axis) taken in segments from moved copies of the volume.

    ``copies`` are the volume after each movement (same shape), ``times`` in (0, 1) the sorted
    moments they happen; segment ``s`` of the last k-space axis (``[t_{s-1}, t_s) · n``) comes
    from copy ``s`` (copy 0 = ``volume``), and the segment holding the k-space centre is swapped
    with the first so that the contrast comes from the still volume (Shaw et al., 2019; TorchIO).
    """
    assert len(copies) == len(times) and all(c.shape == volume.shape for c in copies)
    spectra = [_kspace(v) for v in [volume, *copies]]
    n = volume.shape[-1]
    bounds = [0] + [int(n * t) for t in times] + [n]
    centre = next((s for s, t in enumerate(times) if t > 0.5), len(times))
    spectra[0], spectra[centre] = spectra[centre], spectra[0]
    k = torch.empty_like(spectra[0])
    for s, spectrum in enumerate(spectra):
        k[..., bounds[s] : bounds[s + 1]] = spectrum[..., bounds[s] : bounds[s + 1]]
    return _image(k).to(volume.dtype)


def gibbs(volume: torch.Tensor, keep: float) -> torch.Tensor:
    """Gibbs ringing / low resolution: keep only the central ``keep`` fraction of k-space per axis.

    Truncating k-space is a box low-pass filter; its sinc response rings at sharp edges, the Gibbs
    artefact (Kellner et al., 2016). ``keep = 1`` returns the volume (up to rounding).
    """
    assert volume.ndim == 4 and 0 < keep <= 1
    k = _kspace(volume)
    for axis, n in enumerate(volume.shape[1:]):
        freq = torch.arange(n) - n // 2  # integer frequency of each shifted plane
        mask = (freq.abs() <= keep * n / 2).to(k.real.dtype)
        k = k * mask.view([-1 if a == axis else 1 for a in range(3)])
    return _image(k).to(volume.dtype)


def dice(pred: torch.Tensor, target: torch.Tensor, label: int) -> float:
    """Dice overlap of one class of two integer label maps of the same shape (Dice, 1945): the binary
    Dice of ``reference.dense.dice`` applied to the masks ``pred == label`` and ``target == label``."""
    assert pred.shape == target.shape
    return binary_dice(pred == label, target == label)
