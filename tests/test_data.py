"""Every loader runs offline and returns data in the documented units, shapes and dtypes."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
import torch
from pydicom.data import get_testdata_file

from lessonlib import data


@pytest.mark.usefixtures("no_network")
class TestOffline:
    def test_ecg_12lead_units_and_shape(self):
        rec = data.load_ecg_12lead()
        assert rec.signal.shape == (12, 10000)
        assert rec.signal.dtype == torch.float32
        assert rec.fs == 1000.0
        assert rec.duration_s == pytest.approx(10.0)
        assert rec.leads == ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
        # QRS peaks: a few tenths of a mV to a few mV in every lead (µV would be ~1000x larger).
        peak = (rec.signal - rec.signal.median(dim=1, keepdim=True).values).abs().amax(dim=1)
        assert bool(((peak > 0.2) & (peak < 5.0)).all()), peak

    def test_ecg_conversion_uses_the_files_sensitivity(self):
        ds = pydicom.dcmread(get_testdata_file("waveform_ecg.dcm"))
        wave = ds.WaveformSequence[0]
        raw = np.frombuffer(wave.WaveformData, dtype="<i2").reshape(-1, wave.NumberOfWaveformChannels)
        ch = wave.ChannelDefinitionSequence[1]
        assert ch.ChannelSensitivityUnitsSequence[0].CodeValue == "uV"
        expected_mv = (
            raw[:, 1] * float(ch.ChannelSensitivity) * float(ch.ChannelSensitivityCorrectionFactor)
            + float(ch.ChannelBaseline)
        ) / 1000.0
        np.testing.assert_allclose(data.load_ecg_12lead().signal[1].numpy(), expected_mv, rtol=1e-6)

    def test_einthoven_relation_holds_in_the_real_record(self):
        s = data.load_ecg_12lead().signal
        # Lead II = lead I + lead III (Einthoven); within quantisation of the stored values.
        assert float((s[1] - (s[0] + s[2])).abs().max()) < 0.02

    def test_chest_xray_is_inverted_and_scaled(self):
        img = data.load_chest_xray()
        assert img.shape == (1, 1955, 1841)
        assert img.dtype == torch.float32
        assert float(img.min()) >= 0.0 and float(img.max()) <= 1.0
        _, h, w = img.shape
        rows = slice(int(0.35 * h), int(0.6 * h))
        mediastinum = img[0, rows, int(0.45 * w) : int(0.55 * w)].mean()
        right_lung = img[0, rows, int(0.2 * w) : int(0.3 * w)].mean()
        left_lung = img[0, rows, int(0.7 * w) : int(0.8 * w)].mean()
        # MONOCHROME1 inverted: the dense mediastinum is brighter than the air-filled lungs.
        assert mediastinum > right_lung + 0.1 and mediastinum > left_lung + 0.1

    def test_chest_xray_raw_keeps_15_bits(self):
        raw = data.load_chest_xray(raw=True)
        assert raw.dtype == torch.uint16 and raw.shape == (1, 1955, 1841)
        as_int = raw.to(torch.int32)
        assert 2**14 < int(as_int.max()) < 2**15  # 15 bits stored, dynamic range used

    def test_chest_xray_resize(self):
        img = data.load_chest_xray(size=256)
        assert min(img.shape[-2:]) == 256 and img.shape[0] == 1

    def test_histology_and_natural_images(self):
        h = data.load_histology()
        assert h.shape == (3, 512, 512) and h.dtype == torch.uint8
        for name, shape in (("astronaut", (3, 512, 512)), ("chelsea", (3, 300, 451)), ("coffee", (3, 400, 600))):
            img = data.load_natural_image(name)
            assert img.shape == shape and img.dtype == torch.uint8

    def test_ecg200(self):
        d = data.load_ecg200()
        assert d.x_train.shape == (100, 1, 96) and d.x_test.shape == (100, 1, 96)
        assert d.x_train.dtype == torch.float32 and d.y_train.dtype == torch.int64
        assert d.y_train.bincount().tolist() == [69, 31]
        assert d.y_test.bincount().tolist() == [64, 36]
        # z-normalised per beat by the archive
        assert torch.allclose(d.x_train.mean(-1), torch.zeros(100, 1), atol=1e-4)

    def test_ecg5000(self):
        d = data.load_ecg5000()
        assert d.x_train.shape == (500, 1, 140) and d.x_test.shape == (4500, 1, 140)
        assert set(d.y_test.unique().tolist()) == {0, 1, 2, 3, 4}

    def test_digits(self):
        d = data.load_digits()
        assert d.x_train.shape[1:] == (1, 8, 8)
        assert d.x_train.shape[0] + d.x_test.shape[0] == 1797
        assert 0.0 <= float(d.x_train.min()) and float(d.x_train.max()) <= 1.0
        assert d.num_classes == 10
        # deterministic split
        assert torch.equal(data.load_digits().y_test, d.y_test)

    def test_tables_in_real_units(self):
        bc = data.load_breast_cancer()
        assert bc.x.shape == (569, 30) and len(bc.feature_names) == 30 == len(bc.units)
        db = data.load_diabetes()
        assert db.x.shape == (442, 10)
        age, sex = db.x[:, 0], db.x[:, 1]
        assert 18 <= float(age.min()) and float(age.max()) <= 90  # years, not standardised
        assert set(sex.unique().tolist()) == {1.0, 2.0}
        assert float(db.x[:, 2].min()) > 15  # BMI in kg/m^2


def test_provenance_for_every_dataset():
    for name in data.list_datasets():
        p = data.provenance(name)
        assert p.source and p.licence and p.units and p.shape
        assert name in str(p)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: data.provenance("imagenet"), "name must be one of"),
        (lambda: data.load_natural_image("lena"), "name must be one of"),
        (lambda: data.load_chest_xray(raw="yes"), "raw must be True or False"),
        (lambda: data.load_chest_xray(raw=True, size=128), "size is only supported"),
        (lambda: data.load_histology(size=3), "size must be >= 8"),
        (lambda: data.load_histology(size=64.0), "size must be an integer"),
        (lambda: data.load_digits(test_fraction=1.5), "test_fraction"),
        (lambda: data.load_digits(seed=-1), "seed"),
        # issue 17 item 13: once an unhashable-type error, and scikit-learn's error naming test_size
        (lambda: data.provenance(["x"]), "name must be one of"),
        (lambda: data.load_digits(test_fraction=0.001), "test_fraction=0.001 holds out 2 of 1797"),
        (lambda: data.load_digits(test_fraction=0.999), "test_fraction"),
        (lambda: data.load_digits(test_fraction=float("nan")), "test_fraction"),
        (lambda: data.load_digits(seed=2**32), "seed"),
    ],
)
def test_bad_input_gives_clear_error(call, match):
    with pytest.raises((ValueError, TypeError), match=match):
        call()


def test_loaders_return_fresh_tensors():
    a = data.load_ecg_12lead().signal
    a += 100.0
    assert float(data.load_ecg_12lead().signal.abs().max()) < 5.0


def test_digits_smallest_valid_split_keeps_every_class_on_both_sides():
    d = data.load_digits(test_fraction=10 / 1797)
    assert d.x_test.shape[0] == 10 and set(d.y_test.tolist()) == set(range(10))
    assert data.load_digits(test_fraction=0.3).x_test.shape[0] == 540  # the course's split is unchanged
