"""The reference layer stays what it promises: short, documented, self-contained, and used as an oracle.

* every public function of ``lessonlib.reference.*`` has a body of at most 30 lines (docstring excluded)
  and a docstring that states the formula and the paper it comes from;
* each module imports nothing from ``lessonlib`` outside ``lessonlib.reference`` (a learner reads it alone);
* each function is named in some test file other than this one (it is somebody's oracle);
* ``lessonlib.show_source`` shows one with the file it is defined in.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from pathlib import Path

import pytest

import lessonlib
from lessonlib import reference
from lessonlib.sources import source_of

TESTS = Path(__file__).resolve().parent
MAX_BODY = 30

FUNCTIONS = [
    (module_name, name, getattr(getattr(reference, module_name), name))
    for module_name in reference.__all__
    for name in getattr(reference, module_name).__all__
    if inspect.isfunction(getattr(getattr(reference, module_name), name))
]


def _body_lines(fn) -> int:
    """Lines of code in the function body, without the docstring, blank lines and comments."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    node = tree.body[0]
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]
    if not body:
        return 0
    lines = inspect.getsource(fn).splitlines()
    first = body[0].lineno - 1 - (node.decorator_list[0].lineno - node.lineno if node.decorator_list else 0)
    code = [ln for ln in lines[first:] if ln.strip() and not ln.strip().startswith("#")]
    return len(code)


def test_the_layer_is_not_empty():
    assert len(FUNCTIONS) >= 15, f"only {len(FUNCTIONS)} reference functions: {[f[1] for f in FUNCTIONS]}"


@pytest.mark.parametrize(("module", "name", "fn"), FUNCTIONS, ids=[f"{m}.{n}" for m, n, _ in FUNCTIONS])
def test_reference_functions_are_short_and_documented(module, name, fn):
    n = _body_lines(fn)
    assert n <= MAX_BODY, f"reference.{module}.{name} has {n} lines of body (at most {MAX_BODY})"
    doc = inspect.getdoc(fn) or ""
    assert len(doc.split()) >= 15, f"reference.{module}.{name} needs a docstring with the formula and the paper"
    assert re.search(r"(19|20)\d\d", doc), f"reference.{module}.{name}'s docstring cites no paper (no year)"


@pytest.mark.parametrize(("module", "name", "fn"), FUNCTIONS, ids=[f"{m}.{n}" for m, n, _ in FUNCTIONS])
def test_every_reference_function_is_an_oracle_in_some_test(module, name, fn):
    pattern = re.compile(rf"\b{re.escape(name)}\b")
    users = [
        p.name
        for p in TESTS.glob("test_*.py")
        if p.name != Path(__file__).name and "reference" in (text := p.read_text()) and pattern.search(text)
    ]
    assert users, f"reference.{module}.{name} is used by no test: it must be the oracle of a fast function"


@pytest.mark.parametrize("module", reference.__all__)
def test_reference_modules_import_only_the_reference_layer(module):
    tree = ast.parse(Path(getattr(reference, module).__file__).read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for n in names:
            if n.startswith("lessonlib"):
                assert n.startswith("lessonlib.reference"), f"reference.{module} imports {n}"


def test_show_source_names_the_file_and_the_line():
    text = source_of(lessonlib.sources.source_of)
    assert text.startswith("# Defined in lessonlib/sources.py, line ")
    assert "def source_of(" in text


def test_show_source_refuses_what_has_no_source():
    import torch

    with pytest.raises(TypeError, match=r"obj must be a function, class, method or module, got Tensor"):
        source_of(torch.zeros(1))
    with pytest.raises(TypeError, match=r"obj has no Python source"):
        source_of(int)  # a class, but a built-in one written in C


def test_show_source_prints_outside_a_notebook(capsys):
    assert lessonlib.show_source(lessonlib.sources.source_of) is None
    assert "# Defined in lessonlib/sources.py" in capsys.readouterr().out
