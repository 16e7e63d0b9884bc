"""Notebook 07's review drills: every buggy snippet fails its check, every model answer passes it.

Also: the buggy code stays quarantined (nothing else imports it), the model answers meet the course's
own standards (validation, no in-place writes, reproducibility), and the mock interview and exercise
checkers of ``lessonlib.exercises.nb07`` accept their model answers and reject wrong ones.
"""

from __future__ import annotations

import ast
import inspect
import math
import pathlib

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lessonlib import review
from lessonlib.exercises import ExerciseFailed, nb07
from lessonlib.review import answers, buggy, checks, drills, measure, sources
from lessonlib.utils import make_generator

NAMES = review.names()
ROOT = pathlib.Path(__file__).resolve().parents[1]


# --- the core contract ------------------------------------------------------------------------


def test_at_least_ten_drills_each_a_different_bug_class():
    assert len(NAMES) >= 10
    classes = [s.bug_class for s in review.SNIPPETS.values()]
    assert len(set(classes)) == len(classes)
    assert [s.number for s in review.SNIPPETS.values()] == list(range(1, len(NAMES) + 1))


@pytest.mark.parametrize("name", NAMES)
def test_buggy_snippet_fails_its_check(name):
    fb = review.check(name, getattr(buggy, review.SNIPPETS[name].function))
    assert fb.passed is False, f"{name}: the buggy version passes its own check"
    assert len(fb.message) > 40  # the feedback explains, not just "wrong"


@pytest.mark.parametrize("name", NAMES)
def test_model_answer_passes_its_check(name):
    fb = review.check(name, getattr(answers, review.SNIPPETS[name].function), must_pass=True)
    assert fb.passed is True


@pytest.mark.parametrize("name", NAMES)
def test_buggy_and_answer_share_a_signature(name):
    fn = review.SNIPPETS[name].function
    assert inspect.signature(getattr(buggy, fn)) == inspect.signature(getattr(answers, fn))


def test_every_drill_has_cases_and_every_function_is_a_drill():
    assert set(checks.CASES) == set(NAMES)
    public = {n for n, f in vars(buggy).items() if inspect.isfunction(f) and f.__module__ == buggy.__name__}
    assert public == {s.function for s in review.SNIPPETS.values()}


def test_audit_reports_every_bug_caught_and_every_answer_passing():
    rows = review.audit()
    assert [r.name for r in rows] == NAMES
    assert all(r.bug_caught and r.answer_passes for r in rows)


def test_show_displays_the_buggy_source(monkeypatch):
    shown = _capture_markdown(monkeypatch)
    review.show("ecg_window")
    assert "int(seconds * 250)" in shown[0] and "```python" in shown[0]


def test_checks_are_deterministic_and_leave_global_random_state_alone():
    import numpy as np

    torch_state, np_state = torch.random.get_rng_state(), np.random.get_state()  # noqa: NPY002 - checking it is untouched
    first = [drills.probe(getattr(buggy, s.function), n)[2] for n, s in review.SNIPPETS.items()]
    second = [drills.probe(getattr(buggy, s.function), n)[2] for n, s in review.SNIPPETS.items()]
    assert first == second
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    after = np.random.get_state()  # noqa: NPY002
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]


def test_demonstrate_prints_the_failing_case(capsys):
    fb = review.demonstrate("ecg_window")
    assert fb.passed is False
    out = capsys.readouterr().out
    assert "[BUG SHOWN]" in out and "2500" in out and "625" in out


def test_demonstrate_refuses_a_bug_that_passes(monkeypatch):
    monkeypatch.setattr(buggy, "random_window", answers.random_window)
    with pytest.raises(AssertionError, match="passes its own check"):
        review.demonstrate("ecg_window")


def test_check_feedback_for_placeholder_non_callable_and_must_pass():
    assert review.check("in_place", ...).passed is None
    assert review.check("in_place", 3).passed is False
    with pytest.raises(ExerciseFailed):
        review.check("in_place", buggy.add_gaussian_noise, must_pass=True)
    with pytest.raises(ValueError, match="name must be one of"):
        review.check("no_such_drill", answers.add_gaussian_noise)


def test_check_reports_a_learner_exception_instead_of_raising():
    def broken(*args, **kwargs):
        raise KeyError("boom")

    fb = review.check("ecg_window", broken)
    assert fb.passed is False and "KeyError" in fb.message


