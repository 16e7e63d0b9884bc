"""Small shared utilities: device choice, seeding, random draws from a ``torch.Generator``, validation.

Every other lessonlib module may import this one; it imports no other lessonlib module.

Randomness convention (used across the course)
----------------------------------------------
Functions that draw random numbers take ``generator: torch.Generator | None``. ``None`` means torch's
global generator. Numbers are drawn on the generator's own device and then moved to the device of the
data, so a CPU generator works for CUDA tensors (and a CUDA generator avoids the copy). numpy's and
Python's global RNGs are never used.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

__all__ = [
    "device",
    "make_generator",
    "seeded",
    "uniform",
    "normal",
    "randint",
    "randperm",
    "sample_beta",
    "check_tensor",
    "check_labels",
    "check_number",
    "check_int",
    "check_bool",
    "check_one_of",
    "check_generator",
    "check_seed",
    "check_shape",
    "check_probability",
    "check_positive",
    "check_range",
    "compute_dtype",
    "LOW_PRECISION",
    "forked_cpu_rng",
    "progress_bar",
    "STATIC_ENV",
]

DEVICE_ENV = "LESSONLIB_DEVICE"
#: Set to ``1`` for headless runs (nbval, ``make outputs``): widgets become static figures and
#: progress bars are switched off, so stored outputs hold results, not a frozen "0%" bar.
STATIC_ENV = "LESSONLIB_STATIC"


def device() -> torch.device:
    """The device the course runs on: CUDA when available, else CPU.

    Set the environment variable ``LESSONLIB_DEVICE`` (e.g. ``cpu``, ``cuda``, ``cuda:1``) to override.

    Returns:
        A ``torch.device``.

    Raises:
        ValueError: if ``LESSONLIB_DEVICE`` names a device that is not usable here.
    """
    wanted = os.environ.get(DEVICE_ENV, "").strip()
    if wanted:
        try:
            dev = torch.device(wanted)
        except RuntimeError as exc:
            raise ValueError(f"{DEVICE_ENV}={wanted!r} is not a device name; expected e.g. 'cpu' or 'cuda'") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{DEVICE_ENV}={wanted!r} but CUDA is not available on this machine")
        return dev
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def make_generator(seed: int, device: torch.device | str | None = "cpu") -> torch.Generator:
    """A ``torch.Generator`` seeded with ``seed`` on ``device`` (CPU by default).

    Args:
        seed: a non-negative integer.
        device: where the generator lives; keep the default CPU for results that are identical on
            CPU and GPU runs (draws are moved to the data's device afterwards).

    Returns:
        A seeded generator; two generators made with the same seed give the same stream.
    """
    seed = check_seed(seed)
    g = torch.Generator(device=device if device is not None else "cpu")
    g.manual_seed(seed)
    return g


# The global RNG is one per process: two threads inside ``seeded`` at once would interleave their
# draws. The lock makes each ``seeded`` block atomic, so experiments may run in threads
# (``lessonlib.experiments.map_seeds``) and still initialise the same weights as run one by one.
_SEEDED_LOCK = threading.RLock()


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Context manager: torch's global RNG (CPU and CUDA) seeded with ``seed`` inside, restored after.

    Use it for code that can only draw from the global RNG, such as ``nn.Module`` weight
    initialisation: ``with seeded(0): model = SmallCNN()``. The block holds a process-wide lock, so
    it is safe in threads (and should stay short: build the model inside it, train outside).
    """
    seed = check_seed(seed)
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with _SEEDED_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def progress_bar(*, total: int, desc: str, enabled: bool = True) -> Any:
    """A ``tqdm.auto`` bar (a widget in JupyterLab, text on stderr in a terminal) over ``total`` steps.

    Switched off when ``enabled`` is False or in headless runs (``LESSONLIB_STATIC=1``), where nobody
    watches it and a stored notebook would show it frozen mid-way. The bar disappears when closed.
    """
    from tqdm.auto import tqdm

    off = not enabled or os.environ.get(STATIC_ENV, "") == "1"
    return tqdm(total=total, desc=desc, disable=off, leave=False)


@contextlib.contextmanager
def forked_cpu_rng(seed: int) -> Iterator[None]:
    """Context manager: torch's global *CPU* generator seeded with ``seed`` inside, restored after.

    For library code that can only draw from the global RNG (``torch.distributions``, torchvision's
    random transforms, which draw their parameters on the CPU) but must be reproducible from a
    ``torch.Generator``: draw ``seed`` from that generator, then run the code inside. Unlike
    ``torch.manual_seed``, it leaves the CUDA generators alone, and it holds the same lock as
    ``seeded``, so threads cannot interleave their draws.
    """
    seed = check_seed(seed)
    with _SEEDED_LOCK, torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)
        yield


