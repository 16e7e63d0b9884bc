"""Study time per notebook, measured from the course itself, and a plan for 1, 3 or 7 days.

``study_minutes()`` adds, per notebook (the constants are module attributes, stated here):

* **reading**: the words of its markdown cells at ``READING_WPM`` = 180 words a minute (a careful rate
  for technical prose with formulas and figures; light reading is 230-250) plus its code cells at
  ``CODE_LINES_PER_MIN`` = 12 lines a minute (read, not typed);
* **running**: its wall time under nbval from the README's run-time table (``RUN_SECONDS``, seconds on
  the 2-core CI machine; 60 s where a notebook has no row yet), counted once;
* **exercises**: ``EXERCISE_MIN`` minutes each by difficulty (easy 4, medium 8, hard 15; 8 untagged);
* **quick check**: ``QUIZ_MIN`` = 1.5 minutes a question (answer, check, read the explanation);
* **open questions**: ``OPEN_MIN`` = 3 minutes each (two minutes spoken, one to tick the rubric).

``plan(days)`` lays the course out in course order: 7 days do everything; 3 days drop the hard exercises
and keep ``CORE_OPEN`` = 4 open questions per notebook (the easy and medium ones first); 1 day is the night before an
interview: each notebook's interview answer, its quick check and three open questions, then a mock round.
Each day ends with 15 minutes of ``practice.today()`` reviews (``REVIEW_MIN``) from day 2 on.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lessonlib.practice.items import catalogue

__all__ = [
    "READING_WPM",
    "CODE_LINES_PER_MIN",
    "RUN_SECONDS",
    "EXERCISE_MIN",
    "QUIZ_MIN",
    "OPEN_MIN",
    "REVIEW_MIN",
    "StudyTime",
    "Block",
    "study_minutes",
    "plan",
    "format_plan",
]

READING_WPM = 180
CODE_LINES_PER_MIN = 12
EXERCISE_MIN = {"easy": 4.0, "medium": 8.0, "hard": 15.0, "": 8.0}
QUIZ_MIN = 1.5
OPEN_MIN = 3.0
CORE_OPEN = 4
REVIEW_MIN = 15.0
MOCK_MIN = 20.0
CRAM_OPEN = 3
#: Wall seconds under nbval (README, "Notebook run times", 2-core CI machine).
RUN_SECONDS = {
    "00": 8,
    "01": 44,
    "02": 11,
    "03": 26,
    "04": 35,
    "05": 29,
    "06": 37,
    "07": 8,
    "08": 43,
    "09": 18,
    "10": 44,
    "11": 13,
    "12": 20,
    "13": 15,
    "14": 48,
}
_NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True)
class StudyTime:
    """Minutes of one notebook's study, by part (see the module docstring); ``total`` is their sum."""

    notebook: str
    title: str
    reading: float
    running: float
    exercises: float
    quiz: float
    open: float
    interview_answer: float

    @property
    def total(self) -> float:
        return self.reading + self.running + self.exercises + self.quiz + self.open


@dataclass(frozen=True)
class Block:
    """One block of a day's plan: ``minutes`` of ``what`` on notebook ``notebook`` ("" for reviews)."""

    day: int
    notebook: str
    what: str
    minutes: float


def _words(text: str) -> int:
    return len(re.findall(r"[A-Za-z0-9][\w'’.-]*", text))


def _notebook_text(path: Path) -> tuple[str, int, int, int]:
    """``(title, prose words, code lines, words of the interview-answer section)`` of one notebook."""
    return _notebook_text_at(path, path.stat().st_mtime_ns)


@cache
def _notebook_text_at(path: Path, _mtime: int) -> tuple[str, int, int, int]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    title, words, lines, answer = path.stem[3:].replace("_", " "), 0, 0, 0
    in_answer = False
    for cell in nb.get("cells", []):
        src = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            heading = re.match(r"\s*(#+)\s*(.*)", src)
            if heading and len(heading.group(1)) == 1:
                title = heading.group(2).strip()
            if heading and len(heading.group(1)) <= 2:
                in_answer = "interview answer" in heading.group(2).lower()
            words += _words(src)
            answer += _words(src) if in_answer else 0
        elif cell.get("cell_type") == "code":
            lines += sum(1 for ln in src.splitlines() if ln.strip() and not ln.strip().startswith("#"))
    return title, words, lines, answer


