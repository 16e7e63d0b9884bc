"""The instructor kit: slide decks (``tools/slides.py``) and student copies (``tools/student.py``).

For every ``notebooks/NN_*.ipynb`` present:

* its deck has a title slide, one slide per ``##`` section, the exercises as the last slides, every
  figure of the notebook, no solution, and no reference to anything that is not inside the file (no
  http(s) script or stylesheet, no local file that is not there);
* it stores no solution cell, no reveal call and no PASS line; its student copy holds no reveal and no
  output, keeps every exercise check, and those checks pass when fed the model answers registered in
  ``lessonlib.exercises`` (``nbNN.check_x.exercise.solution``). To stay fast, only the
  exercise cells run, after the earlier cells they need (found from the names they use; a cell tagged
  ``exercise-setup`` is always included), in one in-process IPython shell.

``make test-browser`` also opens each deck in headless Chromium (``tests/browser/test_decks.py``),
steps through every slide and checks that every figure is decoded.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
import symtable
import sys
import warnings
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in NOTEBOOKS]


def _load_tool(name: str):
    spec = importlib.util.spec_from_file_location(f"course_tools_{name}", REPO / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


slides = _load_tool("slides")
student = _load_tool("student")
bs4 = pytest.importorskip("bs4")


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def md(source: str, **metadata) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(source, metadata=metadata)


def code(source: str, outputs=(), **metadata) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    cell.outputs = list(outputs)
    return cell


def figure_output() -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})


def toy_notebook() -> nbformat.NotebookNode:
    """A notebook with the course's anatomy, small enough to reason about every slide type."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        md("# 99 · Toy\n\nWhy?"),
        code("import math\nSEED = 0"),
        md("## First section\n\nText."),
        code("x = math.sqrt(4)\nfig = plotting.show(x)\nplt.show()", outputs=[figure_output()]),
        md("**Check.** numbers."),
        code("# NBVAL_CHECK_OUTPUT\nprint(x)", outputs=[nbformat.v4.new_output("stream", text="2.0\n")]),
        md("> **In an interview.** Say it."),
        md("### A subsection\n\nMore.\n\n## Second section inside the same cell\n\nText."),
        md("## Exercises\n\n### Exercise 1 (easy)\n\nDo it."),
        code("answer = ...\ncheck(answer);"),
        code("# Solution (try the exercise first)\nsol = 2\ncheck(sol, must_pass=True);", tags=["solution"]),
        md("## Further reading\n\n- A paper."),
        code("", outputs=[]),
        code("secret()", tags=["slides-skip"]),
    ]
    nb.cells[3].execution_count = 7
    return nb


# ---------------------------------------------------------------------------------------------------
# Stamping rules, on a notebook whose every slide type is known.


def test_stamp_assigns_slide_types_from_structure():
    nb = toy_notebook()
    kinds = [c.metadata["slideshow"]["slide_type"] for c in slides.stamp(nb).cells]
    assert kinds == [
        "slide",  # title
        "subslide",  # setup cell
        "slide",  # ## section
        "subslide",  # figure
        "fragment",  # prose after code: a pause point
        "fragment",  # checked number
        "fragment",  # "In an interview"
        "subslide",  # ### heading (the ## inside it only counts once the deck splits the cell)
        "slide",  # ## Exercises
        "-",  # learner cell
        "skip",  # solution
        "slide",  # ## Further reading
        "skip",  # empty cell
        "skip",  # manual override tag
    ]


def test_stamp_is_idempotent_touches_only_slide_metadata_and_not_its_input():
    nb = toy_notebook()
    nb.cells[2].metadata["slideshow"] = {"slide_type": "fragment", "data": {"x": "1"}}
    before = nbformat.writes(nb)
    once = slides.stamp(nb)
    assert nbformat.writes(nb) == before, "stamp modified its input"
    assert slides.stamp(once) == once
    for old, new in zip(nb.cells, once.cells, strict=True):
        assert new.source == old.source
        assert new.get("outputs") == old.get("outputs")
        assert new.get("execution_count") == old.get("execution_count")
        assert {k: v for k, v in new.metadata.items() if k != "slideshow"} == {
            k: v for k, v in old.metadata.items() if k != "slideshow"
        }
    assert once.cells[2].metadata["slideshow"] == {"slide_type": "slide", "data": {"x": "1"}}


