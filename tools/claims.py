"""The claims check: every measured number the course's prose states is a number its outputs printed.

``python tools/claims.py [NOTEBOOK ...]`` reads the prose of each notebook (its markdown cells,
interview answer included), of its section of ``docs/teaching_guide.md`` (``## NN · …``), the
explanations of its quick-check questions (``lessonlib/content/quiz/NN.yaml``), the model answers
of its open interview questions (``lessonlib/content/open/NN.yaml``) and of its mock-interview
questions, and ties every decimal number there to the stored outputs of that notebook. With no
notebook named it also checks the README's measured sections (the notebook-time table and the
benchmarks): their decimals must be numbers ``benchmarks/results.json`` holds. It prints each
number it cannot tie, with the notebook, the cell (or guide line), the number and the nearest
number the outputs do print, and exits 1 if there is one (``--json`` prints the same as JSON).

The rule (written so a reader can apply it by hand):

1. A *claim* is a decimal number in prose (``0.934``, ``−1.5 ± 0.8``, ``4.8``): digits, a point,
   digits. Integers are not checked (they are mostly counts, sizes and seeds).
2. It is *supported* when some number printed by a code cell of the same notebook, rounded to the
   claim's number of decimals, equals it (sign ignored, so "costs 1.6 points" may quote −1.6); or
   when 100 times a printed number does (a fraction quoted in points or per cent).
3. These are not claims: numbers in inline code or in math (``$σ = 0.4$``); numbers the notebook's
   own code declares (a constant of the lesson, e.g. ``alpha=0.2``: it appears in a code cell);
   identifiers such as exercise numbers (``01.4``) and arXiv ids; and numbers in a sentence that
   cites a paper (an ``et al.``, a year, ``arXiv``), provided a name in that sentence is in
   ``docs/references.md`` (a literature number is bound to its reference instead). A sentence that
   names another notebook ("notebook 06 §2 measures…", "(06 §2)") may quote that notebook's outputs,
   and a ratio ("2.3×") in a paragraph that names a benchmark may quote ``benchmarks/results.json`` (``make bench``).
4. In a quick-check explanation, the question's own numbers are declared, and a number right after
   ``=`` or ``≈`` is the result of the arithmetic the explanation shows, not a measurement. The
   model answer of a *numerical* open or mock-interview question is worked arithmetic and is not
   checked (its prompt's numbers are declared).
5. Anything else that is not supported must be listed in ``tools/claims_exceptions.yaml`` with a
   reason, or it fails the check.

``check(paths)`` returns the unsupported claims; ``tests/test_claims.py`` runs it on the course and on
a mutated copy of a notebook (one stored output number changed), where it must fail and name both
numbers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
GUIDE = REPO / "docs" / "teaching_guide.md"
REFERENCES = REPO / "docs" / "references.md"
EXCEPTIONS = Path(__file__).resolve().parent / "claims_exceptions.yaml"
QUIZ = REPO / "lessonlib" / "content" / "quiz"
MOCK = REPO / "lessonlib" / "content" / "mock_interview.yaml"
OPEN = REPO / "lessonlib" / "content" / "open"
README = REPO / "README.md"

# a decimal number, optionally signed (ASCII minus or the typographic one); not part of a longer token
CLAIM = re.compile(r"(?<![\w.\-−/:#])([-−+]?)(\d+\.\d+)(?![\w.]*\d)(?!\.\d)")
# numbers as outputs print them, scientific notation included
PRINTED = re.compile(r"[-−+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
CODE_SPAN = re.compile(r"`[^`\n]*`")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.S)
LINK_TARGET = re.compile(r"\]\([^)]*\)")
IDENTIFIER = re.compile(r"\b0\d\.\d+\b|arXiv:\s*\d+\.\d+|\d{4}\.\d{4,5}")
CITES = re.compile(r"et al\.|\b(19|20)\d\d\b|arXiv", re.I)


@dataclass(frozen=True)
class Claim:
    """A number stated in prose that no stored output supports."""

    notebook: str  # notebook file name, e.g. "01_why_augmentation_works.ipynb"
    where: str  # "cell 12" (notebook markdown) or "teaching_guide.md line 140"
    number: str  # as written, sign included
    nearest: str | None  # the printed number closest to it, or None when the outputs print none
    context: str  # the words around it

    def __str__(self) -> str:
        near = f"nearest printed number {self.nearest}" if self.nearest else "no printed number"
        return f"{self.notebook} {self.where}: prose says {self.number}, {near} — …{self.context}…"


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace("−", "-").lstrip("+"))
    except InvalidOperation:
        return None


def _sentences(text: str) -> list[str]:
    # "Zech et al. (2018) found …" is one sentence: no split after "et al." or "e.g."/"i.e."
    return re.split(r"(?<!\bal\.)(?<!\.g\.)(?<!\.e\.)(?<=[.!?])\s+(?=[A-Z*(\"“])|\n\s*\n|\n(?=\s*[-*>|#])", text)


def _prose(text: str) -> str:
    """Markdown without what is not prose: code spans, math, link targets (blanked, offsets kept)."""
    for pattern in (CODE_SPAN, MATH, LINK_TARGET, IDENTIFIER):
        text = pattern.sub(lambda m: " " * len(m.group()), text)
    return text


def _cell_text(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _outputs(nb: dict) -> list[str]:
    texts = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            if "text" in out:
                texts.append("".join(out["text"]) if isinstance(out["text"], list) else out["text"])
            for mime in ("text/plain", "text/markdown", "text/html"):
                data = out.get("data", {}).get(mime)
                if data:
                    texts.append("".join(data) if isinstance(data, list) else data)
    return texts


class Evidence:
    """The numbers a notebook printed, and the constants its code declares."""

    def __init__(self, nb: dict) -> None:
        self.printed = [d for t in _outputs(nb) for m in PRINTED.findall(t) if (d := _decimal(m)) is not None]
        self.abs_printed = sorted({abs(d) for d in self.printed})
        code = "\n".join(_cell_text(c) for c in nb.get("cells", []) if c.get("cell_type") == "code")
        self.declared = {m.group(2) for m in CLAIM.finditer(code)} | {m.group() for m in re.finditer(r"\d+\.\d+", code)}

    def supports(self, value: Decimal) -> bool:
        places = Decimal(1).scaleb(value.as_tuple().exponent)
        target = abs(value)
        for d in self.abs_printed:
            for scaled in (d, d * 100):
                for rounding in (ROUND_HALF_EVEN, ROUND_HALF_UP):
                    if scaled.quantize(places, rounding=rounding) == target:
                        return True
        return False

    def nearest(self, value: Decimal) -> str | None:
        if not self.abs_printed:
            return None
        target, places = abs(value), value.as_tuple().exponent

        def distance(d: Decimal) -> tuple[bool, Decimal]:  # same printed precision first, then closest
            return d.as_tuple().exponent != places, min(abs(abs(d) - target), abs(abs(d) * 100 - target))

        return str(min(self.printed, key=distance))


def _references_words() -> set[str]:
    text = REFERENCES.read_text(encoding="utf-8") if REFERENCES.is_file() else ""
    return {w.lower() for w in re.findall(r"[A-Z][a-zà-ÿ]{3,}", text)}


def _cites_a_reference(sentence: str, known: set[str]) -> bool:
    if not CITES.search(sentence):
        return False
    return any(w.lower() in known for w in re.findall(r"[A-Z][a-zà-ÿ]{3,}", sentence))


@dataclass(frozen=True)
class Exception_:
    """One listed exception: ``number`` in notebook ``NN``'s prose (only where the words around it
    contain ``near``, when given) is not a measurement, for ``reason``."""

    notebook: str
    number: str
    reason: str
    near: str = ""

    def covers(self, prefix: str, written: str, context: str) -> bool:
        return self.notebook == prefix and self.number == written.lstrip("+-−") and self.near in context


def load_exceptions(path: Path = EXCEPTIONS) -> list[Exception_]:
    """The entries of ``tools/claims_exceptions.yaml`` (notebook, number, reason, optional near).

    Raises:
        ValueError: an entry lacks a field or gives no reason (an exception is never silent).
    """
    if not path.is_file():
        return []
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = []
    for item in items:
        if not isinstance(item, dict) or not {"notebook", "number", "reason"} <= set(item):
            raise ValueError(f"{path.name}: each entry needs notebook, number and reason, got {item!r}")
        if not str(item["reason"]).strip():
            raise ValueError(f"{path.name}: the exception for {item['number']} in {item['notebook']} has no reason")
        out.append(
            Exception_(
                str(item["notebook"]).zfill(2) if str(item["notebook"]).isdigit() else str(item["notebook"]),
                str(item["number"]).lstrip("+-−"),
                str(item["reason"]),
                str(item.get("near", "")),
            )
        )
    return out


def _guide_sections(text: str) -> dict[str, list[tuple[int, str]]]:
    """``{"01": [(line number, line), ...]}`` for each ``## NN · …`` section of the teaching guide."""
    sections: dict[str, list[tuple[int, str]]] = {}
    current = None
    for i, line in enumerate(text.splitlines(), start=1):
        head = re.match(r"##\s+(\d\d)\s", line)
        if head:
            current = head.group(1)
            sections[current] = []
        elif line.startswith("## "):
            current = None
        elif current is not None:
            sections[current].append((i, line))
    return sections