def study_minutes(notebooks_dir: str | Path | None = None) -> dict[str, StudyTime]:
    """Per notebook ``"NN"``, its study time in minutes by part (``StudyTime``), from the notebooks in
    ``notebooks_dir`` (default: the repository's ``notebooks/``) and the practice catalogue.

    Raises:
        FileNotFoundError: ``notebooks_dir`` holds no ``NN_*.ipynb`` notebook.
    """
    folder = Path(notebooks_dir) if notebooks_dir is not None else _NOTEBOOKS
    paths = sorted(folder.glob("[0-9][0-9]_*.ipynb"))
    if not paths:
        raise FileNotFoundError(f"notebooks_dir must hold the course's NN_*.ipynb notebooks, got {str(folder)!r}")
    items = catalogue()
    out = {}
    for path in paths:
        nb = path.name[:2]
        title, words, lines, answer_words = _notebook_text(path)
        mine = [i for i in items if i.notebook == nb]
        out[nb] = StudyTime(
            notebook=nb,
            title=title,
            reading=words / READING_WPM + lines / CODE_LINES_PER_MIN,
            running=RUN_SECONDS.get(nb, 60) / 60,
            exercises=sum(EXERCISE_MIN.get(i.difficulty, 8.0) for i in mine if i.kind == "exercise"),
            quiz=QUIZ_MIN * sum(1 for i in mine if i.kind == "quiz"),
            open=OPEN_MIN * sum(1 for i in mine if i.kind == "open"),
            interview_answer=answer_words / READING_WPM,
        )
    return out


def _blocks_for(days: int, times: dict[str, StudyTime]) -> list[tuple[str, str, float]]:
    items = catalogue()
    out = []
    for nb, t in times.items():
        opens = [i for i in items if i.notebook == nb and i.kind == "open"]
        if days == 1:
            out.append((nb, "read the interview answer", max(t.interview_answer, 1.0)))
            if t.quiz:
                out.append((nb, "quick check", t.quiz))
            if opens:
                out.append(
                    (nb, f"{min(CRAM_OPEN, len(opens))} open questions aloud", OPEN_MIN * min(CRAM_OPEN, len(opens)))
                )
            continue
        out.append((nb, "read and run", t.reading + t.running))
        exercises = [i for i in items if i.notebook == nb and i.kind == "exercise"]
        if days == 3:
            exercises = [i for i in exercises if i.difficulty != "hard"]
            rank = {"easy": 0, "medium": 1, "": 1, "hard": 2}
            opens = sorted(opens, key=lambda i: rank[i.difficulty])[:CORE_OPEN]
        if exercises:
            minutes = sum(EXERCISE_MIN.get(i.difficulty, 8.0) for i in exercises)
            out.append((nb, f"{len(exercises)} exercises", minutes))
        if t.quiz:
            out.append((nb, "quick check", t.quiz))
        if opens:
            out.append((nb, f"{len(opens)} open questions aloud", OPEN_MIN * len(opens)))
    return out


def plan(days: int, notebooks_dir: str | Path | None = None) -> list[Block]:
    """A study plan over ``days`` (1, 3 or 7) in course order; see the module docstring for what each keeps.

    Blocks are filled day by day up to an equal share of the total; from day 2 each day opens with
    ``REVIEW_MIN`` minutes of reviews (``practice.today()``), and the last day ends with a mock round.

    Raises:
        ValueError: ``days`` is not 1, 3 or 7.
    """
    if isinstance(days, bool) or days not in (1, 3, 7):
        raise ValueError(f"days must be 1, 3 or 7, got {days!r}")
    work = _blocks_for(days, study_minutes(notebooks_dir))
    share = sum(m for _, _, m in work) / days
    out: list[Block] = []
    day, used = 1, 0.0
    for nb, what, minutes in work:
        if used > 0 and used + minutes / 2 > share and day < days:
            day, used = day + 1, 0.0
        if used == 0 and day > 1:
            out.append(Block(day, "", "reviews due (python -m lessonlib.practice today)", REVIEW_MIN))
        out.append(Block(day, nb, what, minutes))
        used += minutes
    out.append(Block(days, "", "mock interview (python -m lessonlib.practice mock --minutes 20)", MOCK_MIN))
    return out


def format_plan(blocks: list[Block]) -> str:
    """The plan as text: one heading per day with its hours, one line per block."""
    lines = []
    for day in sorted({b.day for b in blocks}):
        mine = [b for b in blocks if b.day == day]
        lines.append(f"Day {day} (about {sum(b.minutes for b in mine) / 60:.1f} h)")
        for b in mine:
            where = f"notebook {b.notebook}: " if b.notebook else ""
            lines.append(f"  {b.minutes:5.0f} min  {where}{b.what}")
    total = sum(b.minutes for b in blocks)
    lines.append(f"Total: about {total / 60:.1f} h")
    return "\n".join(lines)
