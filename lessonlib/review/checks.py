"""The checks of notebook 07: concrete cases that expose each buggy snippet and pass its fix.

``CASES[name]`` is a list of ``(description, probe)`` pairs in the format of
``lessonlib.exercises.check_function``: ``probe(fn)`` returns ``None`` when ``fn`` behaves, or a sentence
that says what went wrong and why it matters. The probes test behaviour (the contract in the
docstring), never the source text, so any correct rewrite passes.

Every probe is deterministic (fixed generators, fixed inputs) and small enough to run in
milliseconds on a CPU. Where a probe must touch a global random state (numpy's, to expose snippet 03)
it saves and restores it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from lessonlib.utils import make_generator, seeded

Probe = Callable[[Callable], "str | None"]

__all__ = ["CASES", "Probe"]


def _gen(seed: int = 0) -> torch.Generator:
    return make_generator(seed)


def _unchanged(fn_call: Callable[[torch.Tensor], object], x: torch.Tensor) -> str | None:
    before = x.clone()
    fn_call(x)
    if not torch.equal(x, before):
        diff = float((x - before).abs().max())
        return f"the caller's input tensor changed (by up to {diff:.3g}); augmentations must return a new tensor"
    return None


# 01 random_window ------------------------------------------------------------------------------
def _window_250(fn):
    out = fn(torch.randn(3, 2, 2500, generator=_gen(99)), 250.0, seconds=2.5, generator=_gen())
    if out.shape != (3, 2, 625):
        return f"at 250 Hz a 2.5-s window has 625 samples; got shape {tuple(out.shape)}"
    return None


def _window_1000(fn):
    out = fn(torch.randn(3, 2, 10_000, generator=_gen(99)), 1000.0, seconds=2.5, generator=_gen())
    n = out.shape[-1]
    if n != 2500:
        return (
            f"at 1000 Hz a 2.5-s window has 2500 samples, got {n} ({n / 1000:.3g} s of signal). The window "
            "length must be computed from fs: a constant only fits the sampling rate it was written for"
        )
    return None


def _window_contiguous(fn):
    sig = torch.arange(4 * 1000, dtype=torch.float32).view(4, 1, 1000).expand(4, 2, 1000).clone()
    out = fn(sig, 100.0, seconds=2.0, generator=_gen(3))
    if out.shape != (4, 2, 200):
        return f"expected shape (4, 2, 200) for 2 s at 100 Hz, got {tuple(out.shape)}"
    if not torch.equal(out.diff(dim=-1), torch.ones_like(out.diff(dim=-1))):
        return "each output row must be a contiguous slice of its record"
    if not torch.equal(out[:, 0], out[:, 1]):
        return "the channels of one record must share the window start"
    return None


# 02 add_baseline_wander -----------------------------------------------------------------------
def _wander_hz(fn):
    fs, seconds, f = 100.0, 10.0, 0.5
    sig = torch.zeros(1, int(fs * seconds))
    out = fn(sig, fs, freq_hz=f, amplitude_mv=0.2, phase=0.0)
    t = torch.arange(sig.shape[-1]) / fs
    expected = 0.2 * torch.sin(2 * math.pi * f * t)
    if out.shape != sig.shape:
        return f"shape changed from {tuple(sig.shape)} to {tuple(out.shape)}"
    if not torch.allclose(out, expected, atol=0.01):  # 5 % of the amplitude: off-by-one time grids pass
        grid = torch.arange(1, 401) * 0.005  # candidate frequencies 0.005 to 2 Hz
        basis = torch.sin(2 * math.pi * grid[:, None] * t[None, :])
        fit = (basis @ out[0]) / basis.norm(dim=1)
        found = float(grid[fit.abs().argmax()])
        return (
            f"a {f} Hz wander on a {seconds:g}-s record must complete {f * seconds:g} cycles; yours oscillates at "
            f"about {found:.3g} Hz ({found * seconds:.2g} cycles). Time must be in seconds (sample index / fs), "
            "not a fraction of the record, or the frequency depends on the record length"
        )
    return None


def _wander_length_invariant(fn):
    fs = 250.0
    short = fn(torch.zeros(1, 500), fs, freq_hz=0.3, amplitude_mv=0.1)
    long = fn(torch.zeros(1, 5000), fs, freq_hz=0.3, amplitude_mv=0.1)
    if not torch.allclose(short, long[:, :500], atol=1e-3):  # 1 % of the amplitude
        return "the first 2 s of wander differ between a 2-s and a 20-s record: the frequency depends on the length"
    return None


def _wander_input(fn):
    return _unchanged(lambda s: fn(s, 100.0, freq_hz=0.3, amplitude_mv=0.1), torch.randn(2, 300, generator=_gen(99)))


# 03 random_time_shift -------------------------------------------------------------------------
def _shift_reproducible(fn):
    x = torch.randn(6, 2, 300, generator=_gen(99))
    state = np.random.get_state()
    try:
        with seeded(1):
            np.random.seed(1)
            a = fn(x, max_shift=50, generator=_gen(0))
        with seeded(2):
            np.random.seed(2)
            b = fn(x, max_shift=50, generator=_gen(0))
    finally:
        np.random.set_state(state)
    if not torch.equal(a, b):
        return (
            "two calls with generators seeded identically gave different shifts once numpy's (or torch's) global "
            "seed changed: the randomness does not come from `generator`, so a run cannot be reproduced from it"
        )
    return None


def _shift_varies(fn):
    x = torch.randn(6, 2, 300, generator=_gen(99))
    a, b = fn(x, max_shift=50, generator=_gen(0)), fn(x, max_shift=50, generator=_gen(1))
    if torch.equal(a, b):
        return "different generator seeds gave identical outputs: the shift must be random"
    return None


def _shift_valid(fn):
    t = 200
    x = torch.arange(t, dtype=torch.float32).expand(8, 1, t).clone()
    out = fn(x, max_shift=10, generator=_gen(5))
    shift = (out[:, 0, 0] * -1) % t  # output[0] = input[-shift]
    shift = torch.where(shift > t // 2, shift - t, shift)
    if shift.abs().max() > 10:
        return f"a shift of {int(shift.abs().max())} exceeds max_shift=10"
    rolled = torch.stack([x[i].roll(int(s), dims=-1) for i, s in enumerate(shift)])
    if not torch.equal(out, rolled):
        return "each series must be a circular shift of its input"
    return None


# 04 add_gaussian_noise ------------------------------------------------------------------------
def _noise_input(fn):
    return _unchanged(
        lambda x: fn(x, relative_std=0.1, generator=_gen()), torch.randn(4, 1, 32, 32, generator=_gen(99))
    )


def _noise_level(fn):
    x = torch.randn(8, 1, 64, 64, generator=_gen(99)) * torch.tensor([1.0, 2, 4, 8, 1, 2, 4, 8]).view(-1, 1, 1, 1)
    out = fn(x.clone(), relative_std=0.1, generator=_gen())
    ratio = (out - x).flatten(1).std(dim=1) / x.flatten(1).std(dim=1)
    if not torch.allclose(ratio, torch.full_like(ratio, 0.1), rtol=0.1):
        return f"noise std / sample std should be 0.1 for every sample, got {ratio.min():.3f} to {ratio.max():.3f}"
    return None


# 05 random_brightness -------------------------------------------------------------------------
def _brightness_per_image(fn):
    x = torch.ones(16, 1, 8, 8)
    out = fn(x, max_delta=0.2, generator=_gen())
    factors = out.flatten(1).mean(dim=1)
    if int(torch.unique(factors).numel()) < 8:
        return (
            f"16 identical images came back with {int(torch.unique(factors).numel())} distinct brightness "
            "factor(s): one draw is shared by the whole batch, so images in a batch are augmented in lockstep "
            "and the model sees 1 augmentation per batch instead of 16"
        )
    if factors.min() < 0.8 - 1e-6 or factors.max() > 1.2 + 1e-6:
        return f"factors must lie in [0.8, 1.2], got {factors.min():.3f} to {factors.max():.3f}"
    return None


def _brightness_whole_image(fn):
    x = torch.rand(8, 3, 6, 6, generator=_gen(98)) + 0.5
    out = fn(x, max_delta=0.2, generator=_gen(1))
    ratio = (out / x).flatten(1)
    spread = float((ratio.amax(1) - ratio.amin(1)).max())
    if spread > 1e-4:
        return (
            "within one image the pixels were scaled by different factors (a spread of "
            f"{spread:.3g}): that is multiplicative noise, not a brightness change. One factor per image, "
            "shaped [B, 1, 1, 1], scales every pixel and channel of that image alike"
        )
    return None


def _brightness_shape(fn):
    x = torch.rand(3, 3, 5, 7, generator=_gen(99))
    out = fn(x, max_delta=0.1, generator=_gen())
    if out.shape != x.shape or out.dtype != x.dtype:
        return f"expected shape {tuple(x.shape)} and dtype {x.dtype}, got {tuple(out.shape)} {out.dtype}"
    return None


# 06/07 mixing: the input must be the label-weighted combination of the source inputs -------------
def _mix_consistency(fn, *, x_shape, seeds, by_pixels):
    b = x_shape[0]
    values = torch.arange(1, b + 1, dtype=torch.float32)  # sample k is the constant image k + 1
    x = values.view(-1, *([1] * (len(x_shape) - 1))).expand(*x_shape).clone()
    y = torch.eye(b)
    mixed = 0
    for seed in seeds:
        x_mix, y_mix = fn(x, y, generator=_gen(seed))
        if y_mix.shape != y.shape or x_mix.shape != x.shape:
            return f"shapes changed: x {tuple(x_mix.shape)}, y {tuple(y_mix.shape)}"
        if not torch.allclose(y_mix.sum(1), torch.ones(b), atol=1e-5) or (y_mix < -1e-6).any():
            return "each mixed label must be a probability vector (non-negative, summing to 1)"
        label_says = y_mix @ values  # what the label claims the sample is made of
        image_is = x_mix.flatten(1).mean(1)  # what the pixels are made of
        err = (label_says - image_is).abs()
        i = int(err.argmax())
        if err[i] > 1e-3:
            partners = [int(k) for k in torch.nonzero(y_mix[i] > 1e-6).flatten()]
            weights = ", ".join(f"{float(y_mix[i, k]):.3f} on sample {k}" for k in partners)
            what = "pixel area" if by_pixels else "input"
            return (
                f"generator seed {seed}, sample {i}: the label puts {weights}, but the {what} is a different "
                f"mix (mean value {float(image_is[i]):.3f}, the label implies {float(label_says[i]):.3f}). "
                "Inputs and labels must be mixed with the same partner and the same weights"
            )
        mixed += int(((y_mix > 1e-6).sum(1) > 1).sum())
    if mixed == 0:
        return "no sample was mixed at all"
    return None


def _mixup_consistent(fn):
    return _mix_consistency(
        lambda x, y, generator: fn(x, y, alpha=0.4, generator=generator),
        x_shape=(8, 1, 4, 4),
        seeds=[0, 1],
        by_pixels=False,
    )


def _mixup_input(fn):
    x, y = torch.randn(4, 3, generator=_gen(99)), torch.eye(4)
    before = (x.clone(), y.clone())
    fn(x, y, alpha=0.4, generator=_gen())
    if not (torch.equal(x, before[0]) and torch.equal(y, before[1])):
        return "the caller's x or y changed"
    return None


def _cutmix_consistent(fn):
    return _mix_consistency(
        lambda x, y, generator: fn(x, y, alpha=1.0, generator=generator),
        x_shape=(6, 1, 32, 32),
        seeds=range(8),
        by_pixels=True,
    )


# 08 cxr_train_augment -------------------------------------------------------------------------
def _cxr_side(fn):
    h = w = 48
    x = torch.zeros(32, 1, h, w)
    x[:, :, 18:34, 30:42] = 1.0  # the heart shadow of a PA film lies on the image's right (the patient's left)
    out = fn(x, generator=_gen())
    cols = torch.arange(w, dtype=torch.float32)
    centre = (out[:, 0].sum(1) * cols).sum(1) / out[:, 0].sum((1, 2)).clamp_min(1e-6)
    wrong = int((centre < w / 2).sum())
    if wrong:
        return (
            f"{wrong} of 32 augmented films have the heart on the wrong side. A chest is not left/right "
            "symmetric: a mirrored PA film shows a rare anatomy (dextrocardia), a reversed L/R marker, and "
            "swaps the side of every finding that has one (a left effusion becomes a right one)"
        )
    return None


def _cxr_plausible(fn):
    h = w = 48
    x = torch.zeros(64, 1, h, w)
    x[:, :, 10:22, 30:42] = 1.0  # a bright patch in the upper right: its position must barely move
    out = fn(x, generator=_gen(5))
    mass = out[:, 0].clamp_min(0)
    total = mass.sum((1, 2)).clamp_min(1e-6)
    rows = torch.arange(h, dtype=torch.float32)
    cols = torch.arange(w, dtype=torch.float32)
    r = (mass.sum(2) * rows).sum(1) / total
    c = (mass.sum(1) * cols).sum(1) / total
    moved = float(((r - 15.5) ** 2 + (c - 35.5) ** 2).sqrt().max())
    if moved > 6.0:
        return (
            f"a structure moved by up to {moved:.0f} px on a {h}-px film: the augmentation produces films no "
            "detector records (upside down, or rotated far beyond how a patient stands). Patient positioning "
            "varies by a few degrees and a few per cent"
        )
    return None


def _cxr_augments(fn):
    x = torch.rand(4, 1, 32, 32, generator=_gen(99))
    out = fn(x, generator=_gen())
    if out.shape != x.shape:
        return f"shape changed from {tuple(x.shape)} to {tuple(out.shape)}"
    return _unchanged(lambda t: fn(t, generator=_gen()), x)


# 09 cxr_pipelines -----------------------------------------------------------------------------
def _pipelines_agree(fn):
    x = torch.rand(2, 1, 16, 16, generator=_gen(7))
    train_fn, eval_fn = fn(strength=0.0)
    a, b = train_fn(x, generator=_gen()), eval_fn(x)
    if a.shape != b.shape:
        return f"train gives shape {tuple(a.shape)} but eval gives {tuple(b.shape)}"
    if not torch.allclose(a, b, atol=1e-4):
        da = a.mean((0, 2, 3))
        db = b.mean((0, 2, 3))
        return (
            f"with augmentation switched off the two pipelines still disagree: per-channel mean "
            f"{[round(float(v), 2) for v in da]} (train) vs {[round(float(v), 2) for v in db]} (eval). The model "
            "is evaluated on inputs shifted and scaled differently from anything it saw in training"
        )
    return None


def _pipelines_shape(fn):
    train_fn, eval_fn = fn(strength=1.0)
    x = torch.rand(2, 1, 16, 16, generator=_gen(99))
    a, b = train_fn(x, generator=_gen()), eval_fn(x)
    if a.shape != (2, 3, 16, 16) or b.shape != (2, 3, 16, 16):
        return f"both pipelines must return [B, 3, H, W]; got {tuple(a.shape)} and {tuple(b.shape)}"
    return None


# 10 build_transform ---------------------------------------------------------------------------
def _image() -> torch.Tensor:
    return torch.randint(0, 256, (3, 40, 48), dtype=torch.uint8, generator=_gen(11))


def _eval_deterministic(fn):
    img, t = _image(), fn(False, size=24)
    with seeded(0):
        a = t(img)
    with seeded(1):
        b = t(img)
    if a.shape != (3, 24, 24):
        return f"evaluation output must be [3, 24, 24], got {tuple(a.shape)}"
    if not torch.equal(a, b):
        return (
            "the evaluation pipeline gave two different tensors for the same image: it contains a random "
            "transform, so validation scores are noisy and do not measure the model on the real images"
        )
    return None


def _train_random(fn):
    img, t = _image(), fn(True, size=24)
    with seeded(0):
        a = t(img)
    with seeded(1):
        b = t(img)
    if a.shape != (3, 24, 24) or torch.equal(a, b):
        return "the training pipeline should still augment (different outputs for different seeds)"
    return None


# 11 make_feature_noise ------------------------------------------------------------------------
def _noise_train_only(fn):
    g = _gen(2)
    table = torch.randn(100, 3, generator=g) * torch.tensor([1.0, 10.0, 0.1])
    train_idx = torch.arange(70)
    shifted = table.clone()
    shifted[70:] = shifted[70:] * 5 + 3  # only the test rows differ
    batch = table[:16]
    y = torch.zeros(16, dtype=torch.long)
    a, _ = fn(table, train_idx, relative_std=0.1)(batch, y, generator=_gen())
    b, _ = fn(shifted, train_idx, relative_std=0.1)(batch, y, generator=_gen())
    if not torch.allclose(a, b):
        return (
            "changing only the test rows changed the augmentation of training rows (largest change "
            f"{float((a - b).abs().max()):.3g}): its statistics come from the test split, which leaks test "
            "information into training"
        )
    return None


def _noise_scale(fn):
    table = torch.randn(400, 2, generator=_gen(4)) * torch.tensor([1.0, 20.0])
    train_idx = torch.arange(0, 400, 2)
    x = table[train_idx]
    out, y = fn(table, train_idx, relative_std=0.1)(x, torch.zeros(len(x), dtype=torch.long), generator=_gen())
    ratio = (out - x).std(0) / x.std(0)
    if not torch.allclose(ratio, torch.full_like(ratio, 0.1), rtol=0.2):
        return f"noise std / training std should be 0.1 per feature, got {[round(float(r), 3) for r in ratio]}"
    return None


# 12 tta_predict -------------------------------------------------------------------------------
def _dropout_model() -> nn.Module:
    with seeded(0):
        return nn.Sequential(nn.Flatten(), nn.Linear(2 * 6 * 6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))


def _tta_restores_mode(fn):
    model = _dropout_model().train()
    fn(model, torch.randn(4, 2, 6, 6, generator=_gen(99)))
    if not model.training:
        return (
            "the caller's model was in training mode and is left in eval mode: if TTA runs as a validation "
            "step inside a training loop that calls model.train() only once, every later epoch trains with "
            "dropout off and batch-norm statistics frozen, silently"
        )
    return None


def _tta_keeps_eval_mode(fn):
    model = _dropout_model().eval()
    fn(model, torch.randn(4, 2, 6, 6, generator=_gen(99)))
    if model.training:
        return "the caller's model was in eval mode and is left in training mode: restore the mode it had"
    return None


def _tta_value(fn):
    model = _dropout_model().train()
    x = torch.randn(4, 2, 6, 6, generator=_gen())
    out = fn(model, x)
    with torch.no_grad():
        model.eval()
        want = (model(x).softmax(-1) + model(x.flip(-1)).softmax(-1)) / 2
    if out.shape != want.shape or not torch.allclose(out, want, atol=1e-6):
        return "the result must be the eval-mode mean of the softmax over the image and its flip"
    return None


# 13 tta_segment -------------------------------------------------------------------------------
def _segment_equivariant(fn):
    with seeded(0):
        model = nn.Conv2d(2, 3, kernel_size=1)  # a per-pixel model: exactly equivariant to every D4 view
    x = torch.randn(2, 2, 8, 8, generator=_gen())
    out = fn(model, x)
    with torch.no_grad():
        want = model(x)
    if out.shape != want.shape:
        return f"expected logits of shape {tuple(want.shape)}, got {tuple(out.shape)}"
    if not torch.allclose(out, want, atol=1e-5):
        err = float((out - want).abs().max())
        return (
            f"for a model that is exactly equivariant, TTA must return its plain prediction; yours differs by "
            f"up to {err:.3g}: each view's mask is averaged in the rotated/flipped frame instead of being "
            "mapped back, so masks of 8 different orientations are blurred together"
        )
    return None


# 14 predict_proba -----------------------------------------------------------------------------
def _binary_model() -> nn.Module:
    with seeded(0):
        return nn.Linear(5, 1)


def _proba_last_batch(fn):
    x = torch.randn(65, 5, generator=_gen())
    try:
        out = fn(_binary_model(), x, batch_size=64)
    except Exception as exc:  # the engine wraps the learner's error; look at what was raised
        exc = getattr(exc, "original", exc)
        if not isinstance(exc, RuntimeError):
            raise
        return (
            f"raised `{exc}`. 64 samples work, 65 crash: the last batch holds one sample, `.squeeze()` turns its "
            "[1, 1] logits into a 0-d tensor, and the batch dimension is gone"
        )
    if out.shape != (65,):
        return f"65 samples must give 65 probabilities, got shape {tuple(out.shape)}"
    return None


def _proba_single(fn):
    out = fn(_binary_model(), torch.randn(1, 5, generator=_gen()), batch_size=64)
    if out.shape != (1,):
        return (
            f"a batch of one must give shape (1,), got {tuple(out.shape)}: `.squeeze()` drops every size-1 "
            "dimension, the batch one included"
        )
    return None


def _proba_values(fn):
    model, x = _binary_model(), torch.randn(10, 5, generator=_gen())
    out = fn(model, x, batch_size=4)
    with torch.no_grad():
        want = torch.sigmoid(model(x))[:, 0]
    if out.shape != want.shape or not torch.allclose(out, want, atol=1e-6):
        return "probabilities must equal sigmoid(logits) in input order"
    return None


CASES: dict[str, list[tuple[str, Probe]]] = {
    "ecg_window": [
        ("a 2.5-s window at 250 Hz", _window_250),
        ("a 2.5-s window at 1000 Hz", _window_1000),
        ("windows are contiguous and shared across channels", _window_contiguous),
    ],
    "ecg_wander": [
        ("a 0.5 Hz wander on a 10-s record at 100 Hz", _wander_hz),
        ("the wander does not depend on the record length", _wander_length_invariant),
        ("the input is not modified", _wander_input),
    ],
    "numpy_rng": [
        ("same generator seed, different global seeds", _shift_reproducible),
        ("different generator seeds", _shift_varies),
        ("shifts are circular and within max_shift", _shift_valid),
    ],
    "in_place": [
        ("the caller's tensor after the call", _noise_input),
        ("noise level relative to each sample", _noise_level),
    ],
    "per_batch_draw": [
        ("16 identical images in one batch", _brightness_per_image),
        ("one factor for the whole image", _brightness_whole_image),
        ("shape and dtype", _brightness_shape),
    ],
    "mixup_pairing": [
        ("inputs and labels mixed alike", _mixup_consistent),
        ("the inputs are not modified", _mixup_input),
    ],
    "cutmix_clip": [("label weights match pasted areas, boxes at the border included", _cutmix_consistent)],
    "cxr_flip": [
        ("32 augmented films with the heart on the image's right", _cxr_side),
        ("64 films keep a plausible position", _cxr_plausible),
        ("shape and input", _cxr_augments),
    ],
    "train_eval_mismatch": [
        ("train at strength 0 vs eval on the same films", _pipelines_agree),
        ("output shapes", _pipelines_shape),
    ],
    "eval_randomness": [
        ("the evaluation pipeline twice on one image", _eval_deterministic),
        ("the training pipeline still augments", _train_random),
    ],
    "test_stats": [
        ("the same training batch, with only the test rows changed", _noise_train_only),
        ("noise level per feature", _noise_scale),
    ],
    "tta_mode": [
        ("a model in training mode, after TTA", _tta_restores_mode),
        ("a model in eval mode, after TTA", _tta_keeps_eval_mode),
        ("the TTA probabilities", _tta_value),
    ],
    "tta_inverse": [("an exactly equivariant per-pixel model", _segment_equivariant)],
    "squeeze": [
        ("65 samples in batches of 64", _proba_last_batch),
        ("a batch of one", _proba_single),
        ("values and order", _proba_values),
    ],
}
