"""Modality presets on ``torchvision.transforms.v2``, stain augmentation, and train/eval consistency.

The dihedral group D4 (``D4_NAMES``, ``dihedral``, ``dihedral_inverse``, ``RandomDihedral``) has one home,
``lessonlib.geometric``; the histopathology preset uses ``geometric.RandomDihedral`` (not re-exported here).

Presets (``chest_xray``, ``histopathology``, ``natural_image``) return a ``SeededCompose`` of v2
transforms. Each ``train=False`` pipeline is deterministic and hands the model exactly the same
contract as its ``train=True`` twin: channels, dtype (float32), size and normalisation. Masks and
boxes (``tv_tensors.Mask``/``BoundingBoxes``) in the same sample follow every geometric step.
``consistency_problems`` checks any train/eval pair (ours or someone else's) for mismatches.
Boxes are clamped to the canvas by torchvision; a crop can leave a box empty (zero width or height):
add ``v2.SanitizeBoundingBoxes`` after a preset when boxes come with labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import PIL.Image
import skimage.color as _skcolor
import torch
from timm.data.constants import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from torchvision import tv_tensors
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as F

from lessonlib.geometric import RandomDihedral
from lessonlib.utils import (
    check_bool,
    check_generator,
    check_int,
    check_number,
    check_one_of,
    check_positive,
    check_tensor,
    forked_cpu_rng,
    randint,
    uniform,
)

__all__ = [
    "CheckImage",
    "ToUnitFloat",
    "RandomWindowLevel",
    "ErasePixels",
    "hed_jitter",
    "RandomHEDJitter",
    "SeededCompose",
    "chest_xray",
    "histopathology",
    "natural_image",
    "PRESETS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "CXR_MEAN",
    "CXR_STD",
    "PipelineReport",
    "describe_output",
    "consistency_problems",
]

# ----------------------------------------------------------------------------------------------
# Input checks and intensity transforms
# ----------------------------------------------------------------------------------------------

_ALLOWED_DTYPES = (torch.uint8, torch.uint16, torch.float16, torch.bfloat16, torch.float32, torch.float64)
_PIL_MODES = {1: ("L", "I;16", "I;16B", "I;16L", "F"), 3: ("RGB",)}


def _check_bits(bits_stored: object) -> None:
    if bits_stored is not None:
        check_int(bits_stored, "bits_stored (None or 8..16)", low=8, high=16)


def _find_image(flat_inputs: list[Any]) -> Any:
    """The sample's image by v2's rule: an explicit Image/PIL, else the first pure tensor."""
    for x in flat_inputs:
        if isinstance(x, (tv_tensors.Image, PIL.Image.Image)):
            return x
    for x in flat_inputs:
        if isinstance(x, torch.Tensor) and not isinstance(x, tv_tensors.TVTensor):
            return x
    return None


class CheckImage(v2.Transform):
    """First step of every preset: validate the sample's image, pass everything through untouched.

    Accepted: PIL images (mode ``L``/``I;16``/``F`` for one channel, ``RGB`` for three), tensors
    ``[..., C, H, W]`` of dtype uint8, uint16 or floating point (floats must lie in [0, 1]: a float
    image in [0, 255] is a classic silent bug). Refused with a message naming the preset, what came
    and what was expected: a wrong channel count, another dtype (int16/int32/bool), floats outside
    [0, 1] or non-finite, a shorter side below ``min_size`` (we do not silently upsample), uint16
    values above ``2**bits_stored - 1`` when ``bits_stored`` is given.

    Args:
        modality: name used in error messages (e.g. ``"fundus"``).
        channels: expected channel count, 1 or 3.
        min_size: smallest accepted shorter side in pixels (>= 1), usually the output size.
        bits_stored: optional DICOM BitsStored (8..16) bounding uint16 values.
    """

    def __init__(self, modality: str, channels: int, min_size: int, bits_stored: int | None = None) -> None:
        super().__init__()
        if not isinstance(modality, str):
            raise TypeError(f"modality must be a string, got {type(modality).__name__}")
        check_one_of(channels, "channels", (1, 3))
        check_int(min_size, "min_size (pixels)", low=1)
        _check_bits(bits_stored)
        self.modality, self.channels, self.min_size, self.bits_stored = modality, channels, min_size, bits_stored

    def check_inputs(self, flat_inputs: list[Any]) -> None:
        img = _find_image(flat_inputs)
        where = f"{self.modality} preset"
        if img is None:
            raise TypeError(f"{where}: no image in the sample; expected a PIL image, tv_tensors.Image or tensor")
        if isinstance(img, PIL.Image.Image):
            if img.mode not in _PIL_MODES[self.channels]:
                raise ValueError(
                    f"{where}: PIL image mode {img.mode!r}; expected one of {_PIL_MODES[self.channels]} "
                    f"({self.channels} channel{'s' if self.channels > 1 else ''})"
                )
            if img.mode == "F":
                lo, hi = img.getextrema()
                if not (0.0 <= lo and hi <= 1.0):
                    raise ValueError(f"{where}: PIL float image values in [{lo:.4g}, {hi:.4g}]; expected [0, 1]")
            h, w = img.height, img.width
        else:
            if img.ndim < 3 or img.shape[-3] != self.channels:
                raise ValueError(
                    f"{where}: image shape {tuple(img.shape)}; expected [..., {self.channels}, H, W] "
                    f"({self.channels} channel{'s' if self.channels > 1 else ''}, channels first)"
                )
            if img.dtype not in _ALLOWED_DTYPES:
                raise TypeError(f"{where}: image dtype {img.dtype}; expected uint8, uint16 or float in [0, 1]")
            if img.is_floating_point() and img.numel():
                lo, hi = float(img.min()), float(img.max())
                if not (0.0 <= lo and hi <= 1.0):
                    raise ValueError(
                        f"{where}: float image values in [{lo:.4g}, {hi:.4g}]; expected [0, 1] "
                        "(convert [0, 255] data with ToDtype(scale=True) from uint8 instead)"
                    )
            if img.dtype == torch.uint16 and self.bits_stored is not None and img.numel():
                hi = int(img.to(torch.int32).max())
                if hi > 2**self.bits_stored - 1:
                    raise ValueError(
                        f"{where}: uint16 value {hi} exceeds 2**bits_stored - 1 = {2**self.bits_stored - 1}; "
                        "check bits_stored (DICOM BitsStored)"
                    )
            h, w = int(img.shape[-2]), int(img.shape[-1])
        if min(h, w) < self.min_size:
            raise ValueError(
                f"{where}: image is {h}x{w}; expected a shorter side >= size = {self.min_size} "
                "(the preset does not upsample; pass a smaller size or a larger image)"
            )

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        return inpt


class ToUnitFloat(v2.Transform):
    """Image → float32 in [0, 1], exactly and without clipping; masks and boxes pass through.

    uint8 and uint16 use ``v2.ToDtype(torch.float32, scale=True)`` (value / 255 or / 65535). With
    ``bits_stored`` (DICOM BitsStored, e.g. 12 or 15), uint16 values are divided by ``2**bits - 1``
    instead, so a 15-bit radiograph fills [0, 1] rather than [0, 0.5]. Floats are cast to float32.
    """

    def __init__(self, bits_stored: int | None = None) -> None:
        super().__init__()
        _check_bits(bits_stored)
        self.bits_stored = bits_stored
        self._to_dtype = v2.ToDtype(torch.float32, scale=True)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, tv_tensors.Image):
            return inpt
        if inpt.dtype == torch.uint16 and self.bits_stored is not None:
            out = inpt.as_subclass(torch.Tensor).to(torch.float32) / float(2**self.bits_stored - 1)
            return tv_tensors.wrap(out, like=inpt)
        return self._to_dtype(inpt)


class RandomWindowLevel(v2.Transform):
    """Mild radiographic intensity change on float images in [0, 1]: window/level, then gamma.

    Physical reading: a radiologist's display window maps a density range ``[level - width/2,
    level + width/2]`` to black..white; acquisition and post-processing differ between machines by
    a few percent of level and width, and by a mild tone curve (gamma). Output:
    ``clamp((x - level) / width + 0.5, 0, 1) ** gamma`` with ``level = 0.5 + dl``, ``width = 1 * sw``,
    ``dl ~ U(-level_shift, level_shift)``, ``sw ~ U(1 - width_change, 1 + width_change)``,
    ``gamma ~ exp(U(-log_gamma, log_gamma))``. The clamp is the window itself (what a display
    does), not an accident. One draw per call (per sample). Masks and boxes pass through.
    """

    def __init__(
        self,
        level_shift: float = 0.05,
        width_change: float = 0.1,
        log_gamma: float = 0.1,
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.level_shift, self.width_change, self.log_gamma = (
            check_number(v, name, low=0.0, high=1.0, high_inclusive=False)
            for name, v in (("level_shift", level_shift), ("width_change", width_change), ("log_gamma", log_gamma))
        )
        self._generator = check_generator(generator)

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        u = uniform(3, low=-1.0, high=1.0, generator=self._generator)
        return {
            "level": 0.5 + self.level_shift * float(u[0]),
            "width": 1.0 + self.width_change * float(u[1]),
            "gamma": math.exp(self.log_gamma * float(u[2])),
        }

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, tv_tensors.Image) and not (
            isinstance(inpt, torch.Tensor) and not isinstance(inpt, tv_tensors.TVTensor)
        ):
            return inpt
        x = inpt.as_subclass(torch.Tensor)
        if not x.is_floating_point():
            raise TypeError(f"RandomWindowLevel expects a float image in [0, 1], got dtype {x.dtype}")
        out = ((x - params["level"]) / params["width"] + 0.5).clamp(0.0, 1.0) ** params["gamma"]
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out


class ErasePixels(v2.RandomErasing):
    """``v2.RandomErasing`` for image tensors, passing masks, boxes and key points through quietly.

    Same arguments and behaviour as ``v2.RandomErasing`` (it erases a rectangle of a *tensor* image
    with ``value``; place it after ``Normalize`` so ``value=0`` means "the data-set mean"). Erasing
    hides pixels without moving anything, so geometry-carrying tv_tensors are returned unchanged
    (torchvision does the same but warns on every call). Caveat: a patch that covers the whole
    object can remove the label; keep ``scale`` small relative to the objects.
    """

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if isinstance(inpt, (tv_tensors.BoundingBoxes, tv_tensors.KeyPoints, tv_tensors.Mask)):
            return inpt
        return super().transform(inpt, params)


# ----------------------------------------------------------------------------------------------
# Stain augmentation in haematoxylin-eosin-DAB space
# ----------------------------------------------------------------------------------------------

#: Optical density below ``_OD_EPS`` is clamped, as in ``skimage.color.separate_stains``.
_OD_EPS = 1e-6


def _hed_matrices(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-image's Ruifrok-Johnston stain matrices (RGB optical density -> H, E, D and back)."""
    return (
        torch.as_tensor(_skcolor.hed_from_rgb, device=device, dtype=dtype),
        torch.as_tensor(_skcolor.rgb_from_hed, device=device, dtype=dtype),
    )