OTHER_NOTEBOOK = re.compile(r"\b(?:notebook|notebooks|nb)\s+(\d\d)\b|\b(\d\d)\s*§", re.I)


def _evidence_of(prefix: str) -> Evidence | None:
    """The evidence of notebook ``NN`` (cached), for a sentence that quotes another notebook."""
    if prefix not in _EVIDENCE_CACHE:
        paths = sorted((REPO / "notebooks").glob(f"{prefix}_*.ipynb"))
        _EVIDENCE_CACHE[prefix] = Evidence(json.loads(paths[0].read_text(encoding="utf-8"))) if paths else None
    return _EVIDENCE_CACHE[prefix]


_EVIDENCE_CACHE: dict[str, Evidence | None] = {}
BENCH_RESULTS = REPO / "benchmarks" / "results.json"


def _benchmark_evidence() -> Evidence | None:
    """The numbers of ``benchmarks/results.json`` (``make bench``), for a sentence about a benchmark."""
    if "bench" not in _EVIDENCE_CACHE:
        text = BENCH_RESULTS.read_text(encoding="utf-8") if BENCH_RESULTS.is_file() else ""
        cell = {"cell_type": "code", "source": "", "outputs": [{"output_type": "stream", "text": text}]}
        _EVIDENCE_CACHE["bench"] = Evidence({"cells": [cell]}) if text else None
    return _EVIDENCE_CACHE["bench"]