def test_stamp_file_check_mode_reports_without_writing(tmp_path):
    path = tmp_path / "99_toy.ipynb"
    nbformat.write(toy_notebook(), path)
    before = path.read_bytes()
    assert slides.stamp_file(path, check=True) is True
    assert path.read_bytes() == before
    assert slides.stamp_file(path) is True
    assert slides.stamp_file(path, check=True) is False
    assert slides.main(["stamp", "--check", str(path)]) == 0


def test_deck_notebook_splits_sections_and_puts_exercises_last():
    deck = slides.deck_notebook(toy_notebook())
    starts = [slides.heading(c)[1] for c in deck.cells if c.metadata["slideshow"]["slide_type"] == "slide"]
    sections = ["99 · Toy", "First section", "Second section inside the same cell", "Further reading", "Exercises"]
    assert starts == sections
    assert deck.cells[-1].metadata["slideshow"]["slide_type"] == "skip"  # the solution stays out, still last


def test_bad_inputs_are_named():
    with pytest.raises(FileNotFoundError, match="notebooks"):
        slides.notebook_paths(["no/such/notebook.ipynb"])
    with pytest.raises(FileNotFoundError, match="vendor"):
        slides._read_vendor("reveal.js/dist/no-such-file.js")
    with pytest.raises(ValueError, match="out_dir"):
        student.write_student_copy(REPO / "notebooks" / "x.ipynb", REPO / "notebooks")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_targets_build_decks_and_student_copies():
    dry = subprocess.run(["make", "-n", "slides", "student"], cwd=REPO, capture_output=True, text=True, check=True)
    assert "tools/slides.py build --out build/slides" in dry.stdout
    assert "tools/student.py --out build/student" in dry.stdout


# ---------------------------------------------------------------------------------------------------
# Decks of the real notebooks.


@pytest.fixture(scope="module")
def deck_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    slides.build(NOTEBOOKS, out)
    return out


def deck_soup(deck_dir: Path, path: Path):
    return bs4.BeautifulSoup((deck_dir / f"{path.stem}.slides.html").read_text(encoding="utf-8"), "html.parser")