def hed_jitter(
    x: torch.Tensor, *, scale: float = 0.05, shift: float = 0.05, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random stain change of RGB histology images in haematoxylin-eosin-DAB (HED) space.

    The augmentation of Tellez et al. (2019): each image is unmixed into the three stain
    concentrations of ``skimage.color.rgb2hed`` (Beer-Lambert optical density times scikit-image's
    ``hed_from_rgb``), each concentration ``s`` is replaced by ``a * s + b`` with, per image and per
    H/E/D channel, ``a ~ U(1 - scale, 1 + scale)`` and ``b ~ U(-shift, shift)``, and the result is
    mixed back with ``rgb_from_hed`` as ``skimage.color.hed2rgb`` does. It models what differs
    between labs and scanners: how much of each dye the tissue took up, not where the tissue is.

    Units of ``shift``: optical density (natural log, ``-ln(I / I0)``), the convention of Tellez et
    al.'s code, in which their sigma of 0.05 ("light") to 0.2 ("strong") was set. scikit-image
    (since 0.16) divides its concentrations by ``-ln(1e-6) = 13.8``, so in ``rgb2hed``'s output
    units the offset is ``b / 13.8``; an offset of 0.05 *in those units* would shift optical
    density by 0.69 (halve the light) and turn the white background into a stained one.

    One difference from calling ``rgb2hed`` then ``hed2rgb``: ``rgb2hed`` clips negative
    concentrations to 0 (pixels whose colour lies outside the stain model), which would change such
    pixels even at ``scale = shift = 0``; here they are kept, so the transform is continuous and
    ``scale = shift = 0`` returns the input (exactly: a copy). Computed batched in torch as one 3x3
    matrix per image on the optical densities (float64 for float64 input, float32 otherwise).

    Args:
        x: ``[B, 3, H, W]`` or ``[3, H, W]`` RGB, uint8 (0..255) or floating point in [0, 1]
            (float16/bfloat16/float32/float64); any device; a ``tv_tensors.Image`` stays one.
        scale: half-width of the multiplicative factor, in [0, 1) (0.05 = "HED-light"; Tellez et al.
            used up to 0.2 for "HED-strong").
        shift: half-width of the additive offset on each concentration, in optical density, >= 0
            (0.05 moves a stain's transmitted light by at most about 5 %).
        generator: optional ``torch.Generator``. Draws: factors ``[B, 3]`` then offsets ``[B, 3]``
            (``utils.uniform``), always, so the stream does not depend on the magnitudes.

    Returns:
        A new tensor of ``x``'s shape, dtype, device and subclass; values in [0, 1] (uint8: 0..255,
        rounded). ``x`` is not modified.

    Raises:
        TypeError: ``x`` not a tensor or of another dtype; ``generator`` not a generator.
        ValueError: wrong shape, float values outside [0, 1] or not finite, ``scale``/``shift`` out
            of range; each message names the parameter.
    """
    check_tensor(x, "x", ndim=(3, 4))
    if x.shape[-3] != 3:
        raise ValueError(f"x must be RGB, [B, 3, H, W] or [3, H, W], got shape {tuple(x.shape)}")
    if x.dtype != torch.uint8 and not x.is_floating_point():
        raise TypeError(f"x must be uint8 or floating point in [0, 1], got dtype {x.dtype}")
    if x.is_floating_point() and x.numel():
        lo, hi = float(x.min()), float(x.max())
        if not (0.0 <= lo and hi <= 1.0):  # also refuses NaN
            raise ValueError(f"x must have values in [0, 1], got [{lo:.4g}, {hi:.4g}]")
    scale = check_number(scale, "scale", low=0.0, high=1.0, high_inclusive=False)
    shift = check_number(shift, "shift", low=0.0)
    check_generator(generator)
    plain = x.as_subclass(torch.Tensor)
    batch = plain if plain.ndim == 4 else plain.unsqueeze(0)
    n, dev = batch.shape[0], batch.device
    cdt = torch.float64 if x.dtype == torch.float64 else torch.float32
    factor = uniform((n, 3), low=1.0 - scale, high=1.0 + scale, generator=generator, device=dev, dtype=cdt)
    offset = uniform((n, 3), low=-shift, high=shift, generator=generator, device=dev, dtype=cdt)
    if scale == 0.0 and shift == 0.0:
        out = plain.clone()
    else:
        rgb = batch.to(cdt) / 255.0 if x.dtype == torch.uint8 else batch.to(cdt)
        log_eps = math.log(_OD_EPS)
        od = torch.log(rgb.clamp_min(_OD_EPS)) / log_eps  # [n, 3, H, W], rgb2hed's normalised density
        hed, rgb_back = _hed_matrices(dev, cdt)
        # stains = od @ hed; new = stains * factor + offset; od' = new @ rgb_back, folded into one
        # matrix and one offset per image: od' = od @ (hed diag(factor) rgb_back) + offset @ rgb_back.
        mix = hed @ (factor[:, :, None] * rgb_back)  # [n, 3, 3]
        bias = (offset / -log_eps) @ rgb_back  # [n, 3]; offset from optical density to rgb2hed units
        od_new = torch.einsum("bihw,bij->bjhw", od, mix) + bias[:, :, None, None]
        rgb_new = torch.exp(od_new * log_eps).clamp(0.0, 1.0)
        if x.dtype == torch.uint8:
            rgb_new = (rgb_new * 255.0).round()
        out = rgb_new.to(x.dtype).reshape(plain.shape)
    return tv_tensors.wrap(out, like=x) if isinstance(x, tv_tensors.TVTensor) else out


class RandomHEDJitter(v2.Transform):
    """``hed_jitter`` as a v2 transform: images (and image-like pure tensors) only.

    Masks, boxes, key points and labels pass through. ``[..., 3, H, W]`` inputs with more than one
    leading dimension are jittered per image. Randomness: ``generator``, else torch's global RNG
    (which ``SeededCompose`` seeds from its own generator).
    """

    def __init__(self, scale: float = 0.05, shift: float = 0.05, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.scale = check_number(scale, "scale", low=0.0, high=1.0, high_inclusive=False)
        self.shift = check_number(shift, "shift", low=0.0)
        self._generator = check_generator(generator)

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, tv_tensors.Image) and not (
            isinstance(inpt, torch.Tensor) and not isinstance(inpt, tv_tensors.TVTensor)
        ):
            return inpt
        x = inpt.as_subclass(torch.Tensor)
        flat = x.reshape(-1, *x.shape[-3:]) if x.ndim != 3 else x
        out = hed_jitter(flat, scale=self.scale, shift=self.shift, generator=self._generator).reshape(x.shape)
        return tv_tensors.wrap(out, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else out


class SeededCompose(v2.Compose):
    """``v2.Compose`` whose randomness comes from an optional ``torch.Generator``.

    torchvision's random transforms draw from torch's global RNG. When ``generator`` is given, each
    call draws one 62-bit seed from it and runs the pipeline inside ``lessonlib.utils.forked_cpu_rng``
    seeded with that seed: results depend only on the generator's state, the caller's global RNG is
    left exactly as it was, and threads do not interleave their draws. With ``generator=None`` it is
    a plain ``v2.Compose``.

    Attributes ``modality``, ``train``, ``size``, ``channels``, ``mean`` and ``std`` describe the
    output contract (``[..., channels, size, size]`` float32, normalised with ``mean``/``std``).
    """

    def __init__(self, transforms: Sequence[Any], *, generator: torch.Generator | None = None, **info: Any) -> None:
        super().__init__(list(transforms))
        self._generator = check_generator(generator)
        for key, value in info.items():
            setattr(self, key, value)

    def forward(self, *inputs: Any) -> Any:
        """Run the pipeline on one sample (an image, or an image with masks/boxes/labels)."""
        if self._generator is None:
            return super().forward(*inputs)
        seed = int(randint(0, 2**62, 1, generator=self._generator)[0])
        with forked_cpu_rng(seed):  # torchvision draws its parameters from the global CPU generator
            return super().forward(*inputs)


# ----------------------------------------------------------------------------------------------
# The presets
# ----------------------------------------------------------------------------------------------

#: ImageNet channel statistics (what torchvision/timm pretrained backbones were trained with), taken
#: from timm's ``IMAGENET_DEFAULT_MEAN``/``IMAGENET_DEFAULT_STD`` so the course has one source.
IMAGENET_MEAN = tuple(IMAGENET_DEFAULT_MEAN)
IMAGENET_STD = tuple(IMAGENET_DEFAULT_STD)
#: One-channel normalisation for chest radiographs in display range [0, 1]: the rounded mean and
#: standard deviation of ONE windowed PA film (the RG1_UNCR sample bundled with the course, measured
#: in notebook 02), a teaching default, not a data-set statistic. For a real model, compute them on
#: the training split after the preset's deterministic steps (``chest_xray(False, size)`` without
#: its final ``Normalize``): accumulate the pixel sum, sum of squares and count over all training
#: images, then ``mean = s / n`` and ``std = sqrt(s2 / n - mean**2)``; never include validation or
#: test images, and store the numbers with the model.
CXR_MEAN = (0.75,)
CXR_STD = (0.15,)


def _check_common(train: object, size: object, strength: object) -> tuple[bool, int, float]:
    train = check_bool(train, "train")
    size = check_int(size, "size (output side in pixels)", low=8)
    strength = check_number(strength, "strength (1 = the documented default)", low=0.0, high=2.0)
    return train, size, strength


def chest_xray(
    train: bool,
    size: int = 224,
    *,
    allow_hflip: bool = False,
    bits_stored: int | None = None,
    monochrome1: bool = False,
    channels: int = 1,
    strength: float = 1.0,
    generator: torch.Generator | None = None,
) -> SeededCompose:
    """Preset for frontal (PA/AP) chest radiographs.

    Input: a one-channel image in display orientation (bone bright), as a PIL image (L, I;16, F) or
    a tensor ``[..., 1, H, W]`` (uint8, uint16, or float in [0, 1]), shorter side >= ``size``,
    optionally with ``tv_tensors.Mask``/``BoundingBoxes`` in the same sample (they follow every
    geometric step). Best input: the display image (VOI window applied, bone bright), as
    ``lessonlib.data.load_chest_xray`` returns it. Raw stored values work too with ``bits_stored``
    and, for MONOCHROME1 files, ``monochrome1=True`` (without the file's window they look flatter).

    Steps (eval = the deterministic subset, so both produce the same contract):
        check → float in [0, 1] (uint16 / 65535, or / (2**bits_stored - 1); never clipped) →
        [``monochrome1``: 1 - x] → resize shorter side to ``size`` → [train: RandomAffine ±5° rotation,
        ±3 % shift, 0.95-1.05 zoom: patient positioning, bilinear for the image (v2 keeps nearest for
        masks by itself); RandomWindowLevel: ±5 % level, ±10 % width,
        gamma 0.9-1.1: exposure and processing] → [train and ``allow_hflip``: horizontal flip] →
        centre crop ``size`` → [channels=3: grey repeated to RGB] → Normalize.

    Never flipped unless ``allow_hflip=True``: the heart is on the left (dextrocardia is a finding),
    side markers and text mirror. No hue/saturation: a radiograph has one channel of density.
    No vertical flip, no large rotation: films are not acquired upside down.

    Args:
        train: random training pipeline (True) or deterministic evaluation pipeline (False).
        size: output side in pixels.
        allow_hflip: add ``RandomHorizontalFlip(0.5)`` (only for labels that are truly side-free).
        bits_stored: DICOM BitsStored for uint16 input (e.g. 15); ``None`` scales by 65535.
        monochrome1: the input is DICOM ``MONOCHROME1`` (high stored value = dark): invert after
            scaling (``1 - x``) so bone is bright, in train and eval alike. Pixel statistics cannot
            tell the polarity; read ``PhotometricInterpretation`` from the file.
        channels: 1 (default; ``CXR_MEAN``/``CXR_STD``) or 3 (grey repeated, ImageNet statistics,
            for ImageNet-pretrained backbones) - the same in train and eval.
        strength: multiplies every random magnitude (0 = geometry and intensity fixed; 2 = double).
        generator: optional ``torch.Generator`` making the random draws reproducible.

    Returns:
        A ``SeededCompose``; output image float32 ``[..., channels, size, size]``.
    """
    train, size, strength = _check_common(train, size, strength)
    check_bool(allow_hflip, "allow_hflip")
    _check_bits(bits_stored)
    check_bool(monochrome1, "monochrome1")
    check_one_of(channels, "channels", (1, 3))
    mean, std = (CXR_MEAN, CXR_STD) if channels == 1 else (IMAGENET_MEAN, IMAGENET_STD)
    steps: list[Any] = [
        CheckImage("chest_xray", 1, size, bits_stored),
        v2.ToImage(),
        ToUnitFloat(bits_stored),
    ]
    if monochrome1:
        steps.append(v2.Lambda(F.invert, tv_tensors.Image))
    steps.append(v2.Resize(size, antialias=True))
    if train:
        s = strength
        steps += [
            # bilinear: v2's default NEAREST drops and duplicates pixels (aliasing); masks stay nearest
            v2.RandomAffine(
                degrees=5 * s,
                translate=(0.03 * s, 0.03 * s),
                scale=(1 - 0.05 * s, 1 + 0.05 * s),
                interpolation=v2.InterpolationMode.BILINEAR,
            ),
            RandomWindowLevel(min(0.05 * s, 0.99), min(0.1 * s, 0.99), min(0.1 * s, 0.99)),
        ]
        if allow_hflip:
            steps.append(v2.RandomHorizontalFlip(0.5))
    steps.append(v2.CenterCrop(size))
    if channels == 3:
        steps.append(v2.RGB())
    steps.append(v2.Normalize(mean, std))
    return SeededCompose(
        steps, generator=generator, modality="chest_xray", train=train, size=size, channels=channels, mean=mean, std=std
    )


def _rgb_pipeline(
    steps: list[Any], generator: torch.Generator | None, modality: str, train: bool, size: int
) -> SeededCompose:
    """The ``SeededCompose`` of an RGB preset normalised with ImageNet statistics."""
    return SeededCompose(
        steps,
        generator=generator,
        modality=modality,
        train=train,
        size=size,
        channels=3,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
    )


def histopathology(
    train: bool,
    size: int = 224,
    *,
    strength: float = 1.0,
    stain: str = "hsv",
    generator: torch.Generator | None = None,
) -> SeededCompose:
    """Preset for H&E / IHC histology tiles (patch-level labels), RGB.

    Input: PIL RGB or a tensor ``[..., 3, H, W]`` (uint8, uint16 or float in [0, 1]), shorter side
    >= ``size``; masks and boxes follow every geometric step.

    Steps: check → float in [0, 1] → [train: RandomCrop ``size`` (tissue is locally stationary; no
    resize, because µm per pixel carries meaning: nuclear size is a feature); RandomDihedral (a
    slide has no up or left: all 8 square symmetries, exact, no black corners); ColorJitter
    brightness/contrast ±15 %, then the stain step chosen by ``stain`` (stain and scanner
    variation); Gaussian blur σ 0.1-1 with p = 0.2 (focus)] / [eval: CenterCrop ``size``] →
    Normalize (ImageNet statistics, the usual pretrained backbones).

    Stain step: ``"hsv"`` (default) saturation ±10 % and hue ±0.03 in ``ColorJitter``; ``"hed"``
    ``RandomHEDJitter`` (``hed_jitter`` with scale = shift = 0.05, per H/E/D channel: the "HED-light"
    of Tellez et al. 2019, who found HSV/HED colour augmentation the most important factor for
    generalising across centres); ``"both"`` the two in that order.

    Args:
        train: random (True) or deterministic (False) pipeline.
        size: output side in pixels (the crop; no resizing).
        strength: multiplies the colour and blur magnitudes (0-2); dihedral and crop are unchanged.
        stain: ``"hsv"``, ``"hed"`` or ``"both"`` (see above); eval pipelines are the same for all.
        generator: optional ``torch.Generator`` for reproducible draws.

    Returns:
        A ``SeededCompose``; output image float32 ``[..., 3, size, size]``.
    """
    train, size, strength = _check_common(train, size, strength)
    stain = check_one_of(stain, "stain", ("hsv", "hed", "both"))
    steps: list[Any] = [CheckImage("histopathology", 3, size), v2.ToImage(), ToUnitFloat()]
    if train:
        s = strength
        steps += [v2.RandomCrop(size), RandomDihedral(p=1.0)]
        if s > 0:
            hsv = stain in ("hsv", "both")
            steps.append(
                v2.ColorJitter(
                    brightness=0.15 * s,
                    contrast=0.15 * s,
                    saturation=0.1 * s if hsv else None,
                    hue=min(0.03 * s, 0.5) if hsv else None,
                )
            )
            if stain in ("hed", "both"):
                steps.append(RandomHEDJitter(scale=min(0.05 * s, 0.5), shift=0.05 * s))
            steps.append(v2.RandomApply([v2.GaussianBlur(5, sigma=(0.1, max(0.1, 1.0 * s)))], p=0.2))
    else:
        steps.append(v2.CenterCrop(size))
    steps.append(v2.Normalize(IMAGENET_MEAN, IMAGENET_STD))
    return _rgb_pipeline(steps, generator, "histopathology", train, size)


def natural_image(
    train: bool, size: int = 224, *, strength: float = 1.0, generator: torch.Generator | None = None
) -> SeededCompose:
    """ImageNet-style preset for natural RGB photographs.

    Input: PIL RGB or a tensor ``[..., 3, H, W]`` (uint8, uint16 or float in [0, 1]), shorter side
    >= ``size``; masks and boxes follow the geometric steps.

    Steps: check → float in [0, 1] → [train: RandomResizedCrop ``size`` with scale (0.25, 1)
    (objects appear at any scale and position); RandomHorizontalFlip (the world is mirror-symmetric
    for most classes; not for text, digits, left/right-specific labels); ColorJitter ±30 %
    brightness/contrast/saturation, hue ±0.05 (lighting, white balance)] / [eval: resize shorter
    side to ``size * 8 / 7`` (256 for 224) and CenterCrop ``size``] → Normalize (ImageNet) →
    [train: RandomErasing p = 0.25, after Normalize so the erased value 0 is the dataset mean].

    Args:
        train: random (True) or deterministic (False) pipeline.
        size: output side in pixels.
        strength: multiplies the crop range, colour and erasing magnitudes (0-2).
        generator: optional ``torch.Generator`` for reproducible draws.

    Returns:
        A ``SeededCompose``; output image float32 ``[..., 3, size, size]``.
    """
    train, size, strength = _check_common(train, size, strength)
    steps: list[Any] = [CheckImage("natural_image", 3, size), v2.ToImage(), ToUnitFloat()]
    if train:
        s = strength
        steps.append(v2.RandomResizedCrop(size, scale=(max(1.0 - 0.75 * s, 0.05), 1.0), antialias=True))
        steps.append(v2.RandomHorizontalFlip(0.5))
        if s > 0:
            steps.append(v2.ColorJitter(brightness=0.3 * s, contrast=0.3 * s, saturation=0.3 * s, hue=0.05 * s))
    else:
        steps += [v2.Resize(round(size * 8 / 7), antialias=True), v2.CenterCrop(size)]
    steps.append(v2.Normalize(IMAGENET_MEAN, IMAGENET_STD))
    if train and strength > 0:
        steps.append(ErasePixels(p=min(0.25 * strength, 1.0), scale=(0.02, 0.2), value=0.0))
    return _rgb_pipeline(steps, generator, "natural_image", train, size)


PRESETS = {"chest_xray": chest_xray, "histopathology": histopathology, "natural_image": natural_image}


# ----------------------------------------------------------------------------------------------
# Train/eval consistency
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineReport:
    """What a pipeline hands the model for one input: shape, dtype, per-channel mean and std."""

    shape: tuple[int, ...]
    dtype: torch.dtype
    channel_mean: tuple[float, ...]
    channel_std: tuple[float, ...]


def describe_output(pipeline: Any, image: Any, *, n: int = 4) -> PipelineReport:
    """Run ``pipeline`` on ``image`` ``n`` times and summarise its output (stats pooled over runs).

    Args:
        pipeline: any callable image → tensor ``[C, H, W]`` (a v2 transform, a v1 Compose, ...).
        image: the input it expects; not modified.
        n: number of runs (>= 1); use several for random pipelines.
    """
    check_int(n, "n", low=1)
    outs = [pipeline(image) for _ in range(n)]
    for o in outs:
        if not isinstance(o, torch.Tensor) or o.ndim != 3:
            raise TypeError(f"pipeline must return a [C, H, W] tensor, got {getattr(o, 'shape', type(o))!r}")
    shapes = {tuple(o.shape) for o in outs}
    x = torch.stack([o.as_subclass(torch.Tensor).to(torch.float64) for o in outs]) if len(shapes) == 1 else None
    if x is None:
        raise ValueError(f"pipeline returned different shapes across runs: {sorted(shapes)}")
    return PipelineReport(
        shape=tuple(outs[0].shape),
        dtype=outs[0].dtype,
        channel_mean=tuple(round(float(v), 4) for v in x.mean(dim=(0, 2, 3))),
        channel_std=tuple(round(float(v), 4) for v in x.std(dim=(0, 2, 3))),
    )


def consistency_problems(
    train_pipeline: Any, eval_pipeline: Any, image: Any, *, n: int = 4, tol: float = 0.5
) -> list[str]:
    """Differences between what a train and an eval pipeline feed the model; ``[]`` if consistent.

    Compares output shape (channels, size), dtype, and per-channel mean and std: a gap in mean
    larger than ``tol`` train standard deviations, or a std ratio outside ``[1/(1+tol), 1+tol]``,
    is reported (augmentation moves statistics a little; a normalisation mismatch moves them a lot).

    Args:
        train_pipeline, eval_pipeline: callables image → ``[C, H, W]`` tensor.
        image: one representative input (not modified).
        n: runs of each pipeline pooled into the statistics.
        tol: tolerance described above (> 0).

    Returns:
        A list of human-readable sentences, one per problem.
    """
    check_positive(tol, "tol")
    tr, ev = describe_output(train_pipeline, image, n=n), describe_output(eval_pipeline, image, n=n)
    problems = []
    if tr.shape[0] != ev.shape[0]:
        problems.append(f"channels differ: train gives {tr.shape[0]}, eval gives {ev.shape[0]}")
    if tr.shape[1:] != ev.shape[1:]:
        problems.append(f"spatial size differs: train {tr.shape[1:]}, eval {ev.shape[1:]}")
    if tr.dtype != ev.dtype:
        problems.append(f"dtype differs: train {tr.dtype}, eval {ev.dtype}")
    if tr.shape[0] == ev.shape[0]:
        for c, (mt, st, me, se) in enumerate(
            zip(tr.channel_mean, tr.channel_std, ev.channel_mean, ev.channel_std, strict=True)
        ):
            if abs(me - mt) > tol * max(st, 1e-6):
                problems.append(
                    f"channel {c} mean differs: train {mt:.3f}, eval {me:.3f} "
                    f"({abs(me - mt) / max(st, 1e-6):.1f} train std)"
                )
            ratio = se / max(st, 1e-6)
            if not 1 / (1 + tol) <= ratio <= 1 + tol:
                problems.append(f"channel {c} std differs: train {st:.3f}, eval {se:.3f} (ratio {ratio:.2f})")
    else:
        problems.append(
            f"statistics: train mean {tr.channel_mean} std {tr.channel_std}; "
            f"eval mean {ev.channel_mean} std {ev.channel_std}"
        )
    return problems
