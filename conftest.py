"""Root pytest hooks for nbval runs.

* Print each notebook's total run time after an nbval run.
* Compare checked cells that declare ``# tolerance ±x`` within that tolerance (``lessonlib/dev/checked_output.py``
  says why trained-model numbers need one); every other checked cell is compared exactly, as nbval does.
"""

import copy
from collections import defaultdict

from lessonlib.dev import checked_output

_NOTEBOOK_SECONDS: dict[str, float] = defaultdict(float)


def _text(value):
    return "".join(value) if isinstance(value, list) else value


def _accept_within_tolerance(test_outputs, ref_outputs, tolerance):
    """Copies of ``test_outputs`` in which every text that agrees with its stored counterpart within
    ``tolerance`` is replaced by the stored text, so nbval's exact comparison passes for it and still
    fails, with its usual diff, for anything that moved further."""
    out = copy.deepcopy(test_outputs)
    for new, old in zip(out, ref_outputs, strict=False):
        if new.get("output_type") != old.get("output_type"):
            continue
        if new.get("output_type") == "stream":
            if new.get("name") == old.get("name") and checked_output.agree(
                _text(old.get("text", "")), _text(new.get("text", "")), tolerance
            ):
                new["text"] = old.get("text", "")
        elif "data" in new and "data" in old:
            for mime, value in new["data"].items():
                stored = old["data"].get(mime)
                if isinstance(stored, (str, list)) and isinstance(value, (str, list)):
                    if checked_output.agree(_text(stored), _text(value), tolerance):
                        new["data"][mime] = stored
    return out


def pytest_configure(config):
    if not config.pluginmanager.hasplugin("nbval"):
        return
    from nbval.plugin import IPyNbCell

    if getattr(IPyNbCell.compare_outputs, "_tolerant", False):
        return
    exact = IPyNbCell.compare_outputs

    def compare_outputs(self, test, ref, skip_compare=None):
        tolerance = checked_output.tolerance_of(_text(self.cell.source))
        if tolerance > 0:
            test = _accept_within_tolerance(test, ref, tolerance)
        return exact(self, test, ref, skip_compare)

    compare_outputs._tolerant = True
    IPyNbCell.compare_outputs = compare_outputs


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::", 1)[0]
    if path.endswith(".ipynb"):
        _NOTEBOOK_SECONDS[path] += report.duration


def pytest_terminal_summary(terminalreporter):
    if not _NOTEBOOK_SECONDS:
        return
    terminalreporter.section("notebook run times")
    for path, seconds in sorted(_NOTEBOOK_SECONDS.items()):
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}")
    terminalreporter.write_line(f"{sum(_NOTEBOOK_SECONDS.values()):7.1f} s  total")
