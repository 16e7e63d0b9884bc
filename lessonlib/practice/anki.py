"""Export the course's practice items as one Anki deck (``.apkg``), with ``genanki``.

Ids are stable, so re-importing an updated export updates the notes instead of duplicating them:
the model and deck ids are fixed numbers derived from their names, and each note's GUID is
``genanki.guid_for(item.id)``. Tags: ``nb-NN``, the kind (``quiz``/``exercise``/``open``), the topic
and the difficulty where the content has one. Open questions carry their rubric on the back.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable
from pathlib import Path

from lessonlib.practice.items import PracticeItem, catalogue

__all__ = ["DECK_NAME", "stable_id", "build_deck", "export_anki"]

DECK_NAME = "Data augmentation interview course"
MODEL_NAME = "lessonlib practice card v1"


def stable_id(name: str) -> int:
    """A fixed 31-bit id for ``name`` (Anki wants model and deck ids to stay the same across exports)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big") >> 1


def _html(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _tag(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text.strip().lower()) or "untagged"


def build_deck(items: Iterable[PracticeItem] | None = None):
    """A ``genanki.Deck`` holding one note per item (default: the whole catalogue)."""
    import genanki

    model = genanki.Model(
        stable_id(MODEL_NAME),
        MODEL_NAME,
        fields=[{"name": "Id"}, {"name": "Front"}, {"name": "Back"}],
        templates=[
            {
                "name": "Card",
                "qfmt": "<div class=id>{{Id}}</div>{{Front}}",
                "afmt": "{{FrontSide}}<hr id=answer>{{Back}}",
            }
        ],
        css=".card { font-family: sans-serif; font-size: 18px; text-align: left; } .id { color: #888; }",
    )
    deck = genanki.Deck(stable_id(DECK_NAME), DECK_NAME)
    for it in catalogue() if items is None else items:
        back = _html(it.answer)
        if it.rubric:
            back += "<br><br><b>Rubric</b> (one point each):<ol>" + "".join(f"<li>{_html(r)}</li>" for r in it.rubric)
            back += "</ol>"
        tags = [f"nb-{it.notebook}", it.kind, _tag(it.topic)] + ([it.difficulty] if it.difficulty else [])
        deck.add_note(
            genanki.Note(model=model, fields=[it.id, _html(it.prompt), back], guid=genanki.guid_for(it.id), tags=tags)
        )
    return deck


def export_anki(path: str | Path, items: Iterable[PracticeItem] | None = None) -> Path:
    """Write the deck to ``path`` (an ``.apkg`` file; the folder must exist); returns the path.

    Raises:
        ValueError: ``path`` does not end in ``.apkg`` or its folder does not exist.
    """
    path = Path(path)
    if path.suffix != ".apkg":
        raise ValueError(f"path must name an .apkg file, got {str(path)!r}")
    if not path.parent.is_dir():
        raise ValueError(f"path's folder must exist, got {str(path.parent)!r}")
    import genanki

    genanki.Package(build_deck(items)).write_to_file(str(path))
    return path
