"""Tests for lessonlib.policies: the oracle against torchvision's own operations, per-image draws,
determinism, no in-place change, dtype/device kept, bad input refused with a named parameter."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.transforms import v2

from lessonlib import policies as P
from lessonlib import policy_spaces as S
from lessonlib._kernels import policies as K
from lessonlib.augment import policy_augment
from lessonlib.utils import make_generator

_TV = {"wide": v2.TrivialAugmentWide(), "randaugment": v2.RandAugment(), "augmix": v2.AugMix()}
_GEOMETRIC = {"ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"}


def _reference(img: torch.Tensor, name: str, magnitude: float, interpolation=v2.InterpolationMode.NEAREST):
    """torchvision's policy applying operation ``name`` at ``magnitude`` to one image, alone."""
    tv = _TV["wide"]
    return tv._apply_image_or_video_transform(img, name, magnitude, interpolation=interpolation, fill=tv._fill)


def _images(shape, dtype, seed):
    x = torch.randint(0, 256, shape, generator=make_generator(seed), dtype=torch.uint8)
    return x if dtype == torch.uint8 else x.to(dtype) / 255


# the last shape is large enough (>= 2**14 elements per image) for the stacked-views copies
@pytest.mark.parametrize("shape", [(96, 1, 32, 32), (48, 3, 17, 23), (6, 3, 64, 64), (10, 3, 80, 96)])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("space", ["wide", "randaugment"])
def test_oracle_every_image_equals_torchvision_applied_alone(shape, dtype, space):
    x = _images(shape, dtype, seed=shape[0])
    draws = P.sample_trivial_augment(shape[0], shape[2], shape[3], space=space, generator=make_generator(1))
    out = P.apply_draws(x, draws)
    for i in range(shape[0]):
        name, m = draws.names(i)[0], float(draws.magnitude[i, 0])
        ref = _reference(x[i], name, m)
        if name in _GEOMETRIC:  # nearest-neighbour ties may break the other way: a few pixels at most
            frac = float((out[i] != ref).float().mean())
            assert frac <= 0.01, (name, m, frac)
        elif dtype == torch.uint8:
            assert torch.equal(out[i], ref), (name, m)
        else:
            torch.testing.assert_close(out[i], ref, atol=1e-6, rtol=0, msg=f"{name} {m}")


@pytest.mark.parametrize("name", sorted(set(S.OPS) - {"Identity"}))
def test_every_operation_at_extreme_and_middle_magnitudes(name):
    """Each kernel against torchvision at the ends of its range (signed ones both ways) on uint8 RGB."""
    x = _images((4, 3, 20, 20), torch.uint8, seed=3)
    fn, signed = S.SPACES["wide"].get(name, (lambda n, h, w: None, False))
    bins = fn(31, 20, 20)
    values = [0.0] if bins is None else [float(bins[k]) for k in (0, 15, 30)]
    values += [-v for v in values] if signed else []
    for v in values:
        out = P.apply_op(x, name, torch.full((4,), v, dtype=torch.float64))
        for i in range(4):
            ref = _reference(x[i], name, v)
            if name in _GEOMETRIC:
                assert float((out[i] != ref).float().mean()) <= 0.01
            else:
                assert torch.equal(out[i], ref), (name, v)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
