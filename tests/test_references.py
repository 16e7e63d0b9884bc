"""Every citation a notebook makes is listed in docs/references.md.

What counts as a citation (markdown cells of every ``notebooks/*.ipynb``, 00-10 and any later one):

* an inline author-year citation: ``Author et al. (2019)``, ``(Author et al., 2019)``,
  ``Author & Other (2019)``, ``(Author, Other & Third, 2013)``, ``(Author, 1995)`` and
  ``…; Author, 2019)``. It is found in references.md when one entry (a ``- **...**`` bullet)
  names that first author and that year;
* every title in a notebook's *Further reading* section: each ``*italic*`` run of two words or more
  in a bullet there must appear, case- and punctuation-insensitively, in references.md.

The tests below also prove the extractor finds each pattern, so a regex that silently matches
nothing cannot make the main test pass.
"""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "docs" / "references.md"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

NAME = r"[A-Z][\w'’\-]+"
YEAR = r"((?:19|20)\d\d)[a-z]?"
INLINE = [
    re.compile(rf"({NAME}) et al\.,? \(?{YEAR}"),  # Zhang et al., 2018 / Wang et al. (2023)
    re.compile(rf"({NAME})(?:, {NAME})* (?:&|and) {NAME},? \(?{YEAR}"),  # Azulay & Weiss, 2019
    re.compile(rf"[(;] ?({NAME}), {YEAR}\)"),  # (Bishop, 1995) / ; Zhang, 2019)
]
ITALIC = re.compile(r"(?<![*\w])\*([^*\n]+?)\*(?![*\w])")


def _markdown_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [
        "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        for c in cells
        if c["cell_type"] == "markdown"
    ]


def inline_citations(text: str) -> set[tuple[str, str]]:
    """(first author, year) of every inline author-year citation in ``text``."""
    found = set()
    for pattern in INLINE:
        found.update((m.group(1), m.group(2)) for m in pattern.finditer(text))
    return found


def further_reading_titles(text: str) -> list[str]:
    """The italic titles (two words or more) in the bullets of a '## Further reading' section."""
    match = re.search(r"^##+ Further reading\s*$(.*?)(?=^##? |\Z)", text, flags=re.M | re.S)
    if not match:
        return []
    titles = []
    for line in match.group(1).splitlines():
        if line.lstrip().startswith(("- ", "* ")):
            titles += [t.strip() for t in ITALIC.findall(line) if len(t.split()) >= 2]
    return titles


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).lower().replace("’", "'")
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^\w']+", " ", text).split())


def _entries() -> list[str]:
    return [line for line in REFERENCES.read_text(encoding="utf-8").splitlines() if line.startswith("- **")]


def _listed(author: str, year: str, entries: list[str]) -> bool:
    word = re.compile(rf"(?<!\w){re.escape(author)}(?!\w)")
    return any(word.search(e) and year in e for e in entries)


def test_references_file_has_entries_in_the_agreed_format():
    entries = _entries()
    assert len(entries) >= 30
    bad = [e[:80] for e in entries if not re.match(r"- \*\*.+\*\* .*— .+Cited in: .+", e)]
    assert not bad, f"entries not in '- **Author (Year).** *Title.* Venue. — finding. Cited in: NN §k.' form: {bad}"


def test_extractor_finds_every_pattern():
    text = (
        "Mixup (Zhang et al., 2018) and Wang et al. (2023); aliasing (Azulay & Weiss, 2019; Zhang, 2019); "
        "noise (Wager, Wang & Liang, 2013), ridge (Bishop, 1995), Shorten & Khoshgoftaar (2019)."
    )
    assert inline_citations(text) == {
        ("Zhang", "2018"),
        ("Wang", "2023"),
        ("Azulay", "2019"),
        ("Zhang", "2019"),
        ("Wager", "2013"),
        ("Bishop", "1995"),
        ("Shorten", "2019"),
    }
    section = "## Further reading\n\n- A. B. *A title here.* Venue, 2020.\n- *Docs page* and *Another one*.\n"
    assert further_reading_titles(section) == ["A title here.", "Docs page", "Another one"]


def test_a_missing_citation_is_reported():
    entries = ["- **Zhang et al. (2018).** *mixup.* ICLR. — x. Cited in: 04."]
    assert _listed("Zhang", "2018", entries)
    assert not _listed("Zhang", "2019", entries)
    assert not _listed("Wang", "2018", entries)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name[:2])
def test_every_citation_in_the_notebook_is_listed(path):
    entries = _entries()
    corpus = _norm(REFERENCES.read_text(encoding="utf-8"))
    missing = []
    for text in _markdown_cells(path):
        prose = re.split(r"^##+ Further reading\s*$", text, flags=re.M)[0]  # author lists there are not citations
        missing += [f"{a} ({y})" for a, y in sorted(inline_citations(prose)) if not _listed(a, y, entries)]
        missing += [f"title {t!r}" for t in further_reading_titles(text) if _norm(t) not in corpus]
    assert not missing, f"{path.name} cites what docs/references.md does not list: {sorted(set(missing))}"
