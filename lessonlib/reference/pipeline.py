"""Reference random resized crop + flip + colour jitter (see ``lessonlib.reference``): one image at a time.

Every random draw is an argument (the box, the flip, the three factors), so the batched
``lessonlib.pipeline.crop_flip_jitter`` can be run on the same draws and compared
(``tests/test_pipeline.py``).
"""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import functional as TF

__all__ = ["crop_flip_jitter"]


def crop_flip_jitter(
    img: torch.Tensor,
    box: tuple[int, int, int, int],
    flip: bool,
    brightness: float,
    contrast: float,
    saturation: float,
    size: int,
) -> torch.Tensor:
    """The ImageNet training augmentation on one image ``[C, H, W]``, written as torchvision's operations.

    1. Random resized crop (Szegedy et al., 2015, *Going deeper with convolutions*): the box
       ``(top, left, height, width)`` is resized to ``size x size`` by bilinear interpolation.
    2. Horizontal flip when ``flip`` (Krizhevsky et al., 2012, *ImageNet classification with deep
       convolutional neural networks*).
    3. Colour jitter (Howard, 2013, *Some improvements on deep convolutional neural network based image
       classification*), each a blend ``out = f·img + (1 − f)·other`` clamped to the pixel range:
       brightness (other = black), contrast (other = the mean grey level), saturation (other = the grey
       image ``0.2989 R + 0.587 G + 0.114 B``), in that order; ``f = 1`` leaves the image unchanged.

    ``img``: uint8 (0..255) or float (0..1); an integer image is interpolated in float and rounded
    (``TF.resize`` on a float copy). Returns ``[C, size, size]`` in the dtype of ``img``.
    """
    assert img.ndim == 3 and img.shape[0] in (1, 3) and size >= 1
    top, left, height, width = box
    assert top >= 0 and left >= 0 and top + height <= img.shape[1] and left + width <= img.shape[2]
    crop = img[:, top : top + height, left : left + width]
    out = TF.resize(
        crop.to(torch.float64 if img.dtype == torch.float64 else torch.float32), [size, size], antialias=False
    )
    out = out.to(img.dtype) if img.is_floating_point() else out.round().clamp(0, 255).to(img.dtype)
    if flip:
        out = TF.horizontal_flip(out)
    out = TF.adjust_brightness(out, brightness)
    out = TF.adjust_contrast(out, contrast)
    return TF.adjust_saturation(out, saturation)
