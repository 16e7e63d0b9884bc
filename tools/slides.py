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
import shutil
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = REPO / "notebooks"
DEFAULT_OUT = REPO / "build" / "slides"
NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
SOLUTION_TAG = "solution"
OVERRIDE_TAGS = {"slides-skip": "skip", "slides-notes": "notes"}

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FIGURE_CALL = re.compile(r"\bplt\.show\(|\bplotting\.\w+\(|\bwidgets\.(?:explorer|reveal)\(|\bdisplay\(")
_EXERCISES = "exercise"  # "## Exercises", "## Exercises (self-checking)", ...
_IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")


def notebook_paths(paths: Sequence[str | Path] | None = None) -> list[Path]:
    """The notebooks to act on: ``paths`` as given, or every ``notebooks/NN_*.ipynb`` in order."""
    if paths:
        found = [Path(p) for p in paths]
        missing = [str(p) for p in found if not p.is_file()]
        if missing:
            raise FileNotFoundError(f"notebooks: expected existing .ipynb files, these do not exist: {missing}")
        return found
    return sorted(NOTEBOOK_DIR.glob(NOTEBOOK_GLOB))


def heading(cell) -> tuple[int, str] | None:
    """``(level, text)`` of the markdown heading a cell opens with, or None (code, or no heading first)."""
    if cell.cell_type != "markdown":
        return None
    for line in cell.source.splitlines():
        if line.strip():
            match = _HEADING.match(line.strip())
            return (len(match.group(1)), match.group(2)) if match else None
    return None


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def is_solution(cell) -> bool:
    """True for a model-solution cell (tag ``solution``), the cells the student copy removes."""
    return SOLUTION_TAG in _tags(cell)


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
    first_code = next((i for i, c in enumerate(out.cells) if c.cell_type == "code" and not is_solution(c)), None)
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