def normalise_heading(text: str) -> str:
    """Heading text without markdown/HTML decoration, so a notebook heading and its slide compare equal."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [text](link) -> text
    text = re.sub(r"[*_`¶]", "", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def expected_sections(nb: nbformat.NotebookNode) -> list[str]:
    """Title, then every ``##`` heading in the notebook's markdown, with Exercises moved last."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        fenced = False
        for line in cell.source.splitlines():
            if line.lstrip().startswith("```"):
                fenced = not fenced
            match = None if fenced else re.match(r"^(#{1,2})\s+(.*?)\s*#*\s*$", line.strip())
            if match and (len(match.group(1)) == 2 or not found):
                found.append(match.group(2))
    is_ex = [h.strip().lower().startswith("exercise") for h in found]
    return [h for h, ex in zip(found, is_ex, strict=True) if not ex] + [
        h for h, ex in zip(found, is_ex, strict=True) if ex
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_deck_has_title_one_slide_per_section_and_exercises_last(deck_dir, path):
    nb = read(path)
    soup = deck_soup(deck_dir, path)
    stacks = soup.select("div.reveal > div.slides > section")
    firsts = []
    for stack in stacks:
        first = stack.find(["h1", "h2"])
        firsts.append(normalise_heading(first.get_text(" ")) if first else "")
    expected = [normalise_heading(h) for h in expected_sections(nb)]
    assert firsts == expected, "deck slides do not match the notebook's sections"
    assert expected[-1].startswith("exercise"), "the notebook has no '## Exercises' section (course anatomy)"
    n_exercises = sum(len(re.findall(r"(?m)^###\s+Exercise", c.source)) for c in nb.cells if c.cell_type == "markdown")
    last = stacks[-1]
    assert len([h for h in last.find_all("h3") if normalise_heading(h.get_text(" ")).startswith("exercise")]) == (
        n_exercises
    )
    assert len(last.find_all("section")) >= max(n_exercises, 1), "each exercise should get its own sub-slide"
    assert "must_pass=True" not in soup.get_text(), "a model solution is visible in the deck"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_deck_shows_every_figure(deck_dir, path):
    nb = read(path)
    n_figures = sum(
        1
        for cell in nb.cells
        if cell.cell_type == "code" and not slides.is_solution(cell)
        for output in cell.outputs
        if output.get("output_type") in ("display_data", "execute_result")
        and any(m in output.get("data", {}) for m in ("image/png", "image/jpeg"))
    )
    soup = deck_soup(deck_dir, path)
    embedded = [img for img in soup.find_all("img") if img.get("src", "").startswith("data:image/")]
    assert len(embedded) >= n_figures


XML_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1998/Math/MathML", "http://www.w3.org/1999/xhtml"}


def asset_problems(soup, deck_dir: Path) -> list[str]:
    """Every reference of a deck that would need the network or a file that is not there."""
    problems = []
    refs = [(tag.name, tag.get("src")) for tag in soup.find_all(src=True)]
    refs += [(tag.name, tag.get("href")) for tag in soup.find_all("link", href=True)]
    for name, ref in refs:
        if re.match(r"^(https?:)?//", ref):
            problems.append(f"<{name}> loads {ref} from the network")
        elif not ref.startswith("data:") and not (deck_dir / ref.split("#")[0].split("?")[0]).is_file():
            problems.append(f"<{name}> refers to missing {ref}")
    for script in soup.find_all("script", src=False):
        for url in re.findall(r"['\"]((?:https?:)?//[^'\"]+)['\"]", script.get_text()):
            if url not in XML_NAMESPACES:  # namespace names (KaTeX builds SVG and MathML), never fetched
                problems.append(f"an inline script loads {url}")
    for style in soup.find_all("style"):
        text = re.sub(r"/\*.*?\*/", "", style.get_text(), flags=re.S)
        if re.search(r"url\(\s*['\"]?(https?:)?//|@import", text):
            problems.append("a stylesheet fetches a remote resource")
    for link in soup.find_all("a", href=True):
        target = link["href"].split("#")[0]
        if target.endswith(".slides.html") and not (deck_dir / target).is_file():
            problems.append(f"link to a deck that was not built: {target}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_deck_is_self_contained(deck_dir, path):
    soup = deck_soup(deck_dir, path)
    assert asset_problems(soup, deck_dir) == []
    inline = [s.get_text() for s in soup.find_all("script") if not s.get("src")]
    assert any("Reveal.initialize" in s for s in inline), "reveal.js is not inlined and started"
    assert any("renderMathInElement" in s for s in inline), "KaTeX's auto-render is not inlined"


def test_stock_nbconvert_slides_would_fetch_from_the_network(tmp_path):
    """Why the deck template exists: nbconvert's own reveal template loads reveal.js etc. from CDNs."""
    from nbconvert.exporters import SlidesExporter

    html, _ = SlidesExporter().from_notebook_node(slides.stamp(toy_notebook()))
    problems = asset_problems(bs4.BeautifulSoup(html, "html.parser"), tmp_path)
    assert any("reveal" in p and "network" in p for p in problems), problems


def solution_lines(nb: nbformat.NotebookNode) -> set[str]:
    """Lines of solution code that appear nowhere else in the notebook (so a leak is unambiguous)."""
    elsewhere = {ln.strip() for c in nb.cells if not slides.is_solution(c) for ln in c.source.splitlines()}
    lines = set()
    for cell in nb.cells:
        if slides.is_solution(cell):
            for line in cell.source.splitlines():
                line = line.strip()
                if len(line) > 3 and line not in elsewhere and line != "# Solution (try the exercise first)":
                    lines.add(line)
    return lines


# ---------------------------------------------------------------------------------------------------
# Student copies.


def test_student_copy_of_a_toy_notebook(tmp_path):
    nb = toy_notebook()
    (tmp_path / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    nb.cells.insert(9, md("Run it. The model solution is in the collapsed cell below each exercise. Then go on."))
    nb.cells.append(md("![a picture](pic.png) and ![remote](https://example.org/x.png)"))
    before = nbformat.writes(nb)
    copy = student.make_student_copy(nb, tmp_path)
    assert nbformat.writes(nb) == before, "make_student_copy modified its input"
    text = nbformat.writes(copy)
    assert "sol = 2" not in text and "must_pass" not in text
    assert "check(answer);" in text
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in copy.cells if c.cell_type == "code")
    assert copy.cells[1].source == student.STUDENT_NOTE
    assert f"Run it. {student.SOLUTION_POINTER_REPLACEMENT} Then go on." in text
    assert student.reword_solution_pointers("The solution of the heat equation is smooth.") == (
        "The solution of the heat equation is smooth."
    )
    assert "![a picture](attachment:pic.png)" in copy.cells[-1].source
    assert "https://example.org/x.png" in copy.cells[-1].source
    assert copy.cells[-1].attachments["pic.png"]["image/png"]
    nbformat.validate(copy)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_has_no_solution_cell_and_no_reveal(path):
    nb = read(path)
    assert not [c for c in nb.cells if slides.is_solution(c)], "solutions live in lessonlib.exercises, not in cells"
    assert not [c for c in nb.cells if student.is_reveal(c)], "no stored cell may call a reveal"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert "must_pass=True" not in cell.source, "a model-answer check is stored in the notebook"
            for out in cell.get("outputs", []):
                text = out.get("text", "") or "".join(str(v) for v in out.get("data", {}).values())
                assert "[PASS]" not in text, f"a stored output shows a PASS line: {text[:120]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_copy_has_no_reveal_and_keeps_every_check(tmp_path, path):
    nb = read(path)
    target = student.write_student_copy(path, tmp_path)
    copy = read(target)
    for cell in copy.cells:
        assert not student.REVEAL_CALL.search(cell.source), f"a reveal reached the student copy: {cell.source[:200]}"
        if cell.cell_type == "markdown":
            assert not student._SOLUTION_POINTER.search(cell.source), "the copy still points to collapsed solutions"
        assert not cell.source.lstrip().startswith("# Solution"), "an untagged solution cell reached the copy"
        assert "must_pass=True" not in cell.source, "a model-answer check reached the student copy"
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    student_code = "\n".join(c.source for c in copy.cells if c.cell_type == "code")
    for cell in nb.cells:
        if cell.cell_type == "code" and not student.is_reveal(cell):
            for check in _check_calls(cell.source):
                assert f"{check}(" in student_code, f"the student copy lost the exercise check {check}"


# ---------------------------------------------------------------------------------------------------
# Running the student copy's checks against the model answers.


def _python(source: str) -> str:
    """Plain Python for static analysis: ``%%time``-style cell magics and ``%time`` lines unwrapped."""
    from IPython.core.inputtransformer2 import TransformerManager

    lines = source.splitlines()
    if lines and re.match(r"^%%(time|timeit|capture|prun)\b", lines[0].strip()):
        lines = lines[1:]
    lines = [re.sub(r"^(\s*)%(?:time|timeit|prun)\s+(?:-\S+\s+)*", r"\1", ln) for ln in lines]
    return TransformerManager().transform_cell("\n".join(lines))


def _tree(source: str) -> ast.Module:
    return ast.parse(_python(source))


def _is_check(func: ast.AST) -> bool:
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name.startswith("check")


def _check_calls(source: str) -> list[str]:
    return [ast.unparse(n.func) for n in ast.walk(_tree(source)) if isinstance(n, ast.Call) and _is_check(n.func)]


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _module_names(table) -> tuple[set[str], set[str]]:
    """``(bound, read)`` module-level names of a symbol table and its nested scopes.

    A function's parameters and locals are not module names; a name a function reads without binding
    it (a global) is. Comprehensions and lambdas are nested scopes too.
    """
    bound, read = set(), set()
    is_module = table.get_type() == "module"  # a str, or a StrEnum equal to it on Python >= 3.13
    for sym in table.get_symbols():
        name = sym.get_name()
        if is_module:
            if sym.is_assigned() or sym.is_imported() or sym.is_namespace():
                bound.add(name)
            if sym.is_referenced():
                read.add(name)
        elif sym.is_global():
            if sym.is_declared_global() and sym.is_assigned():
                bound.add(name)
            if sym.is_referenced():
                read.add(name)
    for child in table.get_children():
        child_bound, child_read = _module_names(child)
        bound |= child_bound
        read |= child_read
    return bound, read


def cell_names(source: str) -> tuple[set[str], set[str], set[str], set[str]]:
    """``(defined, used, mutated, modules)`` module-level names of one cell, by static analysis.

    ``mutated`` are names a top-level statement may change in place: receivers and arguments of bare
    calls (``fit(model, ...)``, ``model.eval()``) and bases of item/attribute assignments.
    """
    python = _python(source)
    tree = ast.parse(python)
    defined, used = _module_names(symtable.symtable(python, "<cell>", "exec"))
    mutated, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
    for stmt in tree.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            call = stmt.value
            mutated.update(filter(None, [_base_name(call.func) if isinstance(call.func, ast.Attribute) else None]))
            mutated.update(filter(None, (_base_name(a) for a in [*call.args, *(k.value for k in call.keywords)])))
        elif isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            mutated.update(filter(None, (_base_name(t) for t in targets if not isinstance(t, ast.Name))))
    return defined, used, mutated, modules


def _is_placeholder_def(node: ast.AST) -> bool:
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    body = [s for s in node.body if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]
    return (
        not body
        or all(isinstance(s, ast.Pass) for s in body)
        or (
            len(node.body) >= 1
            and all(isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) for s in node.body)
            and any(s.value.value is Ellipsis for s in node.body)
        )
    )


def _model_answer_expr(call: ast.Call) -> str | None:
    """Python for the model answer of the exercise a learner cell's check call names, or None.

    ``nb04.check_x(answer)`` → the solution registered with that checker (``lessonlib.exercises``
    registry); ``review.check("drill", fn)`` → the drill's model answer. Exercises whose answer depends
    on the notebook's data (``solution_args``) have no fixed model answer and are left as given.
    """
    import importlib

    func = call.func
    if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
        return None
    owner = func.value.id
    if owner == "review" and func.attr == "check" and call.args and isinstance(call.args[0], ast.Constant):
        return f"review._answer({call.args[0].value!r})"
    if not re.fullmatch(r"nb\d\d", owner):
        return None
    checker = getattr(importlib.import_module(f"lessonlib.exercises.{owner}"), func.attr, None)
    ex = getattr(checker, "exercise", None)
    if ex is None or ex.solution_args is not None:
        return None
    return f"{owner}.{func.attr}.exercise.solution"


def with_model_answer(learner_source: str) -> str | None:
    """The learner cell with each placeholder argument of its checks replaced by the registered model answer.

    A placeholder is a name the learner cell binds to ``...`` or to a function whose body is ``...``.
    Each rewritten check gets ``must_pass=True``. None when nothing was replaced.
    """
    tree = _tree(learner_source)
    placeholders = {
        t.id
        for s in tree.body
        if isinstance(s, ast.Assign) and isinstance(s.value, ast.Constant) and s.value.value is Ellipsis
        for t in s.targets
        if isinstance(t, ast.Name)
    } | {s.name for s in tree.body if _is_placeholder_def(s)}
    replaced = False
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call) and _is_check(n.func)):
        model = _model_answer_expr(call)
        if model is None:
            continue
        index = 1 if isinstance(call.func, ast.Attribute) and call.func.attr == "check" else 0
        if len(call.args) > index and isinstance(call.args[index], ast.Name) and call.args[index].id in placeholders:
            call.args[index] = ast.parse(model, mode="eval").body
            call.keywords = [k for k in call.keywords if k.arg != "must_pass"]
            call.keywords.append(ast.keyword(arg="must_pass", value=ast.Constant(True)))
            replaced = True
    return ast.unparse(ast.fix_missing_locations(tree)) if replaced else None