def _gen_device(generator: torch.Generator | None) -> torch.device:
    check_generator(generator)
    return generator.device if generator is not None else torch.device("cpu")


def uniform(
    shape: Sequence[int] | int,
    *,
    low: float = 0.0,
    high: float = 1.0,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Uniform draws in ``[low, high)`` of ``shape``, from ``generator``, returned on ``device``.

    ``low <= high`` are finite numbers; ``shape`` is a count or a sequence of counts >= 0. The draws
    are made in float32 on the generator's device (so a seed gives the same numbers on any device)
    and then cast to ``dtype``, a floating dtype.
    """
    shape = check_shape(shape)
    lo = check_number(low, "low")
    hi = check_number(high, "high", low=lo)
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    low, high = lo, hi
    u = torch.rand(shape, generator=generator, device=_gen_device(generator), dtype=torch.float32)
    u = low + (high - low) * u
    return u.to(device=device if device is not None else u.device, dtype=dtype)


def normal(
    shape: Sequence[int] | int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Standard normal draws of ``shape`` from ``generator``, returned on ``device`` in ``dtype``.

    ``shape`` is a count or a sequence of counts >= 0; ``dtype`` a floating dtype.
    """
    shape = check_shape(shape)
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating dtype, got {dtype}")
    gdev = _gen_device(generator)
    target = torch.device(device) if device is not None else gdev
    if target == gdev:
        return torch.randn(shape, generator=generator, device=gdev, dtype=dtype)
    return torch.randn(shape, generator=generator, device=gdev, dtype=torch.float32).to(target, dtype)


def randint(
    low: int,
    high: int,
    shape: Sequence[int] | int,
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Integers uniform in ``[low, high)`` of ``shape`` (int64) from ``generator``, on ``device``.

    ``low < high`` are integers; ``shape`` is a count or a sequence of counts >= 0.
    """
    low = check_int(low, "low")
    high = check_int(high, "high")
    if high <= low:
        raise ValueError(f"high must be > low for integers in [low, high), got low={low}, high={high}")
    shape = check_shape(shape)
    out = torch.randint(low, high, shape, generator=generator, device=_gen_device(generator))
    return out.to(device) if device is not None else out


def randperm(
    n: int, *, generator: torch.Generator | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """A random permutation of ``0..n-1`` (int64) from ``generator``, on ``device`` (``n >= 0``)."""
    n = check_int(n, "n", low=0)
    out = torch.randperm(n, generator=generator, device=_gen_device(generator))
    return out.to(device) if device is not None else out


def sample_beta(
    alpha: float,
    beta: float,
    shape: Sequence[int] | int = (),
    *,
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Draws from Beta(``alpha``, ``beta``) of ``shape``, reproducible from ``generator``.

    ``torch.distributions.Beta`` cannot take a generator, so we draw one seed from ``generator`` and
    sample inside ``forked_cpu_rng``: the result depends only on the generator's state, torch's
    global RNG is left exactly as it was, and concurrent calls from threads do not interfere.
    """
    check_positive(alpha, "alpha")
    check_positive(beta, "beta")
    shape = check_shape(shape)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=_gen_device(generator)).item())
    with forked_cpu_rng(seed):
        dist = torch.distributions.Beta(
            torch.tensor(float(alpha), dtype=torch.float64), torch.tensor(float(beta), dtype=torch.float64)
        )
        draws = dist.sample(shape)
    return draws.to(device=device if device is not None else "cpu", dtype=dtype)


# ----------------------------------------------------------------------------------------------
# Validation: every message names the parameter, what came and what was expected.
# ----------------------------------------------------------------------------------------------


def _describe(v: object) -> str:
    """``repr`` of a rejected value, shortened so an error message stays one line."""
    text = repr(v)
    return text if len(text) <= 80 else text[:77] + "..."


def _real_scalar(v: object) -> float | None:
    """``v`` as a Python float if it is a real scalar (not bool), else None.

    Accepts Python ints and floats, numpy scalars and 0-d arrays of a real dtype, and 0-d tensors of
    a real dtype (on any device). Bools (Python, numpy or torch) are refused: ``True`` is almost always
    a slip for a flag, not the number 1.
    """
    if type(v) is float or type(v) is int:  # the common case first: called on every random draw
        return float(v)
    if isinstance(v, (bool, np.bool_)):
        return None
    if isinstance(v, numbers.Real):
        return float(v)
    if isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iuf":
        return float(v)
    if isinstance(v, torch.Tensor) and v.ndim == 0 and v.dtype != torch.bool and not v.is_complex():
        return float(v.item())
    return None