def test_a_fix_that_removes_the_augmentation_does_not_pass():
    # Guards against "fixes" that kill the bug by doing nothing.
    assert not review.check("numpy_rng", lambda x, *, max_shift=50, generator=None: x.clone()).passed
    assert not review.check("in_place", lambda x, *, relative_std=0.05, generator=None: x.clone()).passed
    assert not review.check("mixup_pairing", lambda x, y, *, alpha=0.4, generator=None: (x.clone(), y.clone())).passed


def test_other_correct_fixes_pass_too():
    # Checks test behaviour, not the model answer's wording: other correct rewrites must pass.
    def wander(signal, fs, *, freq_hz=0.3, amplitude_mv=0.1, phase=0.0):
        t = torch.linspace(0, signal.shape[-1] / fs, signal.shape[-1])  # off by one sample: close enough
        return signal + amplitude_mv * torch.sin(2 * math.pi * freq_hz * t + phase)

    def mixup_label_side(x, y_soft, *, alpha=0.4, generator=None):  # fix the label instead of the input
        lam = torch.distributions.Beta(alpha, alpha).sample((x.shape[0],))
        perm = torch.randperm(x.shape[0], generator=generator)
        lam_x = lam.view(-1, *([1] * (x.ndim - 1)))
        return lam_x * x[perm] + (1 - lam_x) * x, lam[:, None] * y_soft[perm] + (1 - lam[:, None]) * y_soft

    def pipelines_half(*, strength=1.0):  # one shared (0.5, 0.5) normalisation is as consistent as ImageNet's
        train_fn, _ = buggy.cxr_pipelines(strength=strength)
        return train_fn, lambda x: (x.expand(-1, 3, -1, -1) - 0.5) / 0.5

    def proba_view(model, x, *, batch_size=64):
        with torch.no_grad():
            return torch.cat(
                [torch.sigmoid(model(x[i : i + batch_size])).view(-1) for i in range(0, len(x), batch_size)]
            )

    assert review.check("ecg_wander", wander, must_pass=True)
    assert review.check("mixup_pairing", mixup_label_side, must_pass=True)
    assert review.check("train_eval_mismatch", pipelines_half, must_pass=True)
    assert review.check("squeeze", proba_view, must_pass=True)


def test_half_fixes_fail():
    def tta_always_train(model, x):  # restores "train" even when the caller's model was in eval mode
        model.eval()
        with torch.no_grad():
            probs = (model(x).softmax(-1) + model(x.flip(-1)).softmax(-1)) / 2
        model.train()
        return probs

    fb = review.check("tta_mode", tta_always_train)
    assert fb.passed is False and "eval mode" in fb.message


# --- quarantine: the buggy code is imported by nothing else ------------------------------------