def test_with_model_answer_rewrites_placeholders_only():
    learner = "answer = ...\ndata = load()\nnb00.check_ecg_units(answer)\nnb00.check_other(data);"
    rewritten = with_model_answer(learner)
    assert "nb00.check_ecg_units(nb00.check_ecg_units.exercise.solution, must_pass=True)" in rewritten
    assert "nb00.check_other(data)" in rewritten
    fn_learner = "def my_fix(x):\n    ...\n\nreview.check('in_place', my_fix)"
    assert "review.check('in_place', review._answer('in_place'), must_pass=True)" in with_model_answer(fn_learner)
    assert with_model_answer("x = 1\nnb00.check_ecg_units(x)") is None


def exercise_plan(nb: nbformat.NotebookNode, copy: nbformat.NotebookNode):
    """``(context, steps)``: the earlier student cells the exercises need, and the exercise steps.

    Steps come in two phases. First the student copy as handed out: every learner cell from the
    exercises on, as it is, in order (an untouched ``...`` must report "not attempted" without failing).
    Then every learner cell again with the registered model answer substituted for its placeholder.
    The student copy's code must be the notebook's code minus solution and reveal cells, in order.
    """
    kept = [
        c.source for c in nb.cells if c.cell_type == "code" and not slides.is_solution(c) and not student.is_reveal(c)
    ]
    assert [c.source for c in copy.cells if c.cell_type == "code"] == kept, "the copy changed a code cell"

    first_ex = len(nb.cells)
    for i, cell in enumerate(nb.cells):
        title = (slides.heading(cell) or (0, ""))[1]
        if (slides.heading(cell) or (0, ""))[0] in (1, 2) and title.strip().lower().startswith("exercise"):
            first_ex = i
            break

    as_given, with_answers = [], []
    for cell in nb.cells[first_ex:]:
        if cell.cell_type != "code" or slides.is_solution(cell) or student.is_reveal(cell):
            continue
        as_given.append(("learner cell as given", cell.source))
        rewritten = with_model_answer(cell.source)
        if rewritten:
            with_answers.append(("learner cell with the model answer", rewritten))
    steps = as_given + with_answers

    prior = [c for c in nb.cells[:first_ex] if c.cell_type == "code" and not slides.is_solution(c)]
    needed = set()
    for _, source in steps:
        needed |= cell_names(source)[1]
    analysed = [(c, *cell_names(c.source)) for c in prior]
    all_modules = set().union(*(a[4] for a in analysed)) if analysed else set()
    chosen = []
    for k in range(len(analysed) - 1, -1, -1):
        cell, defined, used, mutated, _ = analysed[k]
        forced = k == 0 or "exercise-setup" in cell.metadata.get("tags", [])
        if forced or (defined | (mutated - all_modules)) & needed:
            chosen.append(cell.source)
            needed |= used
    return list(reversed(chosen)), steps