@pytest.mark.parametrize("name", sorted(_GEOMETRIC))
@pytest.mark.parametrize("fill", [None, 200.0])
@pytest.mark.parametrize("size", [(21, 26), (131, 128)])  # translations: a gather when small, slices when large
def test_geometric_operations_bilinear_and_with_fill_match_torchvision(name, fill, dtype, size):
    """The fast paths (slices or a gather for translations, a gather for nearest, grid_sample for
    bilinear) and the fill value against torchvision on non-square RGB, both signs, both modes."""
    h, w = size
    x = _images((3, 3, h, w), dtype, seed=11)
    fill_arg = None if fill is None else (fill if dtype == torch.uint8 else fill / 255)
    tv_fill = v2.TrivialAugmentWide(fill=fill_arg)._fill
    fn, _ = S.SPACES["wide"][name]
    for v in (float(fn(31, h, w)[20]), -float(fn(31, h, w)[9])):
        for mode, interp in (("nearest", v2.InterpolationMode.NEAREST), ("bilinear", v2.InterpolationMode.BILINEAR)):
            out = P.apply_op(x, name, torch.full((3,), v, dtype=torch.float64), interpolation=mode, fill=fill_arg)
            for i in range(3):
                ref = _TV["wide"]._apply_image_or_video_transform(x[i], name, v, interpolation=interp, fill=tv_fill)
                if name.startswith("Translate"):  # whole-pixel shifts: exact (torchvision: float-grid error)
                    torch.testing.assert_close(out[i], ref, atol=1e-5 if dtype != torch.uint8 else 0, rtol=0)
                elif mode == "bilinear":  # the same float grid_sample: equal up to rounding
                    diff = (out[i].double() - ref.double()).abs()
                    assert float(diff.max()) <= (1 if dtype == torch.uint8 else 1e-5), (name, v, fill)
                else:
                    assert float((out[i] != ref).float().mean()) <= 0.01, (name, v, fill)


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(["Sharpness", "Solarize", "Brightness", "Contrast", "Color", "Posterize"]),
    hw=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    c=st.sampled_from([1, 3]),
    u=st.floats(0.0, 1.0),
    seed=st.integers(0, 2**31),
)
def test_uint8_colour_kernels_bit_identical_at_any_magnitude(name, hw, c, u, seed):
    """The integer shortcuts (sharpness from box sums, solarize by compare and XOR) are exact, not close."""
    x = _images((2, c, *hw), torch.uint8, seed)
    v = {"Solarize": u, "Posterize": float(round(1 + 7 * u))}.get(name, 2 * u - 1)
    out = P.apply_op(x, name, torch.full((2,), v, dtype=torch.float64))
    for i in range(2):
        assert torch.equal(out[i], _reference(x[i], name, v)), (name, v)


def test_nearest_warp_addresses_pixels_exactly_beyond_float32_integers():
    """A frame of more than 2**24 pixels (float32's exact integers): the gather's flat index must still
    land on the right pixel. A zero shear is the identity warp through the float-coordinate path."""
    h, w = 3, 4_300_000  # padded (h + 2) * (w + 2) = 21.5M > 2**24, yet only 13 MB of uint8
    x = (torch.arange(h * w) % 251).to(torch.uint8).view(1, 1, h, w)
    assert torch.equal(P.apply_op(x, "ShearY", torch.tensor([0.0])), x)


@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_chunked_and_stacked_paths_give_the_same_pixels(dtype, monkeypatch):
    """The cache-sized chunks and the stacked copies are speed-ups only: forced on for a small batch
    (one image per chunk, every image stacked) they change no pixel."""
    x = _images((40, 3, 12, 14), dtype, seed=4)
    draws = P.sample_rand_augment(40, 12, 14, num_ops=2, magnitude=20, space="wide", generator=make_generator(8))
    plain = P.apply_draws(x, draws)
    for name in ("_CHUNK_ELEMENTS", "_WARP_CHUNK_ELEMENTS", "_STACK_ELEMENTS"):
        monkeypatch.setattr(K, name, 1)
    assert torch.equal(P.apply_draws(x, draws), plain)


def test_spaces_match_torchvision_bins():
    for space, tv in _TV.items():
        for name, (fn, signed) in tv._AUGMENTATION_SPACE.items():
            if space == "augmix" and name not in S.SPACES["augmix"]:
                continue  # all_ops colour operations: added by augmix(all_ops=True)
            mine, my_signed = S.SPACES[space][name]
            for n, h, w in ((31, 32, 32), (10, 8, 12)):
                a, b = fn(n, h, w), mine(n, h, w)
                assert (a is None) == (b is None), (space, name)
                if a is not None:
                    assert torch.equal(a, b), (space, name)
            assert signed == my_signed