def _bank_texts(prefix: str) -> list[tuple[str, str, str]]:
    """``(where, prose, declared numbers' text)`` for notebook ``NN``'s quiz explanations and mock answers."""
    out = []
    quiz = QUIZ / f"{prefix}.yaml"
    if quiz.is_file():
        for item in yaml.safe_load(quiz.read_text(encoding="utf-8")) or []:
            declared = " ".join(str(item.get(k, "")) for k in ("question", "answer", "options"))
            out.append((f"quiz {item.get('id')} explanation", str(item.get("explanation", "")), declared))
    open_file = OPEN / f"{prefix}.yaml"
    if open_file.is_file():
        for item in yaml.safe_load(open_file.read_text(encoding="utf-8")) or []:
            if item.get("kind") != "numerical":
                where = f"open question {item.get('id')} answer"
                out.append((where, str(item.get("answer", "")), str(item.get("prompt"))))
    if MOCK.is_file():
        for k, item in enumerate(yaml.safe_load(MOCK.read_text(encoding="utf-8")) or [], start=1):
            if str(item.get("topic", "")).startswith(prefix) and item.get("kind") != "numerical":
                out.append(
                    (f"mock interview question {k} answer", str(item.get("answer", "")), str(item.get("prompt")))
                )
    return out


def _claims_in(text: str, evidence: Evidence, known: set[str]) -> Iterable[tuple[str, Decimal, str]]:
    cleaned = _prose(text)
    bench_cell = "bench" in text.lower()  # the paragraph names a benchmark (often in a code span)
    for sentence in _sentences(cleaned):
        if _cites_a_reference(sentence, known):
            continue
        # a sentence that names another notebook ("notebook 06 §2 measures…", "(06 §2)") may quote it
        others = [e for m in OTHER_NOTEBOOK.finditer(sentence) if (e := _evidence_of(m.group(1) or m.group(2)))]
        if bench_cell and "×" in sentence and (bench := _benchmark_evidence()) is not None:
            others.append(bench)  # a speed ratio is bound to `make bench`'s results, not to a notebook
        for m in CLAIM.finditer(sentence):
            written = m.group(1) + m.group(2)
            value = _decimal(written)
            if value is None or m.group(2) in evidence.declared:
                continue
            if evidence.supports(value) or any(e.supports(value) for e in others):
                continue
            start = max(0, m.start() - 40)
            yield written, value, " ".join(sentence[start : m.end() + 30].split())