def test_exercise_plan_runs_only_the_cells_the_exercises_need():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        md("# 99 · Toy"),
        code("import math\nfrom lessonlib.exercises import nb00"),
        code("a = 1"),
        code("b = a + 1\nunused = 5"),
        code("history = []"),
        code("history.append(b)"),
        code("slow = sum(range(10**9))"),
        code("plot(math.pi)"),
        code("forced = 1", tags=["exercise-setup"]),
        md("## Exercises"),
        code("answer = ...\nprint(history)\nnb00.check_ecg_units(answer);"),
        code("nb00.reveal(1)"),
    ]
    context, steps = exercise_plan(nb, student.make_student_copy(nb))
    assert context == ["import math\nfrom lessonlib.exercises import nb00", "a = 1", "b = a + 1\nunused = 5"] + [
        "history = []",
        "history.append(b)",
        "forced = 1",
    ]
    assert [what for what, _ in steps] == ["learner cell as given", "learner cell with the model answer"]
    assert steps[-1][1] == (
        "answer = ...\nprint(history)\nnb00.check_ecg_units(nb00.check_ecg_units.exercise.solution, must_pass=True)"
    )


@pytest.fixture(scope="module")
def shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LESSONLIB_STATIC", "1")
        mp.setenv("MPLBACKEND", "Agg")
        mp.chdir(REPO / "notebooks")
        sh = InteractiveShell.instance(config=config)
        try:
            yield sh
        finally:
            InteractiveShell.clear_instance()


