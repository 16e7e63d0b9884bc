"""lessonlib: the helper package behind the data-augmentation interview course.

Notebooks import it so they stay prose, short code and figures. One module per concern (the map
with the import direction is in CONTRIBUTING.md): ``utils`` (devices, generators, validation),
``data`` (real data sets), ``plotting``, ``widgets``; the technique modules (``geometric``,
``presets``, ``mixing``, ``tta``, ``ecg``, ``tabular``, ``policies``, ``robustness``); ``augment``
(every ``augment(x, y, generator)`` adapter for ``fit``); ``models``, ``metrics``, ``training``
(``fit``/``evaluate``) and ``experiments`` (seeds, learning curves); the lesson pieces
(``regularisation``, ``calibration``, ``evaluation``, ``selfsup``); ``exercises`` and ``quiz``.
``reference`` holds one short textbook function per technique (what a learner reads, and the oracle
the fast modules are tested against); ``show_source`` shows one on the page.
``review`` holds deliberately buggy code for the code-review notebook and is imported by nothing
else; ``dev`` serves ``tools/`` and the test hooks only.
"""

from lessonlib.sources import show_source
from lessonlib.utils import device, make_generator, seeded

__version__ = "0.1.0"
__all__ = ["device", "make_generator", "seeded", "show_source", "__version__"]
