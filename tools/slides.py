"""Slide decks for instructors, built from the notebooks themselves, offline.

Two steps, both usable from the command line and from tests:

``stamp``
    Assigns ``metadata.slideshow.slide_type`` to every cell from the notebook's *structure*, so no
    author has to remember slide metadata:

    ==========================================================  ===================
    cell                                                        slide type
    ==========================================================  ===================
    the title (first cell) and every markdown cell opening       ``slide``
    with a ``##`` heading (one slide per section)
    a markdown cell opening with a ``###`` heading               ``subslide``
    a code cell that draws a figure (``plt.show()``, a           ``subslide``
    ``plotting.``/``widgets.`` call, or an image output)
    a checked number (``# NBVAL_CHECK_OUTPUT``), an "In an       ``fragment``
    interview" box, and prose that follows code (a reading of
    the figure, the next step of a drill: a pause point)
    a solution cell (tag ``solution``) or an empty cell          ``skip``
    the setup cell (first code cell)                             ``subslide``
    anything else                                                ``-`` (continues)
    ==========================================================  ===================

    Cells tagged ``slides-skip`` or ``slides-notes`` are forced to ``skip`` / ``notes`` (the only
    manual override). Stamping is idempotent and touches nothing but ``metadata.slideshow``: sources,
    outputs and execution counts stay as they are.

``build``
    Writes ``build/slides/NN_x.slides.html`` per notebook with nbconvert's ``SlidesExporter`` on a
    stamped in-memory copy (the notebook files are not modified). Before stamping, markdown cells that
    hold several ``##``/``###`` headings are split at each heading so that every section gets its
    own slide, and the sections after ``## Exercises`` (``## Further reading``) are moved before it
    so that the exercises are the last slides. Links between notebooks point to the other decks.

Offline by construction. nbconvert's reveal template loads reveal.js, RequireJS, jQuery, MathJax and
mermaid from CDNs (``https://unpkg.com/reveal.js@4.0.2`` etc.), and no Python package of the course
ships reveal.js. So the deck template here replaces those ``<script>``/``<link>`` tags:

* by default, a small presenter (about 100 lines of JavaScript and CSS, in this file) is embedded
  in each deck. It understands the ``<section>`` nesting nbconvert writes (slides, vertical
  sub-slides, fragments, speaker notes): arrow keys, space, PageUp/PageDown, Home/End, ``s`` for
  notes, ``f`` for full screen, ``#/h/v`` addresses, print-friendly CSS. Figures are embedded as
  ``data:`` PNGs, and so are local images in markdown (``HTMLExporter.embed_images``), so each deck is
  one self-contained HTML file;
* ``--reveal-js DIR`` (``make slides REVEAL_JS=DIR``) uses the real reveal.js instead, from a local
  copy of a reveal.js 4 release (a folder with ``dist/`` and ``plugin/``): those two folders are copied
  to ``build/slides/reveal.js/`` and the decks reference them there, via
  ``SlidesExporter.reveal_url_prefix`` (relative, so the folder can be moved or zipped as a whole).

Not rendered offline: LaTeX math stays as its ``$...$`` source (MathJax is not installed either).

Usage::

    python tools/slides.py stamp [--check] [NOTEBOOK ...]
    python tools/slides.py build [--out build/slides] [--reveal-js DIR] [NOTEBOOK ...]

Without notebooks, both act on every ``notebooks/[0-9][0-9]_*.ipynb``.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat

from lessonlib.dev.notebook_files import NOTEBOOK_DIR, NOTEBOOK_GLOB, REPO, SOLUTION_TAG, is_solution, notebook_paths  # noqa: F401
from lessonlib.dev.notebook_files import cell_tags as _tags

if str(REPO) not in sys.path:  # run as a script: `tools` is then not importable as a package
    sys.path.insert(0, str(REPO))
from tools.notebook_rewrite import report_rewrites  # noqa: E402

DEFAULT_OUT = REPO / "build" / "slides"

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
OVERRIDE_TAGS = {"slides-skip": "skip", "slides-notes": "notes"}


def _forced(cell) -> bool:
    """True for a cell whose slide type is forced by a tag (``slides-skip``/``slides-notes``)."""
    return any(tag in OVERRIDE_TAGS for tag in _tags(cell))


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FIGURE_CALL = re.compile(r"\bplt\.show\(|\bplotting\.\w+\(|\bwidgets\.(?:explorer|reveal)\(|\bdisplay\(")
_EXERCISES = "exercise"  # "## Exercises", "## Exercises (self-checking)", ...
_IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")


def heading(cell) -> tuple[int, str] | None:
    """``(level, text)`` of the markdown heading a cell opens with, or None (code, or no heading first)."""
    if cell.cell_type != "markdown":
        return None
    for line in cell.source.splitlines():
        if line.strip():
            match = _HEADING.match(line.strip())
            return (len(match.group(1)), match.group(2)) if match else None
    return None


def _has_image_output(cell) -> bool:
    return any(
        any(mime in output.get("data", {}) for mime in _IMAGE_MIMES)
        for output in cell.get("outputs", [])
        if output.get("output_type") in ("display_data", "execute_result")
    )


def is_figure_cell(cell) -> bool:
    """A code cell that draws a figure: by its source (works before execution) or by an image output."""
    if cell.cell_type != "code":
        return False
    return bool(_FIGURE_CALL.search(cell.source)) or _has_image_output(cell)


def slide_type_for(cell, *, is_title: bool, is_setup: bool, after_code: bool = False) -> str:
    """The slide type the structure implies for one cell (see the module docstring's table).

    ``after_code``: the previous cell shown in the deck is a code cell (so prose here is a pause point).
    """
    for tag, forced in OVERRIDE_TAGS.items():
        if tag in _tags(cell):
            return forced
    if is_solution(cell) or not cell.source.strip():
        return "skip"
    if is_title:
        return "slide"
    if cell.cell_type == "markdown":
        level = (heading(cell) or (0, ""))[0]
        if level in (1, 2):
            return "slide"
        if level == 3:
            return "subslide"
        if after_code or "in an interview" in cell.source.lower():
            return "fragment"
        return "-"
    if cell.cell_type != "code":
        return "-"
    if is_setup or is_figure_cell(cell):
        return "subslide"
    if cell.source.lstrip().startswith("# NBVAL_CHECK_OUTPUT"):
        return "fragment"
    return "-"


def stamp(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose every cell carries ``metadata.slideshow.slide_type`` from its structure.

    Only ``metadata.slideshow.slide_type`` is written (other ``slideshow`` keys are kept); sources,
    outputs, execution counts and all other metadata are unchanged. ``stamp(stamp(nb)) == stamp(nb)``.
    The input notebook is not modified.
    """
    out = copy.deepcopy(nb)
    first_code = next(  # the setup cell (the Colab install cell before it is skipped by its tag)
        (i for i, c in enumerate(out.cells) if c.cell_type == "code" and not is_solution(c) and not _forced(c)),
        None,
    )
    previous_shown = None
    for i, cell in enumerate(out.cells):
        after_code = previous_shown == "code"
        kind = slide_type_for(cell, is_title=(i == 0), is_setup=(i == first_code), after_code=after_code)
        slideshow = dict(cell.metadata.get("slideshow", {}))
        slideshow["slide_type"] = kind
        cell.metadata["slideshow"] = slideshow
        if kind != "skip":
            previous_shown = cell.cell_type
    return out


def stamp_file(path: str | Path, *, check: bool = False) -> bool:
    """Stamp one notebook file in place (metadata only). Returns True if it changed (or would, with ``check``)."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    stamped = stamp(nb)
    changed = stamped != nb
    if changed and not check:
        nbformat.write(stamped, path)
    return changed


def split_headings(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose markdown cells are split so each ``#``/``##``/``###`` heading opens a cell.

    Used for decks only (one slide per section even when an author put two sections in one cell).
    Split cells keep the original's metadata but get no cell id collisions (``-1``, ``-2`` suffixes).
    """
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        if cell.cell_type != "markdown":
            cells.append(cell)
            continue
        chunks, current, fenced = [], [], False
        for line in cell.source.splitlines(keepends=True):
            if line.lstrip().startswith("```"):
                fenced = not fenced
            match = None if fenced else _HEADING.match(line.strip())
            if match and len(match.group(1)) <= 3 and any(x.strip() for x in current):
                chunks.append("".join(current))
                current = []
            current.append(line)
        chunks.append("".join(current))
        for k, text in enumerate(chunks):
            part = copy.deepcopy(cell)
            part.source = text.rstrip("\n")
            if k and "id" in part:
                part["id"] = f"{cell['id']}-{k}"[:64]
            cells.append(part)
    out.cells = cells
    return out


def exercises_last(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with the ``## Exercises`` section moved after every other ``##`` section.

    Sections are runs of cells that start at a level-1/2 heading; the exercises section is the one
    whose heading starts with "Exercise". Without one the order is unchanged.
    """
    out = copy.deepcopy(nb)
    sections: list[list] = [[]]
    for cell in out.cells:
        level = (heading(cell) or (0, ""))[0]
        if level in (1, 2) and sections[-1]:
            sections.append([])
        sections[-1].append(cell)
    is_ex = [bool(s) and (heading(s[0]) or (0, ""))[1].strip().lower().startswith(_EXERCISES) for s in sections]
    out.cells = [c for s, ex in zip(sections, is_ex, strict=True) if not ex for c in s] + [
        c for s, ex in zip(sections, is_ex, strict=True) if ex for c in s
    ]
    return out


# --------------------------------------------------------------------------------------------------
# One idea per slide: long prose split, long code shortened, figures on their own sub-slide, and a
# page break wherever a slide's estimated height would pass the 1280×720 canvas.

#: Prose budget per slide (words) and code budget per cell (lines) shown on a slide.
MAX_WORDS = 120
MAX_CODE_LINES = 25
#: Estimated content height a slide may hold (px on the 1280×720 canvas, margins excluded).
SLIDE_BUDGET_PX = 610
FIGURE_MAX_PX = 540  # the CSS below caps figures at this height
TEXT_OUTPUT_LINES = 14  # printed output shown on a slide (the rest: "see the notebook")
FIGURE_ONLY_TAG = "deck-figure-only"  # the figure half of a split code cell (its source is removed)
CONTINUED_TAG = "deck-continued"  # a cell that must open a new sub-slide (pagination)
ZOOM_STEPS = (0.9, 0.8, 0.7, 0.6, 0.5)  # a cell taller than a slide is shown at the first that fits
NOTES_TAG = "deck-notes"

_FENCE = re.compile(r"^\s*(```|~~~)")
_COLAB_BADGE = re.compile(r"^\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)\n*", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(*\"“])")


def _words(text: str) -> int:
    return len(re.findall(r"[\w$\\-]+", re.sub(r"\(([^)]*)\)\[[^\]]*\]|<[^>]+>", " ", text)))


def _blocks(source: str) -> list[str]:
    """Markdown split into blocks at blank lines, keeping fenced code, tables and lists whole."""
    blocks, current, fenced = [], [], False
    for line in source.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _split_block(block: str) -> list[str]:
    """A block over MAX_WORDS: a list at item boundaries, a paragraph at sentence boundaries."""
    if _words(block) <= MAX_WORDS or _FENCE.match(block) or block.lstrip().startswith("|"):
        return [block]
    lines = block.split("\n")
    if re.match(r"^\s*([-*+]|\d+\.)\s", lines[0]):
        items: list[list[str]] = []
        for line in lines:
            if re.match(r"^([-*+]|\d+\.)\s", line) or not items:
                items.append([line])
            else:
                items[-1].append(line)
        pieces = ["\n".join(i) for i in items]
    else:
        pieces = _SENTENCE_END.split(block)
    chunks, current = [], ""
    joiner = "\n" if len(pieces) and re.match(r"^\s*([-*+]|\d+\.)\s", pieces[0]) else " "
    budget = MAX_WORDS - 15  # room for the heading that may open the chunk
    for piece in pieces:
        if current and _words(current + " " + piece) > budget:
            chunks.append(current)
            current = piece
        else:
            current = f"{current}{joiner}{piece}" if current else piece
    chunks.append(current)
    return chunks


def split_prose(source: str) -> list[str]:
    """Markdown text as chunks of at most ``MAX_WORDS`` words each (blocks packed greedily, a heading
    stays with what follows it). A text within budget comes back as one chunk, unchanged."""
    if _words(source) <= MAX_WORDS:
        return [source]
    chunks, current = [], []
    for block in (b for blk in _blocks(source) for b in _split_block(blk)):
        size = sum(_words(b) for b in current)
        only_heading = all(_HEADING.match(b.strip()) for b in current)
        if current and not only_heading and size + _words(block) > MAX_WORDS:
            chunks.append("\n\n".join(current))
            current = []
        current.append(block)
    chunks.append("\n\n".join(current))
    return chunks


def shorten_code(source: str) -> str:
    """Code over ``MAX_CODE_LINES`` lines: its first lines and a pointer to the notebook for the rest."""
    lines = source.rstrip("\n").split("\n")
    if len(lines) <= MAX_CODE_LINES:
        return source
    keep = MAX_CODE_LINES - 1
    return "\n".join([*lines[:keep], f"# … {len(lines) - keep} more lines: see the notebook"])


def _png_size(data: str) -> tuple[int, int] | None:
    import base64
    import struct

    try:
        head = base64.b64decode(data[:48])
    except ValueError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":  # not a PNG we can size: assume the cap
        return None
    return struct.unpack(">II", head[16:24])


def _figure_px(output) -> float:
    size = _png_size(output.get("data", {}).get("image/png", ""))
    if size is None:
        return FIGURE_MAX_PX
    w, h = size
    # matplotlib's stored PNGs are at 2x for high-dpi screens when width > canvas
    return min(FIGURE_MAX_PX, h * min(1.0, 1180 / max(w, 1)))


def _text_lines(text: str, width: int) -> int:
    return sum(max(1, -(-len(line) // width)) for line in text.split("\n"))


def _markdown_px(text: str) -> float:
    px = 0.0
    for block in _blocks(text):
        first = block.strip().split("\n", 1)[0]
        if _HEADING.match(first):
            px += 62 + 34 * _text_lines(block.split("\n", 1)[1] if "\n" in block else "", 88)
        elif _FENCE.match(block):
            px += 24 + 21 * _text_lines(block, 118)
        else:
            px += 14 + 33 * _text_lines(block, 88)
    return px


def _output_px(output) -> float:
    data = output.get("data", {})
    if output.get("output_type") == "stream":
        return 12 + 20 * _text_lines(output.get("text", ""), 118)
    if any(m in data for m in _IMAGE_MIMES):
        return _figure_px(output) + 10
    if "text/markdown" in data:
        return _markdown_px(data["text/markdown"])
    if "text/html" in data:
        html = data["text/html"]
        rows = html.count("<tr")
        return 20 + 30 * rows if rows else 14 + 33 * _text_lines(re.sub(r"<[^>]+>", "", html), 88)
    if "text/plain" in data:
        return 12 + 20 * _text_lines(data["text/plain"], 118)
    return 0.0


def estimate_px(cell) -> float:
    """Rough height of a cell on the deck's canvas (px): the font sizes of the deck's CSS, wrapped lines."""
    if cell.cell_type == "markdown":
        return _markdown_px(cell.source)
    if cell.cell_type != "code":
        return 0.0
    px = 0.0 if FIGURE_ONLY_TAG in _tags(cell) else 26 + 21 * _text_lines(cell.source, 118)
    return px + sum(_output_px(o) for o in cell.get("outputs", []))


def _trim_markdown(text: str, budget_px: float) -> str:
    """Markdown output cut at a block boundary once it would pass ``budget_px``, with a pointer."""
    kept, used = [], 0.0
    blocks = _blocks(text)
    for block in blocks:
        if kept and used + _markdown_px(block) > budget_px:
            return "\n\n".join([*kept, f"*… {len(blocks) - len(kept)} more blocks: see the notebook.*"])
        kept.append(block)
        used += _markdown_px(block)
    return text


def _is_image(output) -> bool:
    return output.get("output_type") in ("display_data", "execute_result") and any(
        m in output.get("data", {}) for m in _IMAGE_MIMES
    )


def one_idea_per_slide(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` laid out for slides (before stamping): long prose split into several cells,
    long code shortened, long printed output cut, and every figure moved into a cell of its own (the
    code that drew it stays on the slide before). The notebook itself keeps the full text."""
    out = copy.deepcopy(nb)
    cells = []
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = _COLAB_BADGE.sub("", cell.source)  # a deck is presented, not opened in Colab
            for k, text in enumerate(split_prose(cell.source)):
                part = copy.deepcopy(cell)
                part.source = text
                if k:
                    part["id"] = f"{cell.get('id', 'md')}-p{k}"[:64]
                    part.metadata["tags"] = [*_tags(cell), CONTINUED_TAG]
                cells.append(part)
            continue
        if cell.cell_type != "code" or is_solution(cell):
            cells.append(cell)
            continue
        cell.source = shorten_code(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                lines = output.get("text", "").split("\n")
                if len(lines) > TEXT_OUTPUT_LINES + 1:
                    output["text"] = "\n".join([*lines[:TEXT_OUTPUT_LINES], "… (more output in the notebook)"])
            elif "text/markdown" in output.get("data", {}):
                output["data"]["text/markdown"] = _trim_markdown(output["data"]["text/markdown"], 1.4 * SLIDE_BUDGET_PX)
        figures = [o for o in cell.get("outputs", []) if _is_image(o)]
        if figures and cell.source.strip():
            cell.outputs = [o for o in cell.outputs if not _is_image(o)]
            cells.append(cell)
            for j, figure in enumerate(figures):
                fig = nbformat.v4.new_code_cell(source="", outputs=[figure])
                fig["id"] = f"{cell.get('id', 'code')}-f{j}"[:64]
                fig.metadata["tags"] = [FIGURE_ONLY_TAG]
                fig.source = "# figure"  # removed by the exporter (remove_input); keeps the cell non-empty
                cells.append(fig)
        else:
            cells.append(cell)
    out.cells = cells
    return out


def paginate(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of a stamped deck notebook where a new sub-slide starts wherever the content shown so far
    on the slide, plus the next cell, would pass ``SLIDE_BUDGET_PX`` (and at every continued text and
    every figure that follows other content)."""
    out = copy.deepcopy(nb)
    used = 0.0
    for cell in out.cells:
        kind = cell.metadata.get("slideshow", {}).get("slide_type", "-")
        if kind in ("skip", "notes"):
            continue
        height = estimate_px(cell)
        starts = kind in ("slide", "subslide")
        figure = FIGURE_ONLY_TAG in _tags(cell)
        if not starts and used > 0 and (used + height > SLIDE_BUDGET_PX or CONTINUED_TAG in _tags(cell) or figure):
            cell.metadata["slideshow"] = {**cell.metadata.get("slideshow", {}), "slide_type": "subslide"}
            starts = True
        if height > SLIDE_BUDGET_PX:  # one cell taller than a slide: shown smaller (see _DECK_CSS)
            zoom = max(ZOOM_STEPS[-1], next((z for z in ZOOM_STEPS if z * height <= SLIDE_BUDGET_PX), ZOOM_STEPS[-1]))
            cell.metadata["tags"] = [*_tags(cell), f"deck-zoom-{round(zoom * 100)}"]
            height *= zoom
        used = height if starts else used + height
    return out


# --------------------------------------------------------------------------------------------------
# Speaker notes, from the notebook itself and from docs/teaching_guide.md.

TEACHING_GUIDE = REPO / "docs" / "teaching_guide.md"


def guide_section(number: str, guide: str | None = None) -> dict[str, list[str] | str]:
    """The teaching guide's section for notebook ``number`` ("04"): class time, goal, discussion
    questions and mistakes, as plain strings (empty when the guide has no such section)."""
    text = guide if guide is not None else (TEACHING_GUIDE.read_text() if TEACHING_GUIDE.exists() else "")
    match = re.search(rf"(?ms)^## {re.escape(number)}\b.*?(?=^## |\Z)", text)
    body = match.group(0) if match else ""

    def field(name: str) -> str:
        m = re.search(rf"\*\*{name}:\*\*\s*(.*?)(?:\n\n|\Z)", body, re.S)
        return " ".join(m.group(1).split()) if m else ""

    def items(name: str) -> list[str]:
        m = re.search(rf"\*\*{name}\*\*\s*\n(.*?)(?:\n\n|\Z)", body, re.S)
        if not m:
            return []
        parts = re.split(r"(?m)^(?:\d+\.|-)\s+", m.group(1))
        return [" ".join(p.split()) for p in parts if p.strip()]

    return {
        "class_time": field("Class time"),
        "goal": field("Goal"),
        "questions": items("Discussion questions"),
        "mistakes": items("Mistakes learners make"),
    }


def _plain(markdown: str) -> str:
    text = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    text = re.sub(r"^#+\s*", "", text, flags=re.M)
    text = re.sub(r"^>\s?", "", text, flags=re.M)
    return " ".join(text.split())


def _sentences(text: str, n: int) -> str:
    """The first ``n`` sentences of a markdown text, without its heading line."""
    body = "\n".join(line for line in text.split("\n") if not _HEADING.match(line.strip()))
    parts = _SENTENCE_END.split(_plain(body))
    return " ".join(parts[:n]).strip()


def add_speaker_notes(nb: nbformat.NotebookNode, number: str, guide: str | None = None) -> nbformat.NotebookNode:
    """A copy of a stamped, paginated deck notebook with a speaker-notes cell on every slide.

    What the notes say, by slide: the title slide — class time and goal (teaching guide); a section
    slide — the question to put to the room first, then what to say (the section's *In an interview*
    box, else its opening sentences); a figure — ask for a prediction, then the reading that follows
    it in the notebook; a continued slide — the point of its text; the interview answer — the guide's
    discussion questions; the exercises — the mistakes learners make.
    """
    info = guide_section(number, guide)
    cells = list(copy.deepcopy(nb.cells))
    shown = [
        i for i, c in enumerate(cells) if c.metadata.get("slideshow", {}).get("slide_type") not in ("skip", "notes")
    ]
    starts = [i for i in shown if cells[i].metadata["slideshow"]["slide_type"] in ("slide", "subslide")]
    section_of: dict[int, int] = {}
    current = 0
    for i in shown:
        if cells[i].metadata["slideshow"]["slide_type"] == "slide":
            current = i
        section_of[i] = current
    notes_after: dict[int, str] = {}
    for n, i in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(cells)
        members = [j for j in shown if i <= j < end]
        cell = cells[i]
        title = heading(cell)
        section = section_of[i]
        sec_title = (heading(cells[section]) or (0, ""))[1].lower()
        after = [cells[j] for j in shown if j > members[-1] and cells[j].cell_type == "markdown"][:1]
        lines: list[str] = []
        if i == starts[0]:
            if info["class_time"]:
                lines.append(f"**Class time:** {info['class_time']}")
            if info["goal"]:
                lines.append(f"**Goal:** {info['goal']}")
            lines.append("Open with the interview question on this slide: ask two people how they would answer it now.")
        elif FIGURE_ONLY_TAG in _tags(cell):
            lines.append("Before the figure: ask what the class expects to see.")
            reading = [cells[j] for j in members if cells[j].cell_type == "markdown"] or after
            if reading:
                lines.append(f"Then: {_sentences(reading[0].source, 2)}")
        elif title and title[0] <= 2 and "interview answer" in title[1].lower():
            lines.append("Ask one learner to give the answer aloud in 90 seconds before you show it.")
            lines += [f"Discuss: {q}" for q in info["questions"]]
        elif title and title[0] <= 2 and title[1].lower().startswith(_EXERCISES):
            lines.append("Set the exercises; the checkers give hints, never the answers.")
            lines += [f"Watch for: {m}" for m in info["mistakes"]]
        else:
            prose = [cells[j] for j in members if cells[j].cell_type == "markdown"]
            box = next(
                (
                    cells[j]
                    for j in shown
                    if section_of.get(j) == section and "in an interview" in cells[j].source.lower()
                ),
                None,
            )
            if title and title[0] <= 2:
                lines.append(f"Ask first: {title[1]} What would you answer?")
            said = next((t for t in (_sentences(c.source, 2) for c in prose) if t), "")
            if said:
                lines.append(f"Say: {said}")
            if box is not None and box is not (prose[0] if prose else None):
                lines.append(f"Interview line: {_sentences(box.source, 2)}")
            code = [
                cells[j] for j in members if cells[j].cell_type == "code" and FIGURE_ONLY_TAG not in _tags(cells[j])
            ]
            if code:
                lines.append("Run the cell live if there is time; ask what the printed numbers mean before reading on.")
            if not lines:
                lines.append(f"Continue {sec_title or 'the section'}.")
        notes_after[members[-1]] = "\n\n".join(lines)
    out_cells = []
    for i, cell in enumerate(cells):
        out_cells.append(cell)
        if i in notes_after:
            note = nbformat.v4.new_markdown_cell(notes_after[i])
            note["id"] = f"{cell.get('id', 'c')}-n"[:64]
            note.metadata["tags"] = [NOTES_TAG]
            note.metadata["slideshow"] = {"slide_type": "notes"}
            out_cells.append(note)
    out = copy.deepcopy(nb)
    out.cells = out_cells
    return out


def deck_notebook(nb: nbformat.NotebookNode, number: str = "", guide: str | None = None) -> nbformat.NotebookNode:
    """The in-memory notebook a deck is rendered from: headings split, exercises last, one idea per
    slide, stamped, paginated, with speaker notes (``number`` picks the teaching guide's section)."""
    stamped = stamp(one_idea_per_slide(exercises_last(split_headings(nb))))
    return add_speaker_notes(paginate(stamped), number, guide)


# --------------------------------------------------------------------------------------------------
# The deck template: nbconvert's reveal template, with reveal.js and KaTeX inlined from vendor/.

VENDOR = REPO / "vendor"
REVEAL_FILES = ("dist/reveal.css", "dist/theme/white.css", "dist/reveal.js", "dist/plugin/notes.js")
KATEX_FILES = ("katex.min.css", "katex.min.js", "contrib/auto-render.min.js")

_DECK_CSS = (
    """
html:not(.reveal-print), html:not(.reveal-print) body, html:not(.reveal-print) main { height: 100%; margin: 0; }
html:not(.reveal-print) .reveal { height: 100%; }
.reveal { font-size: 24px; }
.reveal .slides { text-align: left; }
.reveal .slides section { box-sizing: border-box; padding: 8px 24px; }
.reveal h1 { font-size: 46px; } .reveal h2 { font-size: 38px; } .reveal h3 { font-size: 30px; }
.reveal h1, .reveal h2, .reveal h3 { text-transform: none; margin: 0 0 14px 0; line-height: 1.15; }
.reveal p, .reveal li { line-height: 1.35; margin: 0 0 10px 0; }
.reveal ul, .reveal ol { display: block; margin-left: 1.1em; }
.reveal img { max-width: 100%; max-height: """
    + str(FIGURE_MAX_PX)
    + """px; height: auto; margin: 0 auto; display: block; }
.reveal pre, .reveal .highlight pre { font-size: 15px; line-height: 1.4; white-space: pre-wrap;
  word-break: break-word; box-shadow: none; margin: 4px 0; width: 100%; }
.reveal .jp-OutputArea-output pre { font-size: 14px; line-height: 1.4; }
.reveal table { font-size: 18px; }
.reveal .jp-InputPrompt, .reveal .jp-OutputPrompt { display: none; }
.reveal .jp-Cell, .reveal .jp-InputArea, .reveal .jp-OutputArea, .reveal .highlight, .reveal pre,
.reveal .jp-RenderedHTMLCommon, .reveal .jp-OutputArea-output { box-sizing: border-box; max-width: 100%; }
.reveal .katex { font-size: 1.05em; }
a.anchor-link { display: none; }
.jp-Notebook { padding: 0; }
"""
    + "\n".join(f".reveal .celltag_deck-zoom-{round(z * 100)} {{ zoom: {z}; }}" for z in ZOOM_STEPS)
    + """
:root { --jp-cell-prompt-width: 0px; --jp-code-font-size: 15px; --jp-content-font-size1: 24px; }
"""
)


def _read_vendor(rel: str) -> str:
    path = VENDOR / rel
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: the decks inline reveal.js and KaTeX from vendor/ (see vendor/README.md)"
        )
    return path.read_text(encoding="utf-8")


def _katex_css() -> str:
    """KaTeX's stylesheet with its fonts inlined as data: URLs, so a deck is one file."""
    import base64

    css = _read_vendor("katex/katex.min.css")

    def inline(match: re.Match) -> str:
        font = VENDOR / "katex" / match.group(1)
        return f"url(data:font/woff2;base64,{base64.b64encode(font.read_bytes()).decode('ascii')})"

    return re.sub(r"url\((fonts/[^)]+\.woff2)\)", inline, css)


def _inline_script(code: str) -> str:
    return code.replace("</script", "<\\/script")


_INIT_JS = r"""
renderMathInElement(document.querySelector(".reveal .slides"), {
  delimiters: [
    {left: "$$", right: "$$", display: true}, {left: "\\[", right: "\\]", display: true},
    {left: "$", right: "$", display: false}, {left: "\\(", right: "\\)", display: false}
  ],
  ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
  throwOnError: false
});
Reveal.initialize({
  hash: true, width: 1280, height: 720, margin: 0.03, center: false, transition: "none",
  controls: true, progress: true, slideNumber: "h.v", showNotes: false, pdfMaxPagesPerSlide: 1,
  navigationMode: "linear",
  plugins: [RevealNotes]
});
"""


def _template() -> str:
    styles = "\n".join(f"<style>{_read_vendor('reveal.js/' + f)}</style>" for f in REVEAL_FILES[:2])
    styles += f"\n<style>{_katex_css()}</style>"
    scripts = "\n".join(
        f"<script>{_inline_script(_read_vendor(rel))}</script>"
        for rel in (
            "reveal.js/dist/reveal.js",
            "reveal.js/dist/plugin/notes.js",
            "katex/katex.min.js",
            "katex/contrib/auto-render.min.js",
        )
    )
    return (
        """{%- extends 'reveal/index.html.j2' -%}
{%- block header -%}
<!DOCTYPE html>
<html lang="{{ resources.language_code }}">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
{% set nb_title = nb.metadata.get('title', resources['metadata']['name']) | escape_html_keep_quotes %}
<title>{{ nb_title }} slides</title>
{% raw %}"""
        + styles
        + """{% endraw %}
{% for css in resources.inlining.css -%}
<style type="text/css">
{{ css }}
</style>
{% endfor %}
{{ resources.include_css("static/index.css") }}
{{ resources.include_css("static/theme-light.css") }}
<style type="text/css">{% raw %}"""
        + _DECK_CSS
        + """{% endraw %}</style>
</head>
{%- endblock header -%}

{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<main>
<div class="reveal">
<div class="slides">
{%- endblock body_header -%}

{% block footer %}
{% raw %}"""
        + scripts
        + "\n<script>"
        + _INIT_JS
        + """</script>{% endraw %}
</html>
{% endblock footer %}
"""
    )


def make_exporter():
    """A configured ``SlidesExporter`` that writes self-contained reveal.js decks (no remote resource)."""
    from jinja2 import DictLoader
    from nbconvert.exporters import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.embed_images = True
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_input_tags = {FIGURE_ONLY_TAG}
    exporter = SlidesExporter(config=config, extra_loaders=[DictLoader({"course_deck.html.j2": _template()})])
    exporter.template_file = "course_deck.html.j2"
    return exporter


_NB_LINK = re.compile(r'href="((?:\./)?([0-9][0-9]_[A-Za-z0-9_]+))\.ipynb(#[^"]*)?"')


def _link_decks(html: str, available: Iterable[str]) -> str:
    """Point links to other notebooks at their decks (``01_x.ipynb`` → ``01_x.slides.html``)."""
    names = set(available)

    def swap(match: re.Match) -> str:
        if match.group(2) not in names:
            return match.group(0)
        return f'href="{match.group(1)}.slides.html{match.group(3) or ""}"'

    return _NB_LINK.sub(swap, html)


def build_deck(path: str | Path, out_dir: str | Path = DEFAULT_OUT) -> Path:
    """Render one notebook's deck to ``out_dir/<name>.slides.html`` and return its path.

    The notebook file is read, never written. The deck inlines reveal.js, KaTeX and its figures, so it
    is one file that opens offline.
    """
    path, out_dir = Path(path), Path(out_dir)
    nb = nbformat.read(path, as_version=4)
    exporter = make_exporter()
    resources = {"metadata": {"name": path.stem, "path": str(path.parent)}}
    html, _ = exporter.from_notebook_node(deck_notebook(nb, path.stem[:2]), resources=resources)
    html = _link_decks(html, (p.stem for p in path.parent.glob(NOTEBOOK_GLOB)))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.slides.html"
    target.write_text(html, encoding="utf-8")
    return target


def write_pdf(deck: str | Path, chromium: str | Path = "/usr/bin/chromium") -> Path:
    """Print ``deck`` to ``<deck>.pdf`` (one 1280×720 page per slide, fragments shown) with reveal.js's
    print view in headless Chromium (Playwright drives Debian's browser; nothing is downloaded)."""
    from playwright.sync_api import sync_playwright

    deck = Path(deck).resolve()  # a file URI needs an absolute path (`make slides` passes a relative --out)
    target = deck.with_suffix("").with_suffix(".pdf")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(deck.as_uri() + "?print-pdf")
            page.wait_for_function("window.Reveal && Reveal.isReady()")
            page.wait_for_timeout(300)
            page.pdf(path=str(target), width="1280px", height="720px", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
    return target


def build(
    paths: Sequence[str | Path] | None = None, out_dir: str | Path = DEFAULT_OUT, *, pdf: bool = False
) -> list[Path]:
    """Build a deck for every notebook (or for ``paths``); with ``pdf``, print each to PDF too."""
    decks = [build_deck(p, out_dir) for p in notebook_paths(paths)]
    if pdf:
        for deck in decks:
            write_pdf(deck)
    return decks


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_stamp = sub.add_parser("stamp", help="write slide metadata into the notebooks (metadata only)")
    p_stamp.add_argument("--check", action="store_true", help="only report notebooks whose metadata would change")
    p_stamp.add_argument("notebooks", nargs="*")
    p_build = sub.add_parser("build", help="build one offline HTML deck per notebook")
    p_build.add_argument("--out", default=str(DEFAULT_OUT))
    p_build.add_argument("--pdf", action="store_true", help="also print each deck to PDF (needs Chromium)")
    p_build.add_argument("notebooks", nargs="*")
    args = parser.parse_args(argv)

    if args.command == "stamp":
        return report_rewrites(args.notebooks, stamp_file, check=args.check, done="stamped", pending="would change")
    decks = build(args.notebooks, args.out, pdf=args.pdf)
    for deck in decks:
        print(f"wrote {deck} ({deck.stat().st_size / 1e6:.1f} MB)")
    if not decks:
        print("no notebooks found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