def test_torchvision_draws_one_operation_for_a_whole_batch_and_ours_one_per_image():
    x = _images((1, 3, 32, 32), torch.uint8, seed=5).expand(32, -1, -1, -1).contiguous()
    torch.manual_seed(0)
    theirs = v2.TrivialAugmentWide()(x)
    ours = P.trivial_augment(x, generator=make_generator(0))
    assert len({tuple(t.flatten().tolist()) for t in theirs}) == 1
    assert len({tuple(t.flatten().tolist()) for t in ours}) > 10


def test_rand_augment_applies_n_operations_in_order_like_torchvision():
    x = _images((24, 3, 16, 16), torch.uint8, seed=6)
    draws = P.sample_rand_augment(24, 16, 16, num_ops=2, magnitude=9, generator=make_generator(2))
    assert draws.op.shape == (24, 2)
    out = P.apply_draws(x, draws)
    tv = _TV["randaugment"]
    for i in range(24):
        ref = x[i]
        for k in range(2):
            name, m = draws.names(i)[k], float(draws.magnitude[i, k])
            ref = tv._apply_image_or_video_transform(ref, name, m, interpolation=tv.interpolation, fill=tv._fill)
        assert float((out[i] != ref).float().mean()) <= 0.02


def test_draws_are_per_image_uniform_and_magnitudes_come_from_the_bins():
    d = P.sample_trivial_augment(14000, 32, 32, generator=make_generator(0))
    counts = torch.bincount(d.op.flatten(), minlength=14).double()
    assert counts.min() > 850 and counts.max() < 1150  # 1000 each expected
    table, _ = S.magnitude_table(d.ops, S.SPACES["wide"], 31, 32, 32)
    for k in range(14):
        mags = d.magnitude[d.op[:, 0] == k, 0].abs()
        assert torch.isin(mags, table[k]).all()


@settings(max_examples=15, deadline=None)
@given(
    b=st.integers(1, 9),
    c=st.sampled_from([1, 3]),
    hw=st.integers(3, 12),
    dtype=st.sampled_from([torch.uint8, torch.float32, torch.float64]),
    seed=st.integers(0, 2**31),
    policy=st.sampled_from(["trivial", "randaugment", "augmix"]),
)
def test_properties_seeded_no_in_place_shape_and_dtype_kept(b, c, hw, dtype, seed, policy):
    x = _images((b, c, hw, hw + 1), dtype, seed)
    x0 = x.clone()
    fn = {"trivial": P.trivial_augment, "randaugment": P.rand_augment, "augmix": P.augmix}[policy]
    a = fn(x, generator=make_generator(seed))
    again = fn(x, generator=make_generator(seed))
    assert torch.equal(x, x0)
    assert a.shape == x.shape and a.dtype == x.dtype and a.device == x.device
    assert torch.equal(a, again)
    if x.is_floating_point():
        assert float(a.min()) >= 0 and float(a.max()) <= 1 + 1e-6


def test_augmix_is_a_convex_mix_and_identity_when_every_chain_is_identity():
    x = _images((8, 1, 12, 12), torch.float32, seed=7)
    out = P.augmix(x, generator=make_generator(0))
    assert not torch.equal(out, x)
    # with a single no-op operation space, the mix of identical images is the image itself
    same = P.apply_draws(x, P.PolicyDraws(("Identity",), torch.zeros(8, 3, dtype=torch.long), torch.zeros(8, 3)))
    assert torch.equal(same, x)


def test_jensen_shannon_consistency_zero_for_agreeing_views_and_bounded():
    z = torch.randn(16, 10, generator=make_generator(0))
    assert float(P.jensen_shannon_consistency(z, z.clone(), z.clone())) == pytest.approx(0.0, abs=1e-6)
    far = [torch.full((4, 3), -50.0).index_fill_(1, torch.tensor([k]), 50.0) for k in range(3)]
    assert float(P.jensen_shannon_consistency(*far)) == pytest.approx(math.log(3), rel=1e-3)
    with pytest.raises(ValueError, match="two views"):
        P.jensen_shannon_consistency(z)


