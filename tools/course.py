"""Where the course is published, in one place: the GitHub repository and the links built from it.

A fork changes ``REPOSITORY`` here (or sets ``COURSE_REPOSITORY=owner/name`` when building) and every
Colab badge, Binder badge, notebook install cell and book link follows (``python tools/colab.py``
re-stamps the notebooks).
"""

from __future__ import annotations

import os

#: ``owner/name`` of the course's GitHub repository.
REPOSITORY = os.environ.get("COURSE_REPOSITORY", "augmentation-course/augmentation-interview-course")
BRANCH = "main"


def colab_url(notebook: str) -> str:
    """The Colab address that opens ``notebooks/<notebook>`` from the repository's main branch."""
    name = notebook.rsplit("/", 1)[-1]
    return f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/notebooks/{name}"


def binder_url() -> str:
    """The Binder address that builds the repository (environment.yml) and opens JupyterLab."""
    return f"https://mybinder.org/v2/gh/{REPOSITORY}/{BRANCH}?urlpath=lab/tree/notebooks"


def install_source() -> str:
    """What the notebooks' first cell installs when lessonlib is missing (a pip requirement)."""
    return f"lessonlib @ git+https://github.com/{REPOSITORY}@{BRANCH}"
