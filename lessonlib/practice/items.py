"""The catalogue of everything a learner can practise, gathered from every notebook.

Three kinds, each with a stable id (the id of its card in the practice record and in Anki):

* ``quiz``: the quick-check questions (``lessonlib/content/quiz/NN.yaml``), id ``"NN.qK"``;
* ``exercise``: the self-checking exercises (``lessonlib.exercises.nbNN``), id ``"NN.K"``;
* ``open``: the spoken-answer questions with a model answer and a rubric
  (``lessonlib/content/mock_interview.yaml``), id ``"NN.oK"`` (K counts within notebook NN).

The catalogue reads the course's content; it adds nothing to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["PracticeItem", "catalogue", "get"]

KINDS = ("quiz", "exercise", "open")
DIFFICULTIES = ("easy", "medium", "hard")


@dataclass(frozen=True)
class PracticeItem:
    """One practicable item: a card's front (``prompt``) and back (``answer``), and its tags.

    Attributes:
        id: stable id (see the module docstring). notebook: ``"NN"``. kind: one of ``KINDS``.
        topic: a short tag. prompt: the question. answer: the model answer (the back of a card).
        rubric: for open questions, the points a good spoken answer makes (self-graded by ticking).
        difficulty: ``"easy"``, ``"medium"``, ``"hard"``, or ``""`` where the content has no tag yet.
    """

    id: str
    notebook: str
    kind: str
    topic: str
    prompt: str
    answer: str
    rubric: tuple[str, ...] = ()
    difficulty: str = ""


def _quiz_items() -> list[PracticeItem]:
    from lessonlib import quiz

    out = []
    for it in quiz.bank():
        if it.kind == "number":
            answer = f"{it.answer:g} (± {it.tolerance:g})"
        elif it.kind == "choice":
            answer = str(it.answer)
        else:
            answer = "; ".join(map(str, it.answer))
        options = "".join(f"\n  ({chr(97 + i)}) {o}" for i, o in enumerate(it.options))
        out.append(
            PracticeItem(
                it.id,
                it.notebook,
                "quiz",
                it.topic,
                it.question + options,
                f"{answer}\n\n{it.explanation}",
                difficulty=str(getattr(it, "difficulty", "") or ""),
            )
        )
    return out


def _exercise_items() -> list[PracticeItem]:
    from lessonlib.exercises import registered_notebooks

    out = []
    for nb, registry in registered_notebooks().items():
        for k, ex in sorted(registry.exercises.items()):
            prompt = f"Exercise {nb}.{k} ({ex.title}): open notebook {nb} and solve it; check with nb{nb}.{k}."
            out.append(
                PracticeItem(
                    f"{nb}.{k}",
                    nb,
                    "exercise",
                    ex.title,
                    prompt,
                    f"{ex.explanation}\n\n{ex.solution_text()}",
                    difficulty=str(getattr(ex, "difficulty", "") or ""),
                )
            )
    return out


def _open_items() -> list[PracticeItem]:
    import yaml

    text = resources.files("lessonlib").joinpath("content", "mock_interview.yaml").read_text(encoding="utf-8")
    counts: dict[str, int] = {}
    out = []
    for row in yaml.safe_load(text) or []:
        nb = str(row["topic"]).split()[0]
        counts[nb] = counts.get(nb, 0) + 1
        out.append(
            PracticeItem(
                f"{nb}.o{counts[nb]}",
                nb,
                "open",
                " ".join(str(row["topic"]).split()[1:]),
                " ".join(str(row["prompt"]).split()),
                " ".join(str(row["answer"]).split()),
                tuple(str(r) for r in row.get("rubric", ())),
                difficulty=str(row.get("difficulty", "") or ""),
            )
        )
    return out


@cache
def catalogue() -> tuple[PracticeItem, ...]:
    """Every practicable item of the course, sorted by notebook, then kind, then id."""
    items = _quiz_items() + _exercise_items() + _open_items()
    ids = [i.id for i in items]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"the course's content has duplicate practice ids: {dupes}")
    order = {k: n for n, k in enumerate(KINDS)}
    return tuple(sorted(items, key=lambda i: (i.notebook, order[i.kind], i.id)))


def get(item_id: str) -> PracticeItem:
    """The item with id ``item_id`` (``"04.q3"``, ``"04.2"``, ``"07.o1"``).

    Raises:
        ValueError: an unknown id (the message gives the id forms).
    """
    for it in catalogue():
        if it.id == item_id:
            return it
    raise ValueError(
        f"item_id must be a practice id such as '04.q3' (quiz), '04.2' (exercise) or '07.o1' (open), got {item_id!r}"
    )
