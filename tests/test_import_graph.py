"""The import graph of lessonlib stays one-way: no cycles, leaves stay leaves (CONTRIBUTING.md's map).

Edges are read from the source (``ast``), module-level and function-level imports alike, so a cycle
hidden in a late import is caught too. No module keeps a forwarding address: a module-level
``__getattr__`` (a lazy re-export, which would hide an edge from this graph) is refused outright
(``test_no_module_has_a_lazy_reexport``), and ``training`` re-exports nothing.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "lessonlib"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(node: ast.ImportFrom, here: str) -> str | None:
    if node.level:  # relative import
        base = here.split(".")
        if not MODULES[here].name == "__init__.py":
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join(base + ([node.module] if node.module else []))
    return node.module


def _imports(name: str) -> set[str]:
    tree = ast.parse(MODULES[name].read_text())
    out: set[str] = set()
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mod = _resolve(node, name)
            if mod is None:
                continue
            targets = [mod]
            targets += [f"{mod}.{a.name}" for a in node.names if f"{mod}.{a.name}" in MODULES]
        for t in targets:
            if t in MODULES and t != name:
                out.add(t)
    # "from lessonlib import data" is an edge to lessonlib.data; the package itself only when a
    # name that is not a submodule comes from it
    return out


GRAPH = {name: _imports(name) for name in MODULES}


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in sorted(GRAPH[n]):
            if state.get(m) == 1:
                return stack[stack.index(m) :] + [m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(GRAPH):
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def test_no_import_cycles():
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_utils_is_the_root_and_leaves_stay_leaves():
    assert GRAPH["lessonlib.utils"] == set()
    assert GRAPH["lessonlib.data"] <= {"lessonlib.utils"}
    assert GRAPH["lessonlib.models"] <= {"lessonlib.utils"}
    assert GRAPH["lessonlib.metrics"] <= {"lessonlib.utils", "lessonlib.models"}
    assert GRAPH["lessonlib.plotting"] <= {"lessonlib.utils", "lessonlib.metrics"}
    assert GRAPH["lessonlib.widgets"] <= {"lessonlib.utils"}
    for dev in ("lessonlib.dev.checked_output", "lessonlib.dev.notebook_files"):
        assert GRAPH[dev] == set(), f"{dev} is for tools and tests; it imports nothing from lessonlib"


@pytest.mark.parametrize(
    "technique", ["mixing", "tta", "geometric", "presets", "ecg", "tabular", "policy_spaces", "dense", "volumes"]
)
def test_technique_modules_do_not_import_the_training_side(technique):
    name = f"lessonlib.{technique}"
    if name not in MODULES:
        pytest.skip(f"{name} not present")
    training_side = {f"lessonlib.{m}" for m in ("training", "experiments", "augment", "metrics", "models")}
    assert not (GRAPH[name] & training_side), f"{name} imports {sorted(GRAPH[name] & training_side)}"


def test_the_reference_layer_and_the_kernels_are_floors():
    """A learner reads reference/ alone; _kernels/ only serve speed: neither reaches up into lessonlib."""
    for name, deps in GRAPH.items():
        if name.startswith("lessonlib.reference"):
            assert all(d.startswith("lessonlib.reference") for d in deps), f"{name} imports {sorted(deps)}"
        if name.startswith("lessonlib._kernels"):
            assert deps <= {"lessonlib.utils", "lessonlib._kernels"}, f"{name} imports {sorted(deps)}"
    users = {n for n, deps in GRAPH.items() if any(d.startswith("lessonlib.reference") for d in deps)}
    allowed = {n for n in GRAPH if n.startswith(("lessonlib.reference", "lessonlib.exercises"))}
    assert users <= allowed, (
        "only tests, notebooks and exercise checkers use the reference layer (it is the oracle, not a "
        f"dependency of the fast code): {sorted(users - allowed)}"
    )


def test_review_is_imported_by_nothing_outside_it():
    users = {n for n, deps in GRAPH.items() if any(d.startswith("lessonlib.review") for d in deps)}
    assert {u for u in users if not u.startswith("lessonlib.review")} == set()


def _module_getattr(path: Path) -> int | None:
    """The line of a module-level ``def __getattr__`` in ``path``, or None."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "__getattr__":
            return node.lineno
    return None


def test_no_module_has_a_lazy_reexport():
    found = {name: line for name, path in MODULES.items() if (line := _module_getattr(path)) is not None}
    assert found == {}, f"module-level __getattr__ (a lazy re-export) in: {found}"
    # one home per name: training keeps only fit's own names, none of models/metrics/augment/experiments
    training = importlib.import_module("lessonlib.training")
    for moved in ("make_model", "SmallCNN", "predict_logits", "expected_calibration_error", "sometimes"):
        assert moved not in training.__all__
    for moved in ("repeat_over_seeds", "stratified_subset", "learning_curve", "sometimes", "random_apply"):
        assert not hasattr(training, moved), f"training.{moved} is a re-export"
    assert {"lessonlib.augment", "lessonlib.experiments"}.isdisjoint(GRAPH["lessonlib.training"])


def test_the_lazy_reexport_check_can_fail(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import importlib\n\n\ndef __getattr__(name):\n    return importlib.import_module(name)\n")
    assert _module_getattr(bad) == 4


def test_the_parser_sees_real_edges():
    """Guard against a test that cannot fail: known edges are found."""
    assert "lessonlib.training" in GRAPH["lessonlib.experiments"]
    assert "lessonlib.mixing" in GRAPH["lessonlib.augment"]
    assert "lessonlib.utils" in GRAPH["lessonlib.models"]