def test_prob_untouched_rand_augment():
    ops = list(S.SPACES["randaugment"])
    assert P.prob_untouched_rand_augment(2, ops) == pytest.approx((1 / 14) ** 2)
    assert P.prob_untouched_rand_augment(0, ops) == 1.0
    grey = P.prob_untouched_rand_augment(2, ops, identity_like=["Color"])
    assert grey == pytest.approx((2 / 14) ** 2)


def test_bad_input_is_refused_naming_the_parameter():
    x = _images((2, 3, 8, 8), torch.uint8, seed=0)
    with pytest.raises(ValueError, match="x must have 4"):
        P.trivial_augment(x[0])
    with pytest.raises(TypeError, match="uint8"):
        P.trivial_augment(x.to(torch.int32))
    with pytest.raises(ValueError, match="channels"):
        P.trivial_augment(torch.zeros(2, 2, 8, 8, dtype=torch.uint8))
    with pytest.raises(TypeError, match="generator"):
        P.trivial_augment(x, generator=0)
    with pytest.raises(ValueError, match="ops entry"):
        P.trivial_augment(x, ops=["Rotate", "Flip"])
    with pytest.raises(ValueError, match="space"):
        P.trivial_augment(x, space="cifar")
    with pytest.raises(ValueError, match="magnitude"):
        P.rand_augment(x, magnitude=31)
    with pytest.raises(ValueError, match="num_ops"):
        P.rand_augment(x, num_ops=-1)
    with pytest.raises(ValueError, match="interpolation"):
        P.trivial_augment(x, interpolation="cubic")
    with pytest.raises(ValueError, match="severity"):
        P.augmix(x, severity=11)
    with pytest.raises(ValueError, match="policy"):
        policy_augment("autoaugment")


def test_policy_augment_passes_labels_and_uses_the_generator():
    aug = policy_augment("trivial", space="medical")
    x, y = torch.rand(16, 1, 8, 8, generator=make_generator(0)), torch.arange(16)
    a, ya = aug(x, y, make_generator(3))
    b, _ = aug(x, y, make_generator(3))
    assert torch.equal(ya, y) and torch.equal(a, b)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_gpu_matches_cpu():
    x = _images((32, 3, 24, 24), torch.uint8, seed=9)
    draws = P.sample_trivial_augment(32, 24, 24, generator=make_generator(0))
    cpu, gpu = P.apply_draws(x, draws), P.apply_draws(x.cuda(), draws)
    assert gpu.device.type == "cuda"
    assert float((gpu.cpu() != cpu).float().mean()) <= 0.01


# ----------------------------------------------------------------------------------------------
# The input contract (issue #35): each of these was accepted silently (NaN out, a probability for an
# unknown operation) or crashed with an error that named no parameter (IndexError, KeyError).
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [P.trivial_augment, P.rand_augment, P.augmix])
def test_policies_refuse_an_empty_batch_naming_x(fn):
    with pytest.raises(ValueError, match=r"x is an empty batch \(shape \(0, 3, 8, 8\)\); expected at least one"):
        fn(torch.rand(0, 3, 8, 8))


