"""Notebook 08\'s exercises: what is particular to them. The registry-wide checks (every model solution
and variant passes, every recorded mistake fails without the answer, hints and reveal) are in
tests/test_exercises.py."""

from __future__ import annotations

import torch

from lessonlib.exercises import nb08

EXERCISES = sorted(nb08.EX.exercises)


def test_three_exercises_registered():
    assert EXERCISES == [1, 2, 3]


def test_safe_ops_feedback_never_names_a_missed_option():
    fb = nb08.check_safe_ops({"Identity"})
    assert fb.outcome == "TRY AGAIN" and "5 correct options are missing" in fb.message
    for option in ("Rotate ±10°", "Sharpness", "Contrast ±25%"):
        assert option not in fb.message


def test_two_op_step_learner_errors_and_none_are_reported_as_theirs():
    def broken(x, op, magnitude):
        return x.float() @ torch.zeros(3)

    def forgot_return(x, op, magnitude):
        x.clone()

    assert nb08.check_two_op_step(broken).outcome == "ERROR IN YOUR CODE"
    assert nb08.check_two_op_step(forgot_return).outcome == "RETURNED NONE"


def test_two_op_step_solution_matches_the_library_policy_kernels():
    from lessonlib.policies import apply_op

    x, op, m = nb08._batch(7)
    mine = nb08._solution_two_op_step(x, op, m)
    for k, name in ((0, "Brightness"), (1, "Solarize")):
        sel = op == k
        assert torch.equal(mine[sel], apply_op(x[sel], name, m[sel]))


def _hint2_literally(x, op, magnitude):
    """08.3's hint 2, typed as it reads: float32 factor, ``torch.where(x >= 255 * m, 255 - x, x)``."""
    out = x.clone()
    b, s = op == 0, op == 1
    f = (1 + magnitude[b]).to(torch.float32).view(-1, 1, 1, 1)
    out[b] = (x[b] * f).clamp(0, 255).to(x.dtype)
    xs = x[s]
    out[s] = torch.where(xs >= 255 * magnitude[s].view(-1, 1, 1, 1), 255 - xs, xs)
    return out


def test_two_op_step_hint_two_typed_literally_passes():
    # the probe's magnitudes are float32 like torchvision's bins; with float64 ones this failed on a
    # Solarize image whose threshold 255*m lands just above a whole grey level in float64 only
    fb = nb08.check_two_op_step(_hint2_literally)
    assert fb.outcome == "PASS", fb.message
    assert nb08._batch(0)[2].dtype == torch.float32


def test_two_op_step_float64_arithmetic_is_named_as_the_cause():
    fb = nb08.check_two_op_step(lambda x, op, m: _hint2_literally(x, op, m.double()))
    assert fb.outcome == "TRY AGAIN"
    assert "float64" in fb.message and "float32" in fb.message and "Solarize image" in fb.message


def test_two_op_step_strict_comparison_is_not_blamed_on_the_dtype():
    fb = nb08.check_two_op_step(nb08._bug_strict)
    assert fb.outcome == "TRY AGAIN" and "float64" not in fb.message


def _notebook_texts(path=None):
    """``[(kind, text)]`` of notebook 08: every markdown cell and every stored output."""
    import json
    from pathlib import Path

    path = path or Path(__file__).resolve().parents[1] / "notebooks" / "08_augmentation_policies.ipynb"
    texts = []
    for cell in json.loads(Path(path).read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            texts.append(("markdown", "".join(cell["source"])))
        for out in cell.get("outputs", []):
            text = out.get("text") or out.get("data", {}).get("text/plain") or ""
            texts.append(("output", "".join(text)))
    return texts


def _check_no_probability_answer(path=None):
    from lessonlib import quiz

    answers = {"08.2": nb08._P_UNTOUCHED, "08.q2": float(quiz.item("08.q2").answer)}
    for kind, text in _notebook_texts(path):
        for what, value in answers.items():
            assert f"{value:.4f}" not in text, f"a stored {kind} prints {what}'s answer {value:.4f}"
        assert "1/49" not in text and "1/196" not in text


def _check_no_safe_list(path=None):
    from lessonlib.policy_spaces import SPACES

    safe, unsafe = set(SPACES["medical"]), {"Solarize", "Posterize", "Equalize", "Color", "Invert"}
    for kind, text in _notebook_texts(path):
        for line in text.splitlines() if kind == "output" else ():
            if all(s in line for s in safe):
                assert any(u in line for u in unsafe), f"an output lists 08.1's safe operations alone: {line}"


def test_the_page_gives_away_no_answer_of_08_2_or_quiz_08_q2():
    # the notebook once printed P(untouched) for N = 2 (quiz 08.q2's answer) beside a sentence that
    # made 08.2 one multiplication away
    _check_no_probability_answer()


def test_no_stored_output_lists_the_safe_operations_of_08_1():
    # the notebook once printed the medical space, 08.1's answer, under its safety checks
    _check_no_safe_list()


def test_notebook_08_trains_every_arm_with_the_same_optimiser_and_a_visible_augmix():
    # AugMix once trained with AdamW weight decay 0.01 while every other arm used fit's 0 (a confound),
    # and at severity 3, where its translations truncate to 0 px on 8x8 digits
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "notebooks" / "08_augmentation_policies.ipynb"
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    assert "weight_decay" not in code
    assert "augmix_jsd_loss(weight=12.0, severity=10)" in code
