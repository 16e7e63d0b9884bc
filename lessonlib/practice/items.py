"""The catalogue of everything a learner can practise, gathered from every notebook.

Three kinds, each with a stable id (the id of its card in the practice record and in Anki):

* ``quiz``: the quick-check questions (``lessonlib/content/quiz/NN.yaml``), id ``"NN.qK"``;
* ``exercise``: the self-checking exercises (``lessonlib.exercises.nbNN``), id ``"NN.K"``;
* ``drill``: notebook 07's code-review drills (``lessonlib/content/review_drills.yaml``), id ``"07.dK"``
  (K is the drill's number, its order in the file, which is append-only; ``review.check`` records it);
* ``open``: the spoken-answer questions with a model answer and a rubric: ``lessonlib/content/open/NN.yaml``
  (id ``"NN.oK"``, written in the file) and notebook 07's mock interview
  (``lessonlib/content/mock_interview.yaml``, id ``"NN.mK"``, K counting within notebook NN).

The catalogue reads the course's content; it adds nothing to it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["PracticeItem", "catalogue", "get"]

KINDS = ("quiz", "exercise", "drill", "open")
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


def _drill_items() -> list[PracticeItem]:
    import yaml

    text = resources.files("lessonlib").joinpath("content", "review_drills.yaml").read_text(encoding="utf-8")
    out = []
    for k, row in enumerate(yaml.safe_load(text) or [], start=1):
        prompt = (
            f"Code-review drill {k} ({row['title']}): find the silent bug in `{row['function']}`. Open notebook 07 "
            f"and run review.show({row['name']!r}); check your fix with review.check({row['name']!r}, fixed)."
        )
        answer = f"The bug: {row['bug_class']}.\n\n{' '.join(str(row['explanation']).split())}"
        level = str(row.get("difficulty", ""))
        out.append(PracticeItem(f"07.d{k}", "07", "drill", str(row["title"]), prompt, answer, difficulty=level))
    return out


OPEN_KINDS = ("conceptual", "numerical", "design", "coding", "debugging")


def _open_rows(name: str) -> list[dict]:
    import yaml

    text = resources.files("lessonlib").joinpath("content", *name.split("/")).read_text(encoding="utf-8")
    rows = yaml.safe_load(text) or []
    if not isinstance(rows, list):
        raise ValueError(f"lessonlib/content/{name} must be a YAML list of questions, got {type(rows).__name__}")
    return rows


def _open_item(row: dict, item_id: str, nb: str, topic: str, where: str) -> PracticeItem:
    for key in ("prompt", "answer", "rubric"):
        if not row.get(key):
            raise ValueError(f"{where}: question {item_id!r} lacks the field {key!r}")
    difficulty = str(row.get("difficulty", "") or "")
    if difficulty not in ("", *DIFFICULTIES):
        raise ValueError(f"{where}: question {item_id!r} has difficulty {difficulty!r}; expected one of {DIFFICULTIES}")
    return PracticeItem(
        item_id,
        nb,
        "open",
        topic,
        " ".join(str(row["prompt"]).split()),
        " ".join(str(row["answer"]).split()),
        tuple(" ".join(str(r).split()) for r in row["rubric"]),
        difficulty=difficulty,
    )


def _open_items() -> list[PracticeItem]:
    """Open questions: ``content/open/NN.yaml`` (ids ``"NN.oK"``, written in the file) and notebook 07's
    mock interview (``content/mock_interview.yaml``, ids ``"NN.mK"``, K counting within notebook NN)."""
    out = []
    folder = resources.files("lessonlib").joinpath("content", "open")
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml")) if folder.is_dir() else []
    for name in names:
        nb = name[:-5]
        for row in _open_rows(f"open/{name}"):
            item_id = str(row.get("id", ""))
            if not (item_id.startswith(f"{nb}.o") and item_id[len(nb) + 2 :].isdigit()):
                raise ValueError(f"lessonlib/content/open/{name}: id must look like '{nb}.o1', got {item_id!r}")
            out.append(_open_item(row, item_id, nb, str(row.get("topic", "")), f"lessonlib/content/open/{name}"))
    counts: dict[str, int] = {}
    for row in _open_rows("mock_interview.yaml"):
        first, *rest = str(row["topic"]).split()
        nb = first if first.isdigit() else "07"
        counts[nb] = counts.get(nb, 0) + 1
        topic = " ".join(rest) if first.isdigit() else str(row["topic"])
        out.append(_open_item(row, f"{nb}.m{counts[nb]}", nb, topic, "lessonlib/content/mock_interview.yaml"))
    return out


@cache
def catalogue() -> tuple[PracticeItem, ...]:
    """Every practicable item of the course, sorted by notebook, then kind, then id."""
    items = _quiz_items() + _exercise_items() + _drill_items() + _open_items()
    ids = [i.id for i in items]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"the course's content has duplicate practice ids: {dupes}")
    order = {k: n for n, k in enumerate(KINDS)}

    def natural(item_id: str) -> tuple:  # "07.d2" before "07.d10"
        return tuple(int(t) if t.isdigit() else t for t in re.findall(r"\d+|\D+", item_id))

    return tuple(sorted(items, key=lambda i: (i.notebook, order[i.kind], natural(i.id))))


def get(item_id: str) -> PracticeItem:
    """The item with id ``item_id`` (``"04.q3"``, ``"04.2"``, ``"07.o1"``).

    Raises:
        ValueError: an unknown id (the message gives the id forms).
    """
    for it in catalogue():
        if it.id == item_id:
            return it
    raise ValueError(
        "item_id must be a practice id such as '04.q3' (quiz), '04.2' (exercise), '07.d3' (drill) or "
        "'07.o1' / '07.m1' (open), "
        f"got {item_id!r}"
    )