def test_samplers_apply_and_the_loss_refuse_an_empty_batch():
    with pytest.raises(ValueError, match="batch must be >= 1, got 0"):
        P.sample_trivial_augment(0, 8, 8)
    with pytest.raises(ValueError, match="batch must be >= 1, got 0"):
        P.sample_rand_augment(0, 8, 8)
    empty = torch.zeros(0, 1, 8, 8)
    with pytest.raises(ValueError, match=r"x is an empty batch"):
        P.apply_op(empty, "Rotate", torch.zeros(0))
    with pytest.raises(ValueError, match=r"x is an empty batch"):
        P.apply_draws(empty, P.PolicyDraws(("Rotate",), torch.zeros(0, 1, dtype=torch.long), torch.zeros(0, 1)))
    with pytest.raises(ValueError, match=r"logits\[0\] is empty \(shape \(0, 3\)\)"):
        P.jensen_shannon_consistency(torch.zeros(0, 3), torch.zeros(0, 3))


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_images_and_logits_are_refused(bad):
    x = torch.rand(3, 1, 8, 8)
    x[1, 0, 2, 2] = bad
    for fn in (P.trivial_augment, P.rand_augment, P.augmix):
        with pytest.raises(ValueError, match="x contains NaN or infinite values"):
            fn(x)
    with pytest.raises(ValueError, match="x contains NaN or infinite values"):
        P.apply_op(x, "Brightness", torch.zeros(3))
    z = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r"logits\[1\] contains NaN or infinite values"):
        P.jensen_shannon_consistency(z, torch.full((3, 4), bad))


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("Brightness", float("nan"), "magnitude contains NaN or infinite values"),
        ("TranslateX", float("inf"), "magnitude contains NaN or infinite values"),
        ("Posterize", -1.0, r"magnitude for Posterize must lie in \[0, 8\], got -1"),
        ("Posterize", 9.0, r"magnitude for Posterize must lie in \[0, 8\], got 9"),
        ("Posterize", 2.5, "magnitude for Posterize must be whole numbers of bits"),
        ("Solarize", 1.5, r"magnitude for Solarize must lie in \[0, 1\], got 1.5"),
        ("Contrast", -1.5, r"magnitude for Contrast must lie in \[-1, inf\], got -1.5"),
    ],
)
def test_apply_op_refuses_magnitudes_outside_the_operations_range(name, value, match):
    x = _images((2, 3, 8, 8), torch.uint8, seed=0)
    with pytest.raises(ValueError, match=match):
        P.apply_op(x, name, torch.tensor([0.0 if name != "Posterize" else 4.0, value]))


def _draws(ops, op, magnitude):
    return P.PolicyDraws(ops, torch.as_tensor(op), torch.as_tensor(magnitude, dtype=torch.float64))


@pytest.mark.parametrize(
    ("draws", "error", "match"),
    [
        (
            _draws(("Identity", "Rotate"), [[0], [2]], [[0.0], [0.0]]),
            ValueError,
            r"draws.op must index draws.ops \(0..1\), got 0..2",
        ),
        (_draws(("Identity", "Rotate"), [[0], [-1]], [[0.0], [0.0]]), ValueError, r"draws.op must index draws.ops"),
        (
            _draws(("Identity", "Flip"), [[0], [1]], [[0.0], [0.0]]),
            ValueError,
            r"draws.ops entry must be one of .*got 'Flip'",
        ),
        (_draws("Rotate", [[0], [0]], [[0.0], [0.0]]), TypeError, "draws.ops must be a non-empty tuple"),
        (_draws(("Rotate",), [[0], [0]], [[float("nan")], [0.0]]), ValueError, "draws.magnitude contains NaN"),
        (_draws(("Posterize",), [[0], [0]], [[4.0], [-1.0]]), ValueError, r"draws.magnitude for Posterize must lie in"),
        (
            _draws(("Rotate",), [[0, 0], [0, 0]], [[0.0], [0.0]]),
            ValueError,
            r"draws.magnitude has shape \(2, 1\), expected \(2, 2\)",
        ),
        (
            _draws(("Rotate",), [[0], [0], [0]], [[0.0]] * 3),
            ValueError,
            r"draws.op has shape \(3, 1\), but x has 2 images",
        ),
        (_draws(("Rotate",), [0, 0], [0.0, 0.0]), ValueError, r"draws.op must have 2 dimensions"),
        (
            _draws(("Rotate",), [[0.0], [0.0]], [[0.0], [0.0]]),
            TypeError,
            "draws.op must hold integer operation indices",
        ),
    ],
)
def test_apply_draws_refuses_hand_made_draws_naming_the_field(draws, error, match):
    with pytest.raises(error, match=match):
        P.apply_draws(_images((2, 3, 8, 8), torch.uint8, seed=0), draws)