def _imports(path: pathlib.Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def test_no_other_lessonlib_module_imports_review():
    pkg = ROOT / "lessonlib"
    for path in pkg.rglob("*.py"):
        if "review" in path.relative_to(pkg).parts:
            continue
        bad = {m for m in _imports(path) if m.startswith("lessonlib.review")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}; only notebook 07 may use lessonlib.review"


def test_package_exports_no_buggy_function():
    exported = [getattr(review, n) for n in review.__all__]
    assert not any(inspect.isfunction(f) and f.__module__ == buggy.__name__ for f in exported)


# --- the model answers meet the course's own standards ------------------------------------------


def test_answers_validate_inputs_with_named_parameters():
    with pytest.raises(ValueError, match="fs"):
        answers.random_window(torch.zeros(1, 1, 100), -5.0)
    with pytest.raises(ValueError, match="seconds"):
        answers.random_window(torch.zeros(1, 1, 100), 100.0, seconds=5.0)
    with pytest.raises(ValueError, match="signal"):
        answers.random_window(torch.zeros(100), 100.0)
    with pytest.raises(ValueError, match="max_shift"):
        answers.random_time_shift(torch.zeros(1, 1, 10), max_shift=-1)
    with pytest.raises(ValueError, match="y_soft"):
        answers.mixup(torch.zeros(4, 3), torch.eye(3))
    with pytest.raises(ValueError, match="strength"):
        answers.cxr_pipelines(strength=2.0)
    with pytest.raises(TypeError, match="train"):
        answers.build_transform("yes")
    with pytest.raises(ValueError, match="square"):
        answers.tta_segment(torch.nn.Identity(), torch.zeros(1, 1, 4, 6))
    with pytest.raises(ValueError, match="train_idx"):
        answers.make_feature_noise(torch.zeros(5, 2), torch.tensor([0]))


@settings(max_examples=25, deadline=None)
@given(
    b=st.integers(1, 5),
    h=st.integers(2, 24),
    w=st.integers(2, 24),
    alpha=st.floats(0.2, 4.0),
    seed=st.integers(0, 2**16),
)
def test_answer_cutmix_label_equals_pasted_area(b, h, w, alpha, seed):
    x = torch.arange(b, dtype=torch.float32).view(b, 1, 1, 1).expand(b, 2, h, w).clone()
    y = torch.eye(b)
    x_mix, y_mix = answers.cutmix(x, y, alpha=alpha, generator=make_generator(seed))
    if b == 1:
        assert torch.equal(x_mix, x) and torch.allclose(y_mix, y)
        return
    from_partner = (x_mix != x).float().mean(dim=(1, 2, 3))  # constant images: changed pixels = pasted
    partner_weight = (y_mix * y.roll(1, dims=0)).sum(1)
    torch.testing.assert_close(partner_weight, from_partner, atol=1e-6, rtol=0)


@settings(max_examples=40, deadline=None)
@given(
    b=st.integers(1, 5),
    h=st.integers(2, 24),
    w=st.integers(2, 24),
    alpha=st.floats(0.2, 4.0),
    seed=st.integers(0, 2**16),
)
def test_review_cutmix_and_mixup_agree_with_the_reference(b, h, w, alpha, seed):
    """answers.cutmix (and buggy.cutmix's pixels) = reference.mixing.cutmix with reference.mixing.cutmix_box
    on the same draws: one box convention in the whole course (odd sides included). Exact pixels; λ to
    float32 rounding of the drawn λ; answers.mixup = reference.mixing.mixup to 1e-6."""
    from lessonlib import reference
    from lessonlib.utils import randint, randperm, sample_beta

    g = make_generator(seed)
    x, y = torch.rand(b, 2, h, w, generator=g), torch.softmax(torch.randn(b, 3, generator=g), 1)
    roll = (torch.arange(b) - 1) % b  # the drills pair i with i - 1 (torch.roll)
    # replay the drill's draws: λ (float32, as sample_beta's default), then the centre (row, then column)
    g = make_generator(seed + 1)
    lam_p = float(sample_beta(alpha, alpha, generator=g))
    cy, cx = int(randint(0, h, 1, generator=g)), int(randint(0, w, 1, generator=g))
    box = reference.mixing.cutmix_box(lam_p, cx, cy, h, w)
    want_x, want_y, _ = reference.mixing.cutmix(x, y, [box] * b, roll)
    for module in (answers, buggy):
        x_mix, _ = module.cutmix(x, y, alpha=alpha, generator=make_generator(seed + 1))
        assert torch.equal(x_mix, want_x), module.__name__
    _, y_mix = answers.cutmix(x, y, alpha=alpha, generator=make_generator(seed + 1))
    torch.testing.assert_close(y_mix, want_y, rtol=0, atol=1e-6)
    # mixup: one λ per sample, then a permutation
    g = make_generator(seed + 2)
    lam = sample_beta(0.4, 0.4, b, generator=g)
    perm = randperm(b, generator=g)
    want_x, want_y = reference.mixing.mixup(x, y, lam, perm)
    got_x, got_y = answers.mixup(x, y, alpha=0.4, generator=make_generator(seed + 2))
    torch.testing.assert_close(got_x, want_x, rtol=0, atol=1e-6)
    torch.testing.assert_close(got_y, want_y, rtol=0, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(fs=st.sampled_from([100.0, 250.0, 360.0, 500.0, 1000.0]), seconds=st.floats(0.5, 4.0), seed=st.integers(0, 99))
def test_answer_window_length_follows_fs(fs, seconds, seed):
    t = int(5 * fs)
    sig = torch.arange(t, dtype=torch.float64).expand(2, 3, t).clone()
    out = answers.random_window(sig, fs, seconds=seconds, generator=make_generator(seed))
    assert out.shape == (2, 3, round(seconds * fs)) and out.dtype == sig.dtype
    assert torch.equal(out.diff(dim=-1), torch.ones_like(out.diff(dim=-1)))


def test_answer_wander_matches_a_closed_form_sine():
    fs, f = 360.0, 0.25
    out = answers.add_baseline_wander(torch.zeros(2, 3600, dtype=torch.float64), fs, freq_hz=f, amplitude_mv=0.3)
    t = torch.arange(3600, dtype=torch.float64) / fs
    torch.testing.assert_close(out[1], 0.3 * torch.sin(2 * math.pi * f * t))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_answers_keep_dtype_and_do_not_modify_inputs(dtype):
    x = torch.randn(4, 1, 12, 12, dtype=dtype)
    before = x.clone()
    for fn in (answers.add_gaussian_noise, answers.random_brightness, answers.cxr_train_augment):
        out = fn(x, generator=make_generator(1))
        assert out.dtype == dtype and out.shape == x.shape
    assert torch.equal(x, before)


def test_answer_eval_transform_matches_torchvision_reference():
    img = torch.randint(0, 256, (3, 40, 48), dtype=torch.uint8, generator=make_generator(0))
    from torchvision.transforms.v2 import functional as F

    ref = F.center_crop(F.resize(img, [27], antialias=True), [24, 24])
    ref = F.normalize(F.to_dtype(ref, torch.float32, scale=True), answers.IMAGENET_MEAN, answers.IMAGENET_STD)
    torch.testing.assert_close(answers.build_transform(False, size=24)(img), ref)


# --- measurements used by the notebook -----------------------------------------------------------


def test_cutmix_gap_shows_the_bug_and_the_fix():
    gap = measure.cutmix_label_gap(60, size=16, seed=3)
    assert gap.pasted.shape == (60,)
    assert float(gap.error_fixed.max()) < 1e-6
    assert float(gap.error_buggy.mean()) > 0.02
    with pytest.raises(ValueError, match="n_draws"):
        measure.cutmix_label_gap(0)


def test_normalisation_gap_is_large_for_the_buggy_pipelines():
    shift, ratio = measure.normalisation_gap(torch.rand(2, 1, 16, 16, generator=make_generator(0)))
    assert shift.shape == (3,) and float(shift.abs().max()) > 0.3 and bool((ratio > 1.5).all())
    with pytest.raises(ValueError, match="x must hold 1-channel"):
        measure.normalisation_gap(torch.rand(2, 3, 8, 8))


# --- mock interview and exercises ---------------------------------------------------------------


def test_mock_interview_has_8_to_12_questions_with_answers_and_rubrics():
    qs = nb07.MOCK_INTERVIEW
    assert 8 <= len(qs) <= 12
    assert {q.kind for q in qs} == {"conceptual", "numerical", "design"}
    for q in qs:
        assert q.prompt.endswith("?") or q.prompt.endswith(".")
        assert len(q.answer.split()) >= 40 and len(q.rubric) >= 3
    assert any("new modality" in q.topic for q in qs)


def _capture_markdown(monkeypatch) -> list[str]:
    import IPython.display

    shown: list[str] = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.extend(o.data for o in objs))
    return shown


def test_ask_shows_the_question_and_never_the_answer(monkeypatch):
    shown = _capture_markdown(monkeypatch)
    nb07.ask(4)
    out = "\n".join(shown)
    assert "linspace" in out and "nb07.model_answer(4)" in out
    assert "0.03 Hz" not in out and "Rubric" not in out
    with pytest.raises(ValueError, match="number"):
        nb07.ask(0)


def test_model_answers_and_reveal_answer_are_deliberate_and_hold_the_fix(monkeypatch):
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: None)
    for name in NAMES:
        body = review.reveal_answer(name)
        assert "# FIX" in body and "Bug class" in body
    body = nb07.model_answer(7)
    assert "0.859" in body and "Rubric" in body and body.count("- [ ]") == 4