def check_number(
    v: object,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    finite: bool = True,
) -> float:
    """Validate a real scalar, optionally bounded; returns it as a Python float.

    Args:
        v: the value. Any real scalar is accepted: ``int``, ``float``, numpy scalars and 0-d arrays,
            0-d tensors. Bools, strings, ``None``, sequences and complex numbers are refused.
        name: the parameter's name, used in the error message.
        low, high: optional bounds; ``low_inclusive``/``high_inclusive`` say whether they are allowed.
        finite: refuse NaN and ±inf (default). NaN is always refused: it fails every comparison, so it
            would otherwise pass any bound check unnoticed.

    Raises:
        TypeError: ``v`` is not a real scalar.
        ValueError: NaN, infinite (when ``finite``), or outside the bounds; the message names ``name``,
            what came and what was expected.
    """
    f = _real_scalar(v)
    if f is None:
        raise TypeError(f"{name} must be a real number, got {type(v).__name__} {_describe(v)}")
    if math.isnan(f):
        raise ValueError(f"{name} must be a number, got NaN")
    if finite and math.isinf(f):
        raise ValueError(f"{name} must be finite, got {f}")
    if low is not None and (f < low or (f == low and not low_inclusive)):
        raise ValueError(f"{name} must be {'>=' if low_inclusive else '>'} {low}, got {_describe(v)}")
    if high is not None and (f > high or (f == high and not high_inclusive)):
        raise ValueError(f"{name} must be {'<=' if high_inclusive else '<'} {high}, got {_describe(v)}")
    return f


def check_int(v: object, name: str, *, low: int | None = None, high: int | None = None) -> int:
    """Validate an integer (Python int, numpy integer, 0-d integer array or tensor); returns an ``int``.

    Floats are refused even when integral-valued (``2.0``), so ``seeds=[0.5, 1.5]`` cannot be silently
    truncated; bools are refused. ``low``/``high`` are inclusive bounds.

    Raises:
        TypeError: not an integer. ValueError: outside ``[low, high]``. Messages name ``name``.
    """
    out: int | None = None
    if type(v) is int:  # the common case first (``type`` is exact: a bool is not an int here)
        out = v
    elif isinstance(v, (bool, np.bool_)):
        out = None
    elif isinstance(v, numbers.Integral):
        out = int(v)
    elif isinstance(v, np.ndarray) and v.ndim == 0 and v.dtype.kind in "iu":
        out = int(v)
    elif isinstance(v, torch.Tensor) and v.ndim == 0 and not v.is_floating_point() and not v.is_complex():
        if v.dtype != torch.bool:
            out = int(v.item())
    if out is None:
        raise TypeError(f"{name} must be an integer, got {type(v).__name__} {_describe(v)}")
    if low is not None and out < low:
        raise ValueError(f"{name} must be >= {low}, got {out}")
    if high is not None and out > high:
        raise ValueError(f"{name} must be <= {high}, got {out}")
    return out


def check_bool(v: object, name: str) -> bool:
    """Validate a flag: ``True``/``False`` (or a numpy bool); returns a Python ``bool``.

    Raises:
        TypeError: anything else (``0``, ``"yes"``, ``None``), naming ``name``.
    """
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    raise TypeError(f"{name} must be True or False, got {type(v).__name__} {_describe(v)}")


def check_one_of(v: object, name: str, options: Sequence[Any]) -> Any:
    """Validate that ``v`` is one of ``options`` (compared with ``==``); returns ``v``.

    Raises:
        ValueError: naming ``name``, what came and the allowed options.
    """
    try:
        ok = any(v == o and type(v) is type(o) for o in options)
    except Exception:  # noqa: BLE001 - an exotic == is simply "not one of them"
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {list(options)!r}, got {_describe(v)}")
    return v


def check_generator(generator: object, name: str = "generator") -> torch.Generator | None:
    """Validate an optional ``torch.Generator``; returns it unchanged (``None`` stays ``None``).

    Raises:
        TypeError: anything else, e.g. an int seed (use ``lessonlib.make_generator(seed)``).
    """
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    hint = "; make one with lessonlib.make_generator(seed)" if _real_scalar(generator) is not None else ""
    raise TypeError(f"{name} must be a torch.Generator or None, got {type(generator).__name__}{hint}")


#: Largest seed a ``torch.Generator`` accepts (its state is seeded from an unsigned 64-bit integer).
MAX_SEED = 2**64 - 1


def check_seed(seed: object, name: str = "seed") -> int:
    """Validate a seed: an integer in ``[0, 2**64 - 1]`` (what ``torch.Generator.manual_seed`` takes).

    Raises:
        TypeError: not an integer (``0.5``, ``"1"``, ``True``). ValueError: negative or too large.
    """
    return check_int(seed, name, low=0, high=MAX_SEED)