def test_magnitude_table_refuses_unknown_names_and_too_few_bins():
    with pytest.raises(ValueError, match=r"ops entry must be one of \['Identity', 'ShearX', .*\], got 'Bogus'"):
        S.magnitude_table(["Bogus"], S.SPACES["wide"], 31, 8, 8)
    with pytest.raises(ValueError, match="num_bins must be >= 2, got 0"):
        S.magnitude_table(["Rotate"], "wide", 0, 8, 8)
    with pytest.raises(ValueError, match="height must be >= 1, got 0"):
        S.magnitude_table(["Rotate"], "wide", 31, 0, 8)


def test_prob_untouched_refuses_unknown_operations_and_a_bare_string():
    with pytest.raises(ValueError, match=r"ops entry must be one of .*, got 'Bogus'"):
        P.prob_untouched_rand_augment(1, ["Identity", "Bogus"])
    with pytest.raises(ValueError, match=r"identity_like entry must be one of .*, got 'Flip'"):
        P.prob_untouched_rand_augment(1, ["Identity", "Rotate"], identity_like=["Flip"])
    with pytest.raises(TypeError, match=r"identity_like must be a list of operation names \(not a bare string\)"):
        P.prob_untouched_rand_augment(1, ["Identity", "Rotate"], identity_like="Rotate")


def _bad(fault: str, b: int = 2):
    """A bad value for an image batch ``[b, 3, 8, 8]`` (or logits ``[b, 3]`` for ``_logits``) and the fault's words."""
    x = torch.rand(b, 3, 8, 8)
    return {
        "type": (x.numpy(), r"must be a torch.Tensor, got ndarray"),
        "nan": (x.index_fill(2, torch.tensor([1]), float("nan")), r"contains NaN or infinite values"),
        "inf": (x.index_fill(3, torch.tensor([0]), float("inf")), r"contains NaN or infinite values"),
        "empty": (x[:0], r"is an empty batch"),
        "ndim": (x[0], r"must have 4 dimensions, got shape \(3, 8, 8\)"),
        "float16": (x.half(), r"must be uint8 \(0..255\) or float32/float64 \(0..1\), got dtype torch.float16"),
        "int32": (x.to(torch.int32), r"must be uint8 \(0..255\) or float32/float64 \(0..1\), got dtype torch.int32"),
    }[fault]


_MODEL = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 64, 4))
_IMAGE_FUNCTIONS = {
    "trivial_augment": ("x", lambda x: P.trivial_augment(x)),
    "rand_augment": ("x", lambda x: P.rand_augment(x)),
    "augmix": ("x", lambda x: P.augmix(x)),
    "apply_op": ("x", lambda x: P.apply_op(x, "Rotate", torch.zeros(2))),
    "apply_draws": ("x", lambda x: P.apply_draws(x, P.sample_trivial_augment(2, 8, 8))),
    "augmix_jsd_loss": ("xb", lambda x: P.augmix_jsd_loss()(_MODEL, x, torch.zeros(2, dtype=torch.long), None)),
    "policy_augment": ("x", lambda x: policy_augment("trivial")(x, torch.zeros(2), None)),
}


@settings(max_examples=50, deadline=None)
@given(
    fn=st.sampled_from(sorted(_IMAGE_FUNCTIONS)),
    fault=st.sampled_from(["type", "nan", "inf", "empty", "ndim", "float16", "int32"]),
)
def test_every_image_function_refuses_bad_images_naming_the_parameter(fn, fault):
    name, call = _IMAGE_FUNCTIONS[fn]
    value, words = _bad(fault)
    with pytest.raises((ValueError, TypeError), match=rf"^{name} {words}"):
        call(value)


