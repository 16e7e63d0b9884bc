"""The two ways to install the course agree, and the commands the README promises do what they say.

* ``environment.yml`` (conda, Binder) installs the course itself from the folder with the extras and
  pins ``make install`` uses, so a conda user and a ``make install`` user get the same packages.
* ``make test`` runs lint (ruff check + format over the package, tests, benchmarks and notebooks),
  the unit tests (printing the slowest) and every notebook under nbval; ``.ci/run`` runs it and the
  browser and repeatability checks, and fails when any of them fails.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the course targets 3.11, pyproject allows 3.10
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*)$")


def canonical(requirement: str) -> tuple[str, str]:
    """``"Scikit_Image >= 0.24"`` → ``("scikit-image", ">=0.24")``: PEP 503 name, specifier without spaces."""
    match = _NAME.match(requirement)
    if match is None:
        raise ValueError(f"requirement {requirement!r} is not of the form 'name[extras] specifier'")
    name, spec = match.groups()
    name = re.sub(r"[-_.]+", "-", name).lower()
    spec = ",".join(sorted(part.strip() for part in spec.split(";")[0].split(",") if part.strip()))
    return name, spec.replace(" ", "")


def _pip_section_by_hand(text: str) -> list[str]:
    """The ``- pip:`` list of a simple environment.yml, for when PyYAML is not importable."""
    items, inside, indent = [], False, None
    for line in text.splitlines():
        stripped = re.sub(r"(^|\s)#.*$", "", line).rstrip()  # YAML comments start a line or follow a space
        if not stripped.strip():
            continue
        if re.match(r"^\s*-\s*pip:\s*$", stripped):
            inside, indent = True, None
            continue
        if inside:
            lead = len(stripped) - len(stripped.lstrip())
            if indent is None:
                indent = lead
            if lead < indent or not stripped.lstrip().startswith("-"):
                break
            items.append(stripped.lstrip()[1:].strip())
    return items


def environment_pip_requirements() -> list[str]:
    text = (REPO / "environment.yml").read_text()
    try:
        import yaml
    except ImportError:
        return _pip_section_by_hand(text)
    env = yaml.safe_load(text)
    sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(sections) == 1, f"environment.yml should have exactly one pip section, found {len(sections)}"
    return [str(item) for item in sections[0]]


def pyproject_requirements() -> list[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *project["optional-dependencies"]["dev"]]


def test_canonical_normalises_names_and_specifiers():
    assert canonical("Scikit_Image >= 0.24") == ("scikit-image", ">=0.24")
    assert canonical("torch>=2.4,<3") == canonical("torch <3, >=2.4") == ("torch", "<3,>=2.4")
    assert canonical("lessonlib[dev]") == ("lessonlib", "")
    with pytest.raises(ValueError, match="requirement"):
        canonical(">=1.0")


def test_pip_section_parser_by_hand_matches_yaml():
    yaml = pytest.importorskip("yaml")
    text = (REPO / "environment.yml").read_text()
    env = yaml.safe_load(text)
    expected = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pip_section_by_hand(text) == expected


def test_environment_yml_installs_what_pyproject_declares():
    """environment.yml names no package of its own: it installs the course from this folder, with every
    extra ``make install`` installs and the same pins (constraints.txt), so the two cannot drift."""
    items = environment_pip_requirements()
    packages = [r for r in items if not r.startswith("-")]
    assert not packages, f"environment.yml lists packages {packages}; declare them in pyproject.toml instead"
    editable = [r.split(None, 1)[1] for r in items if r.startswith("-e ")]
    assert len(editable) == 1, f"environment.yml should install the course once with '-e .[...]', got {items}"
    match = re.fullmatch(r"\.\[([\w,-]+)\]", editable[0])
    assert match, f"the editable install should be '.[extras]', got {editable[0]!r}"
    extras = set(match.group(1).split(","))
    makefile = (REPO / "Makefile").read_text()
    make_extras = set(re.search(r"-e '\.\[([\w,-]+)\]'", makefile).group(1).split(","))
    assert extras == make_extras, f"environment.yml installs extras {extras}, make install {make_extras}"
    declared = set(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    assert extras <= declared, f"environment.yml asks for extras {extras - declared} that pyproject.toml lacks"
    assert "-c constraints.txt" in items, "environment.yml must install with the same pins (constraints.txt)"
    assert (REPO / "constraints.txt").exists()


def test_runtime_dependencies_leave_the_front_end_to_the_host():
    """Colab ships its own Jupyter and ipywidgets 7: the runtime dependencies must not force JupyterLab
    or ipywidgets 8 (they live in the `lab` extra that `make lab` installs)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = dict(canonical(r) for r in project["dependencies"])
    assert "jupyterlab" not in runtime
    assert runtime.get("ipywidgets", "").startswith(">=7"), runtime.get("ipywidgets")


