"""Speed-only kernels of ``lessonlib.ecg``: in-place adds into one output buffer, fast reductions.

Nothing here validates or draws parameters: ``lessonlib.ecg`` does that at its public entry and
calls these on a batch ``[B, L, T]`` in the compute dtype. Each kernel computes what a formula of
``lessonlib.reference.ecg`` says (the tests compare the public functions with it), in one pass and
without a loop over records.
"""

from __future__ import annotations

import math

import torch

from lessonlib.utils import normal

# Rows: the 12 standard leads; columns: electrode potentials RA, LA, LL, V1..V6.
ELECTRODE_TO_LEAD = torch.zeros(12, 9, dtype=torch.float64)
ELECTRODE_TO_LEAD[0, :3] = torch.tensor([-1.0, 1.0, 0.0])  # I = LA - RA
ELECTRODE_TO_LEAD[1, :3] = torch.tensor([-1.0, 0.0, 1.0])  # II = LL - RA
ELECTRODE_TO_LEAD[2, :3] = torch.tensor([0.0, -1.0, 1.0])  # III = LL - LA
ELECTRODE_TO_LEAD[3, :3] = torch.tensor([1.0, -0.5, -0.5])  # aVR = RA - (LA + LL)/2
ELECTRODE_TO_LEAD[4, :3] = torch.tensor([-0.5, 1.0, -0.5])  # aVL
ELECTRODE_TO_LEAD[5, :3] = torch.tensor([-0.5, -0.5, 1.0])  # aVF
for _i in range(6):  # Vi - Wilson central terminal (RA + LA + LL)/3
    ELECTRODE_TO_LEAD[6 + _i, :3] = -1.0 / 3.0
    ELECTRODE_TO_LEAD[6 + _i, 3 + _i] = 1.0

# Rows III, aVR, aVL, aVF (leads 2..5) as the device computes them from I and II (columns).
DERIVED_FROM_I_II = torch.tensor([[-1.0, 1.0], [-0.5, -0.5], [1.0, -0.5], [-0.5, 1.0]], dtype=torch.float64)
# What a waveform w added to I, II and V1..V6 becomes on each of the 12 leads in "derived" mode.
DERIVED_COMMON = torch.tensor([1.0, 1.0, 0.0, -1.0, 0.5, 0.5] + [1.0] * 6, dtype=torch.float64)


def mean_square(xb: torch.Tensor) -> torch.Tensor:
    """Mean of ``xb**2`` per record, ``[B, 1, 1]`` in ``xb``'s dtype (a fast reduction, no temporary)."""
    n = xb.shape[1] * xb.shape[2]
    return torch.linalg.vector_norm(xb, dim=(1, 2), keepdim=True).square() / n


def record_power(xb: torch.Tensor) -> torch.Tensor:
    """Each lead's variance (mean removed), averaged over the leads: ``[B, 1, 1]`` in mV².

    E[x²] − E[x]² per lead from two fast reductions (no batch-sized temporary).
    """
    n = xb.shape[-1]
    ms = torch.linalg.vector_norm(xb, dim=-1, keepdim=True).square() / n
    mean = xb.sum(dim=-1, keepdim=True) / n
    return (ms - mean.square()).clamp_min(0).mean(dim=1, keepdim=True)


def fill_normal(out: torch.Tensor, generator: torch.Generator | None) -> None:
    """Fill ``out`` in place with N(0, 1) draws from ``generator`` (drawn on the generator's device)."""
    gdev = generator.device if generator is not None else torch.device("cpu")
    if out.device == gdev:
        out.normal_(generator=generator)
    else:
        out.copy_(normal(out.shape, generator=generator, device=gdev, dtype=out.dtype))


def fill_noise(out: torch.Tensor, mode: str, generator: torch.Generator | None) -> None:
    """Fill ``out [B, L, T]`` with N(0, 1) noise per lead; ``"derived"``: then recompute III, aVR, aVL,
    aVF from I and II; ``"electrodes"``: noise at the nine electrodes projected onto the 12 leads."""
    if mode == "electrodes":
        b, _, n = out.shape
        e = torch.empty((b, 9, n), dtype=out.dtype, device=out.device)
        fill_normal(e, generator)
        out.copy_(torch.einsum("le,bet->blt", ELECTRODE_TO_LEAD.to(device=out.device, dtype=out.dtype), e))
        return
    fill_normal(out, generator)
    if mode == "derived":
        d = DERIVED_FROM_I_II.to(device=out.device, dtype=out.dtype)
        out[:, 2:6] = torch.einsum("dk,bkt->bdt", d, out[:, :2])


def add_projected(out: torch.Tensor, wave: torch.Tensor, mode: str) -> None:
    """Add source waveforms ``wave [B, S, T]`` to ``out [B, L, T]`` in place, as ``mode`` says.

    ``"common"``: S = 1, added to every lead. ``"independent"``: S = L. ``"derived"``: S = 1, added
    to I, II, V1..V6 and carried into III, aVR, aVL, aVF by the device formulas. ``"electrodes"``:
    S = 9 electrode potentials projected onto the 12 leads.
    """
    if mode == "electrodes":
        out.add_(torch.einsum("le,bet->blt", ELECTRODE_TO_LEAD.to(device=out.device, dtype=out.dtype), wave))
    elif mode == "derived":
        out.addcmul_(wave, DERIVED_COMMON.to(device=out.device, dtype=out.dtype).view(1, 12, 1))
    else:
        out.add_(wave)


def add_sinusoid(
    out: torch.Tensor, fs: float, amplitude: torch.Tensor, freq_hz: torch.Tensor, phase: torch.Tensor, mode: str
) -> None:
    """Add ``A·sin(2π f n / fs + φ)`` (parameters ``[B, S, 1]``) to ``out`` in place, projected by ``mode``.

    The phase ``2π·frac(n·f/fs) + φ`` is computed in float64 from the integer sample number ``n``, so it
    stays exact on records of any length; the sine itself is taken in ``out``'s dtype.
    """
    n64 = torch.arange(out.shape[-1], device=out.device, dtype=torch.float64).view(1, 1, -1)
    cycles = torch.frac(n64 * (freq_hz / fs))  # [B, S, T] float64
    arg = cycles.mul_(2 * math.pi).add_(phase).to(out.dtype)
    add_projected(out, arg.sin_().mul_(amplitude), mode)


def resample_linear(xb: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``xb [B, L, T]`` read at positions ``n / factor`` (``factor [B, 1, 1]`` float64), linear
    interpolation, positions clamped to ``[0, T − 1]``: a new tensor of ``xb``'s shape."""
    b, n_leads, n = xb.shape
    pos = (torch.arange(n, device=xb.device, dtype=torch.float64).view(1, 1, n) / factor).clamp(0, n - 1)
    i0 = pos.floor().long().clamp(max=n - 1)
    i1 = (i0 + 1).clamp(max=n - 1)
    w = (pos - i0.to(pos.dtype)).to(xb.dtype)
    shape = (b, n_leads, n)
    return torch.lerp(torch.gather(xb, -1, i0.expand(shape)), torch.gather(xb, -1, i1.expand(shape)), w)