def deck_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The in-memory notebook a deck is rendered from: headings split, exercises last, stamped."""
    return stamp(exercises_last(split_headings(nb)))


# --------------------------------------------------------------------------------------------------
# The deck template: nbconvert's reveal template with every remote <script>/<link> replaced.

_PRESENTER_CSS = """
html, body { margin: 0; height: 100%; overflow: hidden; background: #fff; }
.reveal { position: fixed; inset: 0; }
.reveal .slides > section, .reveal .slides > section > section { display: none; }
.reveal .slides > section.present, .reveal .slides > section > section.present { display: block; }
.reveal .slides > section > section.present {
  position: absolute; inset: 0 0 2.2rem 0; overflow-y: auto; box-sizing: border-box;
  padding: 2rem max(3rem, calc((100vw - 1150px) / 2));
}
.reveal img { max-width: 100%; max-height: 62vh; height: auto; }
/* long code scrolls in its box, so the figure below it stays on screen */
.reveal .jp-InputArea-editor { display: block; max-height: 30vh; overflow: auto; }
.reveal .fragment { opacity: 0; transition: opacity 0.25s; }
.reveal .fragment.visible { opacity: 1; }
.reveal aside.notes { display: none; }
body.show-notes .reveal aside.notes { display: block; border-left: 4px solid #e8a33d; background: #fff8e6;
  padding: 0.5rem 1rem; margin-top: 1rem; }
.deck-bar { position: fixed; left: 0; right: 0; bottom: 0; height: 2.2rem; display: flex; align-items: center;
  gap: 0.4rem; padding: 0 1rem; font: 14px sans-serif; color: #555; background: rgba(255,255,255,0.92); }
.deck-bar button { font: 16px sans-serif; border: 1px solid #ccc; background: #fafafa; border-radius: 4px;
  cursor: pointer; min-width: 2rem; }
.deck-bar .deck-count { margin-left: auto; }
.deck-progress { position: fixed; left: 0; top: 0; height: 4px; background: #2a76dd; width: 0; }
@media print {
  html, body { overflow: visible; height: auto; }
  .reveal { position: static; }
  .reveal .slides > section, .reveal .slides > section > section { display: block !important;
    position: static !important; overflow: visible !important; page-break-after: always; }
  .reveal .fragment { opacity: 1; }
  .deck-bar, .deck-progress { display: none; }
}
"""

_PRESENTER_JS = """
(function () {
  "use strict";
  var root = document.querySelector(".reveal .slides");
  function kids(el) {
    return Array.prototype.filter.call(el.children, function (c) { return c.tagName === "SECTION"; });
  }
  var stacks = kids(root), pages = [];
  stacks.forEach(function (stack, h) {
    var inner = kids(stack);
    (inner.length ? inner : [stack]).forEach(function (el, v) {
      pages.push({ h: h, v: v, el: el, stack: stack, frags: el.querySelectorAll(".fragment") });
    });
  });
  var bar = document.createElement("div"), progress = document.createElement("div");
  bar.className = "deck-bar"; progress.className = "deck-progress";
  bar.innerHTML = '<button data-go="prev" title="previous (left)">&#9664;</button>' +
    '<button data-go="up" title="up">&#9650;</button><button data-go="down" title="down">&#9660;</button>' +
    '<button data-go="next" title="next (right, space)">&#9654;</button>' +
    '<button data-go="notes" title="speaker notes (s)">notes</button><span class="deck-count"></span>';
  document.body.appendChild(bar); document.body.appendChild(progress);
  var count = bar.querySelector(".deck-count"), index = 0, shown = 0;

  function show(i, f) {
    if (!pages.length) { return; }
    index = Math.max(0, Math.min(pages.length - 1, i));
    var page = pages[index];
    shown = Math.max(0, Math.min(page.frags.length, f));
    pages.forEach(function (p) { p.el.classList.remove("present"); p.stack.classList.remove("present"); });
    page.stack.classList.add("present"); page.el.classList.add("present");
    Array.prototype.forEach.call(page.frags, function (el, k) { el.classList.toggle("visible", k < shown); });
    count.textContent = (page.h + 1) + "." + (page.v + 1) + "  /  " + stacks.length;
    progress.style.width = (100 * (index + 1) / pages.length) + "%";
    var hash = "#/" + page.h + "/" + page.v;
    if (location.hash !== hash) { history.replaceState(null, "", hash); }
  }
  function find(h, v) {
    for (var k = 0; k < pages.length; k++) { if (pages[k].h === h && pages[k].v === v) { return k; } }
    return -1;
  }
  function next() {
    if (shown < pages[index].frags.length) { show(index, shown + 1); } else { show(index + 1, 0); }
  }
  function prev() {
    if (shown > 0) { show(index, shown - 1); } else if (index > 0) { show(index - 1, 1e9); }
  }
  function vertical(step) {
    var k = find(pages[index].h, pages[index].v + step);
    if (k >= 0) { show(k, step < 0 ? 1e9 : 0); }
  }
  function fromHash() {
    var m = /^#\\/(\\d+)(?:\\/(\\d+))?/.exec(location.hash);
    var k = m ? find(+m[1], +(m[2] || 0)) : -1;
    if (k < 0 && location.hash.length > 1) {  // a link to a heading: go to the slide that holds it
      var target = document.getElementById(decodeURIComponent(location.hash.slice(1)));
      for (var j = 0; target && j < pages.length; j++) {
        if (pages[j].el.contains(target)) { k = j; break; }
      }
    }
    show(k >= 0 ? k : index, 0);
  }
  var actions = {
    next: next, prev: prev, up: function () { vertical(-1); }, down: function () { vertical(1); },
    notes: function () { document.body.classList.toggle("show-notes"); }
  };
  bar.addEventListener("click", function (e) {
    var go = e.target.getAttribute("data-go");
    if (go) { actions[go](); }
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) { return; }
    var key = e.key, handled = true;
    if (key === "ArrowRight" || key === " " || key === "PageDown" || key === "n") { next(); }
    else if (key === "ArrowLeft" || key === "PageUp" || key === "p" || key === "Backspace") { prev(); }
    else if (key === "ArrowDown") { actions.down(); }
    else if (key === "ArrowUp") { actions.up(); }
    else if (key === "Home") { show(0, 0); }
    else if (key === "End") { show(pages.length - 1, 1e9); }
    else if (key === "s") { actions.notes(); }
    else if (key === "f" && document.documentElement.requestFullscreen) {
      document.documentElement.requestFullscreen();
    }
    else { handled = false; }
    if (handled) { e.preventDefault(); }
  });
  window.addEventListener("hashchange", fromHash);
  window.deck = { pages: pages, show: show, next: next, prev: prev,
                  current: function () { return [index, shown]; } };
  fromHash();
})();
"""

_TEMPLATE = (
    """{%- extends 'reveal/index.html.j2' -%}
{%- set local_reveal = resources.course_deck.reveal_url_prefix -%}

{%- block header -%}
<!DOCTYPE html>
<html lang="{{ resources.language_code }}">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
{% set nb_title = nb.metadata.get('title', resources['metadata']['name']) | escape_html_keep_quotes %}
<title>{{ nb_title }} slides</title>
{%- if local_reveal %}
<link rel="stylesheet" href="{{ local_reveal }}/dist/reveal.css">
<link rel="stylesheet" href="{{ local_reveal }}/dist/theme/white.css" id="theme">
{%- endif %}
{% for css in resources.inlining.css -%}
<style type="text/css">
{{ css }}
</style>
{% endfor %}
{{ resources.include_css("static/index.css") }}
{{ resources.include_css("static/theme-light.css") }}
<style type="text/css">
a.anchor-link { display: none; }
.highlight { margin: 0.4em; }
.jp-Notebook { padding: 0; }
:root {
  --jp-ui-font-size1: 20px;
  --jp-content-font-size1: 20px;
  --jp-code-font-size: 17px;
  --jp-cell-prompt-width: 0px;
}
</style>
{{ resources.include_css("static/custom_reveal.css") }}
{%- if not local_reveal %}
<style type="text/css">"""
    + _PRESENTER_CSS
    + """</style>
{%- endif %}
</head>
{%- endblock header -%}

{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<main>
<div class="reveal">
<div class="slides">
{%- endblock body_header -%}

{% block footer %}
{%- if local_reveal %}
<script src="{{ local_reveal }}/dist/reveal.js"></script>
<script src="{{ local_reveal }}/plugin/notes/notes.js"></script>
<script>
Reveal.initialize({controls: true, progress: true, history: true, transition: "slide",
                   plugins: [RevealNotes], width: 1100, height: 760});
</script>
{%- else %}
<script>"""
    + _PRESENTER_JS
    + """</script>
{%- endif %}
</html>
{% endblock footer %}
"""
)


def make_exporter(*, reveal_url_prefix: str = ""):
    """A configured ``SlidesExporter`` that writes self-contained decks (no remote resource)."""
    from jinja2 import DictLoader
    from nbconvert.exporters import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.reveal_url_prefix = reveal_url_prefix
    config.SlidesExporter.embed_images = True
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    exporter = SlidesExporter(config=config, extra_loaders=[DictLoader({"course_deck.html.j2": _TEMPLATE})])
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


def vendor_reveal(reveal_js: str | Path, out_dir: str | Path) -> str:
    """Copy a local reveal.js release's ``dist/`` and ``plugin/`` into ``out_dir/reveal.js``.

    Returns the relative URL prefix the decks use. Raises ``FileNotFoundError`` naming what is missing.
    """
    src, dest = Path(reveal_js), Path(out_dir) / "reveal.js"
    needed = [src / "dist" / "reveal.js", src / "dist" / "reveal.css", src / "plugin" / "notes" / "notes.js"]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"reveal_js: expected a reveal.js 4 release folder, missing {missing}")
    if dest.exists():
        shutil.rmtree(dest)
    for part in ("dist", "plugin"):
        shutil.copytree(src / part, dest / part)
    return "reveal.js"


def build_deck(path: str | Path, out_dir: str | Path = DEFAULT_OUT, *, reveal_url_prefix: str = "") -> Path:
    """Render one notebook's deck to ``out_dir/<name>.slides.html`` and return its path.

    The notebook file is read, never written. The deck embeds its figures and (unless
    ``reveal_url_prefix`` names a local reveal.js copy) its presenter, so it opens offline.
    """
    path, out_dir = Path(path), Path(out_dir)
    nb = nbformat.read(path, as_version=4)
    exporter = make_exporter(reveal_url_prefix=reveal_url_prefix)
    resources = {
        "metadata": {"name": path.stem, "path": str(path.parent)},
        "course_deck": {"reveal_url_prefix": reveal_url_prefix},
    }
    html, _ = exporter.from_notebook_node(deck_notebook(nb), resources=resources)
    html = _link_decks(html, (p.stem for p in path.parent.glob(NOTEBOOK_GLOB)))
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{path.stem}.slides.html"
    target.write_text(html, encoding="utf-8")
    return target


def build(
    paths: Sequence[str | Path] | None = None, out_dir: str | Path = DEFAULT_OUT, *, reveal_js: str | Path | None = None
) -> list[Path]:
    """Build a deck for every notebook (or for ``paths``); with ``reveal_js``, vendor and use reveal.js."""
    prefix = vendor_reveal(reveal_js, out_dir) if reveal_js else ""
    return [build_deck(p, out_dir, reveal_url_prefix=prefix) for p in notebook_paths(paths)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_stamp = sub.add_parser("stamp", help="write slide metadata into the notebooks (metadata only)")
    p_stamp.add_argument("--check", action="store_true", help="only report notebooks whose metadata would change")
    p_stamp.add_argument("notebooks", nargs="*")
    p_build = sub.add_parser("build", help="build one offline HTML deck per notebook")
    p_build.add_argument("--out", default=str(DEFAULT_OUT))
    p_build.add_argument("--reveal-js", default=None, help="a local reveal.js 4 release folder to use and vendor")
    p_build.add_argument("notebooks", nargs="*")
    args = parser.parse_args(argv)

    if args.command == "stamp":
        changed = [p for p in notebook_paths(args.notebooks) if stamp_file(p, check=args.check)]
        verb = "would change" if args.check else "stamped"
        for p in changed:
            print(f"{verb}: {p}")
        return 1 if (args.check and changed) else 0
    decks = build(args.notebooks, args.out, reveal_js=args.reveal_js or None)
    for deck in decks:
        print(f"wrote {deck} ({deck.stat().st_size / 1e6:.1f} MB)")
    if not decks:
        print("no notebooks found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