# import name -> distribution name, where they differ
_DISTRIBUTION = {"skimage": "scikit-image", "sklearn": "scikit-learn", "PIL": "pillow", "yaml": "pyyaml"}


def test_every_package_lessonlib_imports_is_declared():
    """A module lessonlib imports must be a declared runtime dependency, not one that happens to come
    along with another package (scipy arrives with scikit-learn today, but nothing promises it)."""
    import ast

    runtime = {canonical(r)[0] for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    undeclared: dict[str, str] = {}
    for path in sorted((REPO / "lessonlib").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in {"lessonlib", "__future__"}:
                    continue
                dist = _DISTRIBUTION.get(top, top).replace("_", "-").lower()
                if dist not in runtime:
                    undeclared.setdefault(dist, str(path.relative_to(REPO)))
    assert not undeclared, f"lessonlib imports undeclared packages (package: first file): {undeclared}"


def test_browser_test_dependency_is_declared():
    assert "playwright" in dict(canonical(r) for r in pyproject_requirements())


def _makefile_rules() -> dict[str, tuple[list[str], list[str]]]:
    """``{target: (prerequisites, recipe lines)}`` for the Makefile's plain rules."""
    rules: dict[str, tuple[list[str], list[str]]] = {}
    current = None
    lines = (REPO / "Makefile").read_text().replace("\\\n", " ").splitlines()
    for line in lines:
        if line.startswith("\t") and current is not None:
            rules[current][1].append(line.strip())
            continue
        match = re.match(r"^([A-Za-z0-9_.$()/-]+)\s*:(?![=])\s*(.*)$", line)
        if match:
            current = match.group(1)
            prereqs = [p for p in re.split(r"\s+", match.group(2).replace("|", " ")) if p]
            rules[current] = (prereqs, [])
        elif line and not line.startswith("#"):
            current = None
    return rules


def test_make_test_runs_lint_unit_tests_and_nbval():
    rules = _makefile_rules()
    assert {"lint", "unit", "nbval"} <= set(rules["test"][0]), f"`make test` depends on {rules['test'][0]}"
    lint = " ".join(rules["lint"][1])
    for folder in ("lessonlib", "tests", "benchmarks", "notebooks"):
        assert re.search(rf"ruff check [^;]*\b{folder}\b", lint), f"ruff check does not cover {folder}/"
        assert re.search(rf"ruff format --check [^;]*\b{folder}\b", lint), f"ruff format --check misses {folder}/"
    unit = " ".join(rules["unit"][1])
    assert "pytest tests" in unit and "--durations" in unit, "unit tests must run and print the slowest"
    nbval = " ".join(rules["nbval"][1])
    assert "--nbval" in nbval and "$(NOTEBOOKS)" in nbval, "nbval must run over the notebooks folder"
    assert "--durations" in nbval, "nbval must print the slowest cells"


def test_ci_runs_make_test_browser_and_repeat_and_fails_on_failure():
    script = (REPO / ".ci" / "run").read_text()
    assert "set -euo pipefail" in script, ".ci/run must stop at the first failing step"
    named = set(re.findall(r"^\s*make\s+([\w-]+)", script, re.MULTILINE))
    loop = re.search(r"for step in ([\w\s-]+);", script)
    if loop and re.search(r"^\s*make \"\$step\"", script, re.MULTILINE):
        named |= set(loop.group(1).split())
    assert {"test", "test-browser", "test-repeat"} <= named, f".ci/run runs {sorted(named)}"
    rules = _makefile_rules()
    assert "tests/browser" in " ".join(rules["test-browser"][1])
    assert "tools/check_repeatable.py" in " ".join(rules["test-repeat"][1])


def test_browser_tests_are_skipped_by_the_plain_unit_run():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "-m 'not browser'" in pyproject["addopts"], pyproject["addopts"]
    assert any(m.startswith("browser:") for m in pyproject["markers"])
    conftest = (REPO / "tests" / "browser" / "conftest.py").read_text()
    assert "pytest.mark.browser" in conftest
    assert "-m browser" in " ".join(_makefile_rules()["test-browser"][1])