def test_mock_interview_q4_breathing_rate_arithmetic():
    answer = nb07.MOCK_INTERVIEW[3].answer
    assert "0.2–0.5 Hz (12–30 breaths a minute)" in answer  # 0.2 Hz x 60 s = 12, 0.5 Hz x 60 s = 30
    assert "0.1–0.5 Hz" not in answer


def _setup_imports() -> str:
    """The import statements of notebook 07's setup cell (read from the notebook), nothing else."""
    from pathlib import Path

    import nbformat

    path = Path(__file__).resolve().parents[1] / "notebooks" / "07_code_review_interview.ipynb"
    first_code = next(  # the setup cell: the first code cell after the Colab install cell
        c
        for c in nbformat.read(path, as_version=4).cells
        if c.cell_type == "code" and "colab-install" not in c.metadata.get("tags", [])
    )
    lines = [ln for ln in first_code.source.splitlines() if ln.startswith(("import ", "from "))]
    assert any("review" in ln for ln in lines)
    return "\n".join(lines) + "\n"


_SETUP_CELL = _setup_imports()


@pytest.mark.parametrize("name", NAMES)
def test_pasted_drill_runs_in_the_notebook_namespace_and_shows_its_bug(name, capsys):
    namespace: dict = {}
    exec(compile(_SETUP_CELL, "<setup cell>", "exec"), namespace)
    exec(compile(review.source(name), "<pasted cell>", "exec"), namespace)
    fn = namespace[review.SNIPPETS[name].function]
    fb = review.check(name, fn)
    assert fb.outcome == "TRY AGAIN", f"{name}: the pasted snippet gave {fb}"
    assert "NameError" not in fb.message


