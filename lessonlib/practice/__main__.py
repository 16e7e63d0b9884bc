"""``python -m lessonlib.practice``: practise in a terminal, on the same record the notebooks use.

Commands:
  today [--n N]          a session: what is due, weakest topics first, then new items; you answer (aloud
                         or on paper), press Enter to see the model answer, then grade yourself
  mock [--minutes M]     a timed round of open interview questions (exam mode: no hints); you tick the
                         rubric points you made; the clock is shown and the score is given per question
  plan [--days 1|3|7]    a study plan in course order, with the measured minutes per block
  stats                  attempts, pass rate and items due, per notebook
  export-anki FILE       the whole course as one Anki deck (.apkg); re-importing updates, never duplicates

``--db PATH`` (before the command) uses another record than ``$LESSONLIB_PRACTICE_DB`` or the default.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

from lessonlib.practice import Practice, PracticeItem, PracticeStoreError, catalogue, format_plan, plan
from lessonlib.practice.anki import export_anki

SELF_GRADE = "  [g] got it   [h] got it with help   [m] missed   [s] skip   [q] quit > "


def _ask(prompt: str, read: Callable[[str], str]) -> str:
    try:
        return read(prompt).strip().lower()
    except EOFError:
        return "q"


def _ticks(item: PracticeItem, read: Callable[[str], str], out) -> float | None:
    """Show the rubric, read which points were made ("1 3 4", "all", "none"); None means quit."""
    for k, point in enumerate(item.rubric, start=1):
        print(f"   {k}. {point}", file=out)
    while True:
        reply = _ask("  which points did you make? (e.g. '1 3', 'all', 'none', q to quit) > ", read)
        if reply == "q":
            return None
        if reply in ("all", "none"):
            return 1.0 if reply == "all" else 0.0
        picks = reply.replace(",", " ").split()
        if picks and all(p.isdigit() and 1 <= int(p) <= len(item.rubric) for p in picks):
            return len(set(picks)) / len(item.rubric)
        print(f"  please give point numbers between 1 and {len(item.rubric)}, 'all' or 'none'", file=out)


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = round(width * done / max(total, 1))
    return "#" * filled + "." * (width - filled)


def _session(practice: Practice, items: Sequence[PracticeItem], read, out, minutes: float | None = None) -> list[tuple]:
    results = []
    started = time.monotonic()
    for k, it in enumerate(items, start=1):
        clock = ""
        if minutes is not None:
            used = (time.monotonic() - started) / 60
            if used >= minutes:
                print(f"\ntime is up ({minutes:g} minutes): {k - 1} of {len(items)} questions answered", file=out)
                break
            clock = f" · {used:.0f} of {minutes:g} min used"
        print(f"\n[{_bar(k - 1, len(items))}] {k - 1} of {len(items)} done{clock}", file=out)
        print(f"[{k}/{len(items)}] {it.id} · {it.kind} · {it.topic}\n{it.prompt}", file=out)
        start = time.monotonic()
        if _ask("  (answer, then press Enter to see the model answer; q to quit) ", read) == "q":
            break
        seconds = round(time.monotonic() - start, 1)
        print(f"\n{it.answer}", file=out)
        if it.rubric:
            score = _ticks(it, read, out)
            if score is None:
                break
            review = practice.record(it.id, "self-graded", score=score, seconds=seconds)
            results.append((it.id, score, review))
        else:
            while (reply := _ask(SELF_GRADE, read)) not in ("g", "h", "m", "s", "q"):
                print("  please answer g, h, m, s or q", file=out)
            if reply == "q":
                break
            if reply == "s":
                continue
            verdict = {"g": "pass", "h": "pass-after-hint", "m": "fail"}[reply]
            review = practice.record(it.id, verdict, hints=1 if reply == "h" else 0, seconds=seconds)
            results.append((it.id, 1.0 if reply == "g" else 0.5 if reply == "h" else 0.0, review))
        print(f"  recorded: {results[-1][2].rating}; next due {results[-1][2].due:%Y-%m-%d %H:%M} UTC", file=out)
    return results


def main(argv: Sequence[str] | None = None, *, read: Callable[[str], str] = input, out=None) -> int:
    out = out or sys.stdout
    parser = argparse.ArgumentParser(prog="python -m lessonlib.practice", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="the practice record to use (a SQLite file)")
    sub = parser.add_subparsers(dest="command", required=True)
    p_today = sub.add_parser("today", help="a session of due and new items")
    p_today.add_argument("--n", type=int, default=10, help="how many items (default 10)")
    p_mock = sub.add_parser("mock", help="a timed round of open interview questions")
    p_mock.add_argument("--minutes", type=int, default=15, help="length of the round (about 3 minutes a question)")
    p_plan = sub.add_parser("plan", help="a study plan for 1, 3 or 7 days")
    p_plan.add_argument("--days", type=int, default=7, choices=(1, 3, 7), help="days until the interview")
    sub.add_parser("stats", help="attempts, pass rate and due items per notebook")
    p_anki = sub.add_parser("export-anki", help="write the course as an Anki deck")
    p_anki.add_argument("file", help="the .apkg file to write")
    args = parser.parse_args(argv)

    if args.command == "plan":
        print(format_plan(plan(args.days)), file=out)
        return 0
    if args.command == "export-anki":
        try:
            path = export_anki(args.file)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {len(catalogue())} notes to {path}", file=out)
        return 0
    try:
        practice = Practice(args.db)
    except PracticeStoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "stats":
        rows = practice.stats()
        if not rows:
            print("no attempts recorded yet: start with `python -m lessonlib.practice today`", file=out)
        for nb, r in rows.items():
            print(
                f"notebook {nb}: {r['attempts']:3d} attempts, pass rate {r['pass_rate']:.0%}, {r['due']} due", file=out
            )
        return 0
    if args.command == "today":
        if args.n < 1:
            parser.error(f"--n must be at least 1, got {args.n}")
        items = practice.today(args.n)
        print(f"today: {len(items)} items (record: {practice.store.path})", file=out)
        results = _session(practice, items, read, out)
    else:
        if args.minutes < 3:
            parser.error(f"--minutes must be at least 3 (one question), got {args.minutes}")
        opens = [it for it in catalogue() if it.kind == "open"]
        weak = practice.weakness()
        opens.sort(key=lambda it: -weak.get(it.topic, 0.0))
        items = opens[: max(1, args.minutes // 3)]
        print(f"mock interview: {len(items)} questions, about 3 minutes each, no hints", file=out)
        results = _session(practice, items, read, out, minutes=args.minutes)
    if results:
        print("\nscore by question:", file=out)
        for item_id, score, _ in results:
            print(f"  {item_id}: {score:.0%}", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
