"""Notebook 13's exercises: what is particular to them. The registry-wide checks (every model solution
and variant passes, every recorded mistake fails without the answer, hints and reveal) are in
tests/test_exercises.py. Here each answer is checked against the libraries it is about."""

from __future__ import annotations

import kornia.augmentation as K
import numpy as np
import pytest
import torch
from kornia.augmentation.auto import TrivialAugment
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import v2

from lessonlib import policies
from lessonlib.exercises import nb13
from lessonlib.pipeline import CropFlipJitter
from lessonlib.utils import make_generator


def test_three_exercises_registered():
    assert sorted(nb13.EX.exercises) == [1, 2, 3]


class _OwnRng(Dataset):
    """The bug of 13.1: the dataset owns a numpy generator, copied into every worker."""

    def __init__(self, n: int) -> None:
        self.n, self.rng = n, np.random.default_rng(0)

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> float:
        return float(self.rng.uniform())  # stands for the crop's parameters


@pytest.mark.filterwarnings("ignore:This DataLoader will create 4 worker processes")
def test_distinct_crops_answer_matches_a_real_loader():
    loader = DataLoader(_OwnRng(64), batch_size=8, num_workers=4)
    draws = torch.cat([b for b in loader])
    assert len(draws) == 64
    assert len(set(draws.tolist())) == nb13.EX[1].solution
    # the global numpy state, in contrast, is reseeded per worker by PyTorch
    assert nb13.check_distinct_crops(64).outcome == "TRY AGAIN"


def _distinct(out: torch.Tensor) -> int:
    return len({out[i].numpy().tobytes() for i in range(out.shape[0])})


def test_per_image_answer_matches_what_the_libraries_do():
    torch.manual_seed(0)
    x = torch.randint(0, 256, (1, 3, 32, 32), generator=make_generator(0), dtype=torch.uint8).expand(8, 3, 32, 32)
    xf = x.float() / 255
    measured = {
        "torchvision v2.RandomResizedCrop(24)(x)": _distinct(v2.RandomResizedCrop(24)(x)) == 8,
        "torchvision v2.TrivialAugmentWide()(x)": _distinct(v2.TrivialAugmentWide()(x.contiguous())) == 8,
        "kornia.augmentation.RandomResizedCrop((24, 24))(x)": _distinct(K.RandomResizedCrop((24, 24))(xf)) == 8,
        "lessonlib.pipeline.CropFlipJitter(24).batch(x)": _distinct(CropFlipJitter(24).batch(x)) == 8,
        "lessonlib.policies.trivial_augment(x)": len(
            set(policies.sample_trivial_augment(64, height=32, width=32).op.flatten().tolist())
        )
        > 1,
    }
    ta = TrivialAugment()
    for _ in range(5):
        ta(xf)  # one sub-policy of one operation for the whole batch, magnitudes per sample
        assert len(ta._params) == 1 and len(ta._params[0].data) == 1
    measured["kornia.augmentation.auto.TrivialAugment()(x), the operation"] = False
    assert set(measured) == set(nb13.SEMANTICS)
    assert {k for k, v in measured.items() if v} == nb13.EX[2].solution


def test_per_image_feedback_names_no_missing_option():
    fb = nb13.check_per_image({"lessonlib.pipeline.CropFlipJitter(24).batch(x)"})
    assert fb.outcome == "TRY AGAIN" and "2 correct options are missing" in fb.message
    for option in nb13.EX[2].solution - {"lessonlib.pipeline.CropFlipJitter(24).batch(x)"}:
        assert option not in fb.message
    assert "not one of the options" in nb13.check_per_image({"kornia"}).message


class _Images(Dataset):
    def __init__(self, flip, epoch: int) -> None:
        self.flip, self.epoch = flip, epoch

    def __len__(self) -> int:
        return 32

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.flip(torch.arange(6.0).view(1, 1, 6), 3, self.epoch, i)


def test_flip_solution_is_the_same_for_any_number_of_workers_and_the_bug_is_not():
    solution = nb13.EX[3].solution
    runs = [torch.cat(list(DataLoader(_Images(solution, 1), batch_size=4, num_workers=w))) for w in (0, 2)]
    assert torch.equal(runs[0], runs[1])
    flipped = runs[0][:, 0, 0, 0] == 5.0
    assert 0 < int(flipped.sum()) < 32
    from lessonlib.exercises.nb13 import _bug_global_rng

    torch.manual_seed(0)
    buggy = [torch.cat(list(DataLoader(_Images(_bug_global_rng, 1), batch_size=4, num_workers=w))) for w in (0, 2)]
    assert not torch.equal(buggy[0], buggy[1])


def test_flip_feedback_says_what_kind_of_mistake():
    from lessonlib.exercises import nb13 as m

    assert "shifted by one index" in m.check_flip_sample(m._bug_added_counters).message
    assert "every epoch flips the same images" in m.check_flip_sample(m._bug_no_epoch).message
    assert "changed its input tensor" in m.check_flip_sample(m._bug_in_place).message
    assert "depends on the process or the order" in m.check_flip_sample(m._bug_global_rng).message