@pytest.mark.parametrize("name", NAMES)
def test_pasted_model_answer_passes(name):
    namespace: dict = {}
    exec(compile(_SETUP_CELL, "<setup cell>", "exec"), namespace)
    exec(compile(sources.self_contained(drills.answer_function(name), "answers"), "<pasted cell>", "exec"), namespace)
    assert review.check(name, namespace[review.SNIPPETS[name].function]).outcome == "PASS"


def test_drill_5_rejects_per_pixel_factors_and_drill_9_implausible_films():
    from lessonlib.geometric import random_affine
    from lessonlib.utils import uniform

    def per_pixel(x, *, max_delta=0.2, generator=None):
        return x * uniform(x.shape, low=1 - max_delta, high=1 + max_delta, generator=generator, device=x.device)

    def vertical_flip(x, *, generator=None):
        x = random_affine(x, degrees=5.0, translate=0.05, scale=(0.95, 1.05), generator=generator)
        flip = uniform(x.shape[0], generator=generator, device=x.device) < 0.5
        return torch.where(flip.view(-1, 1, 1, 1), x.flip(-2), x)

    def rotate_45(x, *, generator=None):
        return random_affine(x, degrees=45.0, translate=0.05, scale=(0.95, 1.05), generator=generator)

    assert review.check("per_batch_draw", per_pixel).outcome == "TRY AGAIN"
    assert review.check("cxr_flip", vertical_flip).outcome == "TRY AGAIN"
    assert review.check("cxr_flip", rotate_45).outcome == "TRY AGAIN"


def test_check_tells_a_missing_return_from_a_wrong_fix():
    def forgot(x, *, relative_std=0.05, generator=None):
        _ = x + 1

    def stub(x, *, relative_std=0.05, generator=None): ...

    assert review.check("in_place", forgot).outcome == "RETURNED NONE"
    assert review.check("in_place", stub).outcome == "NOT ATTEMPTED"


def test_mock_interview_numbers_are_right():
    # Q3: octagon overlap of a square and its 45° rotation; Q4: cycles per record; Q7: clipped box.
    assert math.isclose(1 - 2 * (math.sqrt(2) - 1), 0.17, abs_tol=0.005)
    assert "17 %" in nb07.MOCK_INTERVIEW[2].answer
    assert "0.03 Hz" in nb07.MOCK_INTERVIEW[3].answer and "0.01 Hz" in nb07.MOCK_INTERVIEW[3].answer
    assert "0.859" in nb07.MOCK_INTERVIEW[6].answer and math.isclose(1 - 144 / 1024, 0.859, abs_tol=5e-4)


def test_exercise_checkers_accept_models_and_reject_wrong_answers():
    assert nb07.check_shape_test({"ecg_window", "squeeze"}, must_pass=True).passed
    assert nb07.check_shape_test({"ecg_window"}).passed is False
    assert nb07.check_shape_test(...).passed is None
    assert nb07.check_cutmix_lambda(1 - 100 / 1024, must_pass=True).passed
    assert nb07.check_cutmix_lambda(0.75).passed is False


def test_in_place_probe_checker_separates_good_and_weak_probes():
    def good(fn):
        x = 5 * torch.randn(4, 1, 8, 8, generator=make_generator(0))
        before = x.clone()
        fn(x, generator=make_generator(0))
        return None if torch.equal(x, before) else "input modified"

    def compares_output(fn):  # a common wrong probe: looks at the output, not the input
        x = torch.rand(4, 1, 8, 8)
        return "changed" if not torch.equal(fn(x, generator=make_generator(0)), x) else None

    def unit_range(fn):  # right idea, but inputs in [0, 1) never trigger the clamp
        x = torch.rand(4, 1, 8, 8, generator=make_generator(0))
        before = x.clone()
        fn(x, generator=make_generator(0))
        return None if torch.equal(x, before) else "input modified"

    assert nb07.check_in_place_probe(good, must_pass=True).passed
    assert nb07.check_in_place_probe(compares_output).passed is False
    fb = nb07.check_in_place_probe(unit_range)
    assert fb.passed is False and "clamp" in fb.message