def check_shape(shape: object, name: str = "shape") -> tuple[int, ...]:
    """Validate a tensor shape: a count ``n >= 0`` or a sequence of them; returns a tuple of ints.

    Raises:
        TypeError: not an integer or a sequence of integers. ValueError: a negative size.
    """
    if type(shape) is int and shape >= 0:
        return (shape,)
    if isinstance(shape, torch.Size):
        return tuple(shape)
    if type(shape) is tuple and all(type(s) is int and s >= 0 for s in shape):
        return shape
    if isinstance(shape, (list, tuple)):
        return tuple(check_int(s, f"{name}[{i}]", low=0) for i, s in enumerate(shape))
    return (check_int(shape, name, low=0),)


#: Floating dtypes too coarse to compute in: results are computed in float32 and returned in the input's dtype.
LOW_PRECISION = (torch.float16, torch.bfloat16)


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype to compute in for data of ``dtype``: float32 for float16/bfloat16, else ``dtype`` itself.

    float16 overflows at 65504 (a variance of ordinary lab values does) and many CPU kernels
    (``ndtri``, ``lu``) do not exist for half precision; computing in float32 and casting the result
    back keeps the caller's dtype without those failures.
    """
    return torch.float32 if dtype in LOW_PRECISION else dtype


def check_tensor(
    x: object,
    name: str,
    *,
    ndim: int | Sequence[int] | None = None,
    floating: bool = False,
    finite: bool = False,
    nonempty: bool = False,
) -> torch.Tensor:
    """Validate that ``x`` is a tensor with an allowed number of dimensions (and optionally float/finite).

    Args:
        x: the value to check.
        name: the parameter's name, used in the message.
        ndim: allowed number(s) of dimensions.
        floating: require a floating-point dtype (float16/bfloat16 included; see ``compute_dtype``).
        finite: refuse NaN and ±inf.
        nonempty: refuse a tensor with no elements.

    Returns ``x`` unchanged so it can be used inline. Raises ``TypeError``/``ValueError`` whose
    message names ``name``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {tuple(x.shape)}"
            )
    if floating and not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if nonempty and x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}); expected at least one element")
    if finite and x.is_floating_point() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values; expected finite numbers")
    return x


def check_labels(
    labels: object, name: str, *, n: int | None = None, num_classes: int | None = None, rows_of: str = "x"
) -> torch.Tensor:
    """Validate integer class labels ``[N]``: an integer (not bool) 1-D tensor, optionally of length
    ``n`` (the rows of the tensor named ``rows_of``) and with values in ``0..num_classes-1``.

    Returns ``labels`` unchanged. Raises ``TypeError``/``ValueError`` whose message names ``name``.
    """
    check_tensor(labels, name, ndim=1)
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer class labels, got dtype {labels.dtype}")
    if n is not None and labels.shape[0] != n:
        raise ValueError(f"{rows_of} has {n} rows but {name} has {labels.shape[0]}; they must match")
    if num_classes is not None and labels.numel():
        lo, hi = int(labels.min()), int(labels.max())
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"{name} must hold labels in 0..{num_classes - 1} ({num_classes} classes), got {lo}..{hi}")
    return labels


def check_probability(p: object, name: str) -> float:
    """Validate a probability in [0, 1] (any real scalar, NaN refused); returns it as float."""
    f = check_number(p, name, finite=False)
    if not 0.0 <= f <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {_describe(p)}")
    return f


def check_positive(v: object, name: str) -> float:
    """Validate a finite number > 0 (any real scalar, NaN and inf refused); returns it as float."""
    f = check_number(v, name, finite=False)
    if not 0.0 < f < math.inf:
        raise ValueError(f"{name} must be a finite number > 0, got {_describe(v)}")
    return f


def check_range(
    r: object, name: str, *, low: float | None = None, high: float | None = None, low_inclusive: bool = True
) -> tuple[float, float]:
    """Validate a ``(min, max)`` pair of finite numbers with ``min <= max``; returns a tuple of floats.

    A single number ``v`` is read as ``(v, v)``. Each end is checked with ``check_number`` (so NaN,
    inf, strings and ``None`` are refused, naming ``name``), then against ``low``/``high`` if given.
    """
    if _real_scalar(r) is not None:
        r = (r, r)
    if not isinstance(r, (tuple, list)) or len(r) != 2:
        raise ValueError(f"{name} must be a number or a (min, max) pair, got {_describe(r)}")
    lo = check_number(r[0], f"{name}[0]", low=low, high=high, low_inclusive=low_inclusive)
    hi = check_number(r[1], f"{name}[1]", low=low, high=high, low_inclusive=low_inclusive)
    if lo > hi:
        raise ValueError(f"{name} must have min <= max, got {_describe(r)}")
    return lo, hi
