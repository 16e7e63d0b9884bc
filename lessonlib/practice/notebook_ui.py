"""``practice.session()``: today's items in a notebook, one at a time, with progress shown.

Live (JupyterLab with ipywidgets): a progress bar, the item's front, a button for the back, then the
self-grade buttons (got it / with help / missed / skip) or, for an open question, one checkbox per
rubric point and a "record" button; each grade is written to the practice record at once.
Headless (``LESSONLIB_STATIC=1``, no kernel or no ipywidgets): the same items as a static list with how
to answer each, and nothing is recorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lessonlib.practice.items import PracticeItem
from lessonlib.widgets import is_static

__all__ = ["Session", "static_page"]

_HOW = {
    "quiz": 'answer with `quiz.check("{id}", ...)`',
    "exercise": "solve it in notebook {nb}; its checker records the attempt",
    "drill": "fix it in notebook 07; `review.check` records the attempt",
    "open": 'say the answer aloud, then `practice.record("{id}", "self-graded", score=share of rubric points)`',
}


def static_page(items: Sequence[PracticeItem]) -> str:
    """The session as markdown: a heading with the count by kind, then each item's front and how to answer."""
    kinds = {k: sum(1 for i in items if i.kind == k) for k in ("quiz", "exercise", "drill", "open")}
    counts = ", ".join(f"{n} {k}" for k, n in kinds.items() if n)
    parts = [f"### Today: {len(items)} items ({counts or 'nothing due'})"]
    for k, it in enumerate(items, start=1):
        how = _HOW[it.kind].format(id=it.id, nb=it.notebook)
        tag = f", {it.difficulty}" if it.difficulty else ""
        front = it.prompt.replace("\n", "  \n")
        parts.append(f"**[{k}/{len(items)}] {it.id}** *({it.kind}, {it.topic}{tag})*  \n{front}  \n*{how}*")
    return "\n\n".join(parts)


class Session:
    """A session over ``items`` recorded through ``practice`` (a ``Practice``); displays itself."""

    def __init__(self, practice: Any, items: Sequence[PracticeItem]):
        self.practice = practice
        self.items = list(items)
        self.done: list[tuple[str, str]] = []

    def _ipython_display_(self) -> None:
        from IPython.display import Markdown, display

        if is_static():
            display(Markdown(static_page(self.items)))
            return
        try:
            self._widget()
        except ImportError:  # pragma: no cover - ipywidgets missing: the static page instead
            display(Markdown(static_page(self.items)))

    def __repr__(self) -> str:
        return static_page(self.items)

    def grade(self, k: int, reply: str, ticked: Sequence[int] = ()) -> Any:
        """Record item ``k`` (0-based) as ``reply`` ("g" got it, "h" with help, "m" missed, "s" skip) or,
        for an open question, by the rubric points ``ticked`` (0-based); returns the ``Review`` or None."""
        it = self.items[k]
        if it.kind == "open":
            share = len(set(ticked)) / max(len(it.rubric), 1)
            review = self.practice.record(it.id, "self-graded", score=share)
        elif reply == "s":
            review = None
        else:
            verdict = {"g": "pass", "h": "pass-after-hint", "m": "fail"}[reply]
            review = self.practice.record(it.id, verdict, hints=1 if reply == "h" else 0)
        self.done.append((it.id, reply))
        return review

    def _widget(self) -> None:  # pragma: no cover - needs a live kernel
        import ipywidgets as w
        from IPython.display import Markdown, display

        n = len(self.items)
        state = {"k": 0}
        bar = w.IntProgress(value=0, min=0, max=max(n, 1), description="progress")
        label = w.Label(f"0 of {n} done")
        front, back = w.Output(), w.Output()
        show = w.Button(description="Show the answer")
        grades = [w.Button(description=d) for d in ("got it", "with help", "missed", "skip")]
        ticks: list[Any] = []
        record_open = w.Button(description="Record ticked points")
        controls = w.VBox()

        def render():
            front.clear_output()
            back.clear_output()
            ticks.clear()
            if state["k"] >= n:
                with front:
                    display(Markdown(f"**Session done: {len(self.done)} of {n} items.** `practice.stats()` sums up."))
                controls.children = ()
                return
            it = self.items[state["k"]]
            with front:
                display(Markdown(f"**[{state['k'] + 1}/{n}] {it.id}** *({it.kind}, {it.topic})*\n\n{it.prompt}"))
            controls.children = (show,)

        def on_show(_b):
            it = self.items[state["k"]]
            with back:
                display(Markdown(it.answer))
            if it.kind == "open":
                ticks.extend(w.Checkbox(description=r[:90], value=False, indent=False) for r in it.rubric)
                controls.children = (*ticks, record_open)
            else:
                controls.children = (w.HBox(grades),)

        def advance(review):
            state["k"] += 1
            bar.value = state["k"]
            label.value = f"{state['k']} of {n} done" + (f" (last: {review.rating})" if review else "")
            render()

        def on_grade(b):
            advance(
                self.grade(state["k"], {"got it": "g", "with help": "h", "missed": "m", "skip": "s"}[b.description])
            )

        def on_record(_b):
            advance(self.grade(state["k"], "", [j for j, t in enumerate(ticks) if t.value]))

        show.on_click(on_show)
        for b in grades:
            b.on_click(on_grade)
        record_open.on_click(on_record)
        render()
        display(w.VBox([w.HBox([bar, label]), front, back, controls]))