def run_cell(shell, source: str, what: str, path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = shell.run_cell(source, store_history=False)
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        pytest.fail(f"{path.name}: {what} raised {type(error).__name__}: {error}\n--- cell ---\n{source}")


@pytest.fixture
def isolated_globals():
    """Undo what a notebook's cells may change process-wide (RNG, threads, determinism, rcParams)."""
    import matplotlib
    import matplotlib.pyplot as plt
    import torch

    rng, threads = torch.random.get_rng_state(), torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    rc = matplotlib.rcParams.copy()
    try:
        yield
    finally:
        plt.close("all")
        torch.random.set_rng_state(rng)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            matplotlib.rcParams.update(rc)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_checks_pass_with_the_model_answers(shell, isolated_globals, path):
    nb = read(path)
    copy = student.make_student_copy(nb)
    context, steps = exercise_plan(nb, copy)
    assert any(what == "learner cell with the model answer" for what, _ in steps), (
        "no learner cell could be fed a model answer: learner cells should bind their answer to `...` and pass "
        "it to a checker registered in lessonlib.exercises (CONTRIBUTING.md)"
    )
    shell.reset(new_session=False)
    for source in context:
        run_cell(shell, source, "a cell the exercises need", path)
    for what, source in steps:
        run_cell(shell, source, what, path)
