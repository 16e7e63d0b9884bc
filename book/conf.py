"""Sphinx configuration of the course's book site (`make book`).

The source folder is the repository root (``sphinx-build -c book . build/book``) so that the notebooks,
the README and docs/ are read where they are; ``include_patterns`` picks exactly those. Notebooks are
rendered from their stored outputs (``nb_execution_mode = "off"``): the book shows what GitHub shows,
and building it needs no kernel. Everything the pages load is on disk: the theme's own assets, KaTeX
from ``vendor/katex`` (math), and Sphinx's search index — the site works with the network off.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))  # `tools.course` holds the repository's address

from tools.course import REPOSITORY  # noqa: E402

project = "Data augmentation for deep learning — an interview-prep course"
author = "The augmentation course authors"
copyright = "2026, " + author

root_doc = "README"  # the landing page is the README; navigation is added below (`_navigation`)
include_patterns = [
    "README.md",
    "lessonlib/data_files/README.md",
    "notebooks/[0-9][0-9]_*.ipynb",
    "docs/glossary.md",
    "docs/references.md",
    "docs/teaching_guide.md",
    "docs/cheatsheet.md",
]
exclude_patterns = ["build", ".venv", "**/.ipynb_checkpoints"]

extensions = ["myst_nb", "sphinxcontrib.katex"]

# Notebooks: stored outputs only, never executed here.
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN: the stored outputs are static figures
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header", "mystnb.unknown_mime_type"]

# Math: KaTeX, all files local (sphinxcontrib-katex ships the JavaScript; the CSS and fonts are vendored).
katex_css_path = "katex.min.css"
html_static_path = [str(REPO / "vendor" / "katex")]

html_theme = "sphinx_book_theme"
html_title = "Data augmentation — interview prep"
html_theme_options = {
    "repository_url": f"https://github.com/{REPOSITORY}",
    "path_to_docs": ".",
    "use_repository_button": False,
    "use_download_button": True,
    "show_toc_level": 2,
    "navigation_with_keys": True,
}
html_extra_path = [str(HERE / "extra")]  # index.html at the site's root forwards to the landing page
html_last_updated_fmt = None
html_copy_source = False


# The README stays plain GitHub Markdown; the book's navigation is appended to it only here.
_NAVIGATION = """

```{toctree}
:hidden:
:maxdepth: 1
:caption: Chapters
:glob:

notebooks/*
```

```{toctree}
:hidden:
:maxdepth: 1
:caption: Reference

docs/cheatsheet
docs/glossary
docs/references
docs/teaching_guide
lessonlib/data_files/README
```
"""


def _navigation(app, docname, source):
    if docname == root_doc:
        source[0] += _NAVIGATION


def setup(app):
    app.connect("source-read", _navigation)
