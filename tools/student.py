"""Student copies of the notebooks: outputs cleared, every reveal removed, exercise checks and hints kept.

``python tools/student.py [--out build/student] [NOTEBOOK ...]`` (``make student``) writes one copy of
every ``notebooks/NN_*.ipynb`` (or of the notebooks named) into the output folder:

* every cell tagged ``solution`` is **removed** (not collapsed: its source is not in the file at all), and so
  is every code cell that reveals an answer (a call to ``reveal``, ``reveal_answer`` or ``model_answer``);
* in the prose, a clause or sentence that points to such a call is dropped (the hints stay), and a
  sentence that would leave a gap says that model solutions are not included;
* every code cell has its outputs and execution count cleared, and the execution timestamps nbclient
  stores in cell metadata are dropped; saved widget state is dropped from the notebook metadata;
* everything else is kept as written, in particular the learner cells with their ``...`` placeholder
  and the ``lessonlib.exercises`` check they call, so the exercises still check themselves;
* a short note after the title says that this is the student copy, and sentences of the prose that
  point to the (now absent) collapsed solution cells say instead that solutions are not included;
* ``nbNN.reveal(k)`` and ``quiz.reveal(id)`` refuse in a copy (graded homework): the copy's metadata
  carries ``lessonlib.student_copy: true`` and a ``.lessonlib-student`` file is written beside the
  copies; ``lessonlib.exercises.is_student_copy`` reads either (or ``LESSONLIB_STUDENT=1``);
* local images referenced from markdown (``![...](path)``) are embedded as cell attachments, so the
  copy does not depend on where it is opened.

The notebooks themselves are read, never written. ``tests/test_instructor.py`` proves that no
solution text reaches a copy and that each copy's checks pass with the model answers.
"""

from __future__ import annotations

import argparse
import base64
import copy
import mimetypes
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

from lessonlib.dev.notebook_files import REPO, is_solution, notebook_paths

#: Equal to ``lessonlib.exercises.STUDENT_MARKER`` (a literal here: this tool does not import torch).
STUDENT_MARKER = ".lessonlib-student"
MARKER_TEXT = (
    "This folder holds student copies (graded homework): lessonlib's reveal() refuses here.\n"
    "See lessonlib.exercises.is_student_copy.\n"
)

DEFAULT_OUT = REPO / "build" / "student"

STUDENT_NOTE = (
    "> **Student copy.** The model solutions have been removed from this copy; run each exercise cell "
    "after replacing its `...` and the check tells you whether your answer is right and, if not, gives a "
    "hint (`nbNN.hint(k)` and `quiz.hint(id)` give more)."
)
_LOCAL_IMAGE = re.compile(r"!\[([^\]]*)\]\((?!https?:|data:|attachment:)([^)\s]+)\)")
_CELL_METADATA_DROPPED = ("execution", "collapsed", "scrolled")
#: A call that shows an answer: ``nb04.reveal(2)``, ``quiz.reveal("04.q1")``, ``review.reveal_answer(name)``,
#: ``nb07.model_answer(3)``.
REVEAL_CALL = re.compile(r"\b(?:reveal|reveal_answer|model_answer)\s*\(")
_REVEAL_CODE = re.compile(r"`[^`\n]*\b(?:reveal|reveal_answer|model_answer)\s*\([^`\n]*`")
_HINT_CODE = re.compile(r"`[^`\n]*\bhint\s*\([^`\n]*`")
_SENTENCE_END = re.compile(r"[.!?](?=\s|\*|_|$)")
# A sentence that points the reader to a collapsed/hidden model solution, e.g. "The model solution sits
# in the collapsed cell below each exercise." (sentences end at . ! or ? followed by a space or the end).
_SOLUTION_POINTER = re.compile(
    r"[^.!?\n]*\bsolutions?\b[^.!?\n]*\b(?:collapsed|hidden|expand)\b[^\n]*?(?:[.!?](?=\s|$)|$)"
    r"|[^.!?\n]*\b(?:collapsed|hidden)\b[^.!?\n]*\bsolutions?\b[^\n]*?(?:[.!?](?=\s|$)|$)",
    re.IGNORECASE,
)
SOLUTION_POINTER_REPLACEMENT = "Model solutions are not included in this copy."


def reword_solution_pointers(text: str) -> str:
    """Replace sentences that point to collapsed solution cells (absent from a student copy)."""
    return _SOLUTION_POINTER.sub(
        lambda m: (" " if m.group(0)[:1].isspace() else "") + SOLUTION_POINTER_REPLACEMENT, text
    )


