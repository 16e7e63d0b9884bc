"""lessonlib: the helper package behind the data-augmentation interview course.

Notebooks import it so they stay prose, short code and figures. One module per concern:
``data`` (real data sets), ``plotting``, ``widgets``, ``training``, ``exercises`` and the technique
modules (``presets``, ``ecg``, ``tabular``, ``mixing``, ``tta``). ``review`` holds deliberately buggy
code for the code-review notebook and is imported by nothing else.
"""

from lessonlib.utils import device, make_generator, seeded

__version__ = "0.1.0"
__all__ = ["device", "make_generator", "seeded", "__version__"]