@settings(max_examples=30, deadline=None)
@given(
    fault=st.sampled_from(["type", "nan", "inf", "empty", "ndim", "int"]),
    position=st.integers(0, 2),
)
def test_jensen_shannon_consistency_refuses_bad_logits_naming_which(fault, position):
    z = torch.zeros(4, 3)
    bad = {
        "type": (z.tolist(), "must be a torch.Tensor, got list"),
        "nan": (z.index_fill(1, torch.tensor([2]), float("nan")), "contains NaN or infinite values"),
        "inf": (z.index_fill(0, torch.tensor([1]), -float("inf")), "contains NaN or infinite values"),
        "empty": (z[:0], r"is empty \(shape \(0, 3\)\)"),
        "ndim": (z[0], r"must have 2 dimensions, got shape \(3,\)"),
        "int": (z.long(), "must be a floating-point tensor, got dtype torch.int64"),
    }[fault]
    logits = [z.clone() for _ in range(3)]
    logits[position] = bad[0]
    with pytest.raises((ValueError, TypeError), match=rf"^logits\[{position}\] {bad[1]}"):
        P.jensen_shannon_consistency(*logits)


@settings(max_examples=40, deadline=None)
@given(
    sampler=st.sampled_from([P.sample_trivial_augment, P.sample_rand_augment]),
    param=st.sampled_from(["batch", "height", "width", "num_bins"]),
    value=st.sampled_from([0, -3, 2.0, "8", None, float("nan")]),
)
def test_samplers_refuse_bad_sizes_naming_the_parameter(sampler, param, value):
    args = {"batch": 2, "height": 8, "width": 8}
    kwargs = {"num_bins": 31}
    (args if param in args else kwargs)[param] = value
    with pytest.raises((ValueError, TypeError), match=rf"^{param} must be"):
        sampler(*args.values(), **kwargs)


def test_augmix_jsd_loss_validates_its_settings_now_and_needs_labels():
    with pytest.raises(ValueError, match="severity must be <= 10, got 11"):
        P.augmix_jsd_loss(severity=11)
    with pytest.raises(ValueError, match="weight must be >= 0.0, got -1"):
        P.augmix_jsd_loss(weight=-1)
    with pytest.raises(TypeError, match="yb must be labels"):
        P.augmix_jsd_loss()(_MODEL, torch.rand(2, 3, 8, 8), None, None)


def test_float16_logits_are_computed_in_float32_and_returned_in_float16():
    z = torch.randn(5, 4, generator=make_generator(0))
    half = P.jensen_shannon_consistency(z.half(), z.flip(0).half())
    assert half.dtype == torch.float16
    assert float(half) == pytest.approx(float(P.jensen_shannon_consistency(z, z.flip(0))), abs=1e-3)


def test_wide_space_blanks_small_images_and_relative_translations_do_not():
    # notebook 08's pitfall: TrivialAugmentWide translates by up to 32 px whatever the size, so on an
    # 8x8 image most translation bins move everything off it; RandAugment's space scales with the side
    x = torch.zeros(2000, 1, 8, 8)
    x[:, :, 2:6, 2:6] = 1.0  # a centred square of "ink"
    tx = {s: float(S.magnitude_table(["TranslateX"], s, 31, 8, 8)[0].max()) for s in ("wide", "randaugment")}
    assert tx["wide"] == 32.0 and tx["randaugment"] == pytest.approx(150 / 331 * 8, abs=1e-5)
    only_shifts = ["TranslateX", "TranslateY"]
    for space, blank_expected in (("wide", True), ("randaugment", False)):
        out = P.trivial_augment(x, space=space, ops=only_shifts, generator=make_generator(0)).flatten(1)
        blank = float((out.amax(1) == out.amin(1)).double().mean())
        assert (blank > 0.5) == blank_expected, (space, blank)