def is_reveal(cell) -> bool:
    """True for a code cell that shows an answer (calls ``reveal``, ``reveal_answer`` or ``model_answer``)."""
    return cell.get("cell_type") == "code" and REVEAL_CALL.search(cell.get("source", "")) is not None


def drop_reveal_pointers(text: str) -> str:
    """Remove from markdown the clauses and sentences that point to a reveal call (hints stay).

    In a sentence that names a hint before the reveal, everything from the end of the last hint call
    (and the brackets that close around it) to the end of the sentence goes, whatever joins them
    (``;``, ``, then``, ``, and if you want …,``): ``"Stuck? `nb04.hint(1)`, then `nb04.reveal(1)` for
    the solution."`` becomes ``"Stuck? `nb04.hint(1)`."``. A sentence with no hint before its reveal call
    becomes "Model solutions are not included in this copy."
    """
    while (m := _REVEAL_CODE.search(text)) is not None:
        start = max(text.rfind(sep, 0, m.start()) for sep in (". ", "? ", "! ", "\n"))
        start = 0 if start < 0 else start + (1 if text[start] == "\n" else 2)
        end_m = _SENTENCE_END.search(text, m.end())
        end = end_m.end() if end_m else len(text)
        hints = list(_HINT_CODE.finditer(text, start, m.start()))
        if hints:
            cut = hints[-1].end()
            while cut < m.start() and text[cut] in ")]":
                cut += 1
            text = text[:cut] + "." + text[end:]
        else:
            text = text[:start] + SOLUTION_POINTER_REPLACEMENT + text[end:]
    return text


def _embed_images(cell, notebook_dir: Path) -> None:
    """Replace local markdown image paths in ``cell`` by attachments (in place, on the copy)."""

    def embed(match: re.Match) -> str:
        alt, ref = match.groups()
        path = (notebook_dir / ref).resolve()
        mime = mimetypes.guess_type(path.name)[0]
        if not path.is_file() or not mime or not mime.startswith("image/"):
            return match.group(0)
        name = path.name
        payload = base64.b64encode(path.read_bytes()).decode("ascii")
        cell.setdefault("attachments", {})[name] = {mime: payload}
        return f"![{alt}](attachment:{name})"

    cell.source = _LOCAL_IMAGE.sub(embed, cell.source)


def make_student_copy(nb: nbformat.NotebookNode, notebook_dir: str | Path | None = None) -> nbformat.NotebookNode:
    """A student copy of ``nb``: solution cells removed, outputs and execution counts cleared.

    ``notebook_dir`` (the folder the notebook lives in) lets local markdown images be embedded; without
    it they are left as they are. The input notebook is not modified. Cell ids are kept, so a cell of
    the copy can be matched to its original.
    """
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        if is_solution(cell) or is_reveal(cell):
            continue
        for key in _CELL_METADATA_DROPPED:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            cell.source = drop_reveal_pointers(reword_solution_pointers(cell.source))
            if notebook_dir is not None:
                _embed_images(cell, Path(notebook_dir))
        cells.append(cell)
    note = nbformat.v4.new_markdown_cell(STUDENT_NOTE, metadata={"tags": ["student-note"]})
    if out.nbformat_minor < 5:
        note.pop("id", None)
    else:
        note["id"] = "student-copy-note"  # fixed, so that rebuilding a copy gives the same file
    cells.insert(1 if cells else 0, note)
    out.cells = cells
    out.metadata.pop("widgets", None)
    out.metadata["lessonlib"] = {**dict(out.metadata.get("lessonlib", {})), "student_copy": True}
    return out


def write_student_copy(path: str | Path, out_dir: str | Path = DEFAULT_OUT) -> Path:
    """Write the student copy of one notebook to ``out_dir/<same name>`` and return its path."""
    path, out_dir = Path(path), Path(out_dir)
    if path.resolve().parent == out_dir.resolve():
        raise ValueError(f"out_dir: expected a folder other than the notebook's own, got {out_dir}")
    nb = nbformat.read(path, as_version=4)
    student = make_student_copy(nb, path.parent)
    nbformat.validate(student)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / path.name
    nbformat.write(student, target)
    (out_dir / STUDENT_MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("notebooks", nargs="*")
    args = parser.parse_args(argv)
    try:
        paths = notebook_paths(args.notebooks)
    except FileNotFoundError as exc:
        parser.error(str(exc))
    for path in paths:
        target = write_student_copy(path, args.out)
        print(f"wrote {target}")
    if not paths:
        print("no notebooks found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