def check_notebook(
    path: Path, *, guide: str | None = None, exceptions: Sequence[Exception_] | None = None
) -> list[Claim]:
    """The unsupported claims of one notebook (markdown cells) and of its teaching-guide section."""
    path = Path(path)
    nb = json.loads(path.read_text(encoding="utf-8"))
    evidence = Evidence(nb)
    known = _references_words()
    exceptions = load_exceptions() if exceptions is None else exceptions
    prefix = path.name[:2]
    found: list[Claim] = []

    def add(where: str, written: str, value: Decimal, context: str) -> None:
        if any(e.covers(prefix, written, context) for e in exceptions):
            return
        found.append(Claim(path.name, where, written, evidence.nearest(value), context))

    for i, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") == "markdown":
            for written, value, context in _claims_in(_cell_text(cell), evidence, known):
                add(f"cell {i}", written, value, context)
    for where, text, declared in _bank_texts(prefix):
        local = Evidence({"cells": [{"cell_type": "code", "source": declared, "outputs": []}]})
        for written, value, context in _claims_in(text, evidence, known):
            worked = re.search(rf"[=≈]\s*{re.escape(written)}", text)
            if written.lstrip("+-−") not in local.declared and not worked:
                add(where, written, value, context)
    guide_text = GUIDE.read_text(encoding="utf-8") if guide is None else guide
    for line_no, line in _guide_sections(guide_text).get(prefix, []):
        for written, value, context in _claims_in(line, evidence, known):
            add(f"teaching_guide.md line {line_no}", written, value, context)
    return found


def check(paths: Sequence[Path]) -> list[Claim]:
    """Unsupported claims of every notebook in ``paths`` (see the module docstring for the rule)."""
    exceptions = load_exceptions()
    guide = GUIDE.read_text(encoding="utf-8")
    return [c for p in paths for c in check_notebook(p, guide=guide, exceptions=exceptions)]


def _readme_sections(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` of the README's measured sections: those whose ``##`` heading names
    benchmarks or notebook times."""
    out, inside = [], False
    for no, line in enumerate(text.splitlines(), start=1):
        if line.startswith("## "):
            inside = bool(re.search(r"benchmark|how long|time", line, re.I))
        elif inside:
            out.append((no, line))
    return out


def check_readme(text: str | None = None, exceptions: Sequence[Exception_] | None = None) -> list[Claim]:
    """Unsupported decimals of the README's measured sections (bound to ``benchmarks/results.json``;
    exceptions listed under notebook ``README``)."""
    text = README.read_text(encoding="utf-8") if text is None else text
    exceptions = load_exceptions() if exceptions is None else exceptions
    evidence = _benchmark_evidence() or Evidence({"cells": []})
    found = []
    for no, line in _readme_sections(text):
        for written, value, context in _claims_in(line, evidence, set()):
            if not any(e.covers("README", written, context) for e in exceptions):
                found.append(Claim("README.md", f"line {no}", written, evidence.nearest(value), context))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to check (default: every notebooks/NN_*.ipynb)")
    parser.add_argument("--json", action="store_true", help="print the unsupported claims as JSON")
    args = parser.parse_args(argv)
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from lessonlib.dev.notebook_files import notebook_paths

    claims = check(notebook_paths(args.notebooks or None)) + ([] if args.notebooks else check_readme())
    if args.json:
        print(json.dumps([asdict(c) for c in claims], indent=1, ensure_ascii=False))
    else:
        for c in claims:
            print(c)
        print(f"claims check: {len(claims)} unsupported number(s)")
    return 1 if claims else 0


if __name__ == "__main__":
    sys.exit(main())
