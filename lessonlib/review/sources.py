"""The drills' code as text: a function with exactly the imports, constants and helpers it uses.

``self_contained(fn, module)`` gives text that, pasted into a notebook cell unchanged, defines ``fn``.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable
from functools import cache

__all__ = ["module_header", "self_contained"]


@cache
def module_header(module: str) -> dict[str, str]:
    """``{bound name: the statement that binds it}`` for the imports and constants at the top of ``module``."""
    import importlib

    src = inspect.getsource(importlib.import_module(f"lessonlib.review.{module}"))
    tree = ast.parse(src)
    bound: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                bound[name] = f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else "")
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                name = alias.asname or alias.name
                bound[name] = f"from {node.module} import {alias.name}" + (
                    f" as {alias.asname}" if alias.asname else ""
                )
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            for t in node.targets:
                bound[t.id] = ast.get_source_segment(src, node) or ""
        elif isinstance(node, ast.FunctionDef) and node.name.startswith("_"):
            bound[node.name] = "\n".join(src.splitlines()[node.lineno - 1 - len(node.decorator_list) : node.end_lineno])
    return bound


def _uses(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}\b", text) is not None


def self_contained(fn: Callable, module: str) -> str:
    """The source of ``fn`` preceded by exactly the imports, constants and private helpers of ``module`` it uses."""
    src = inspect.getsource(fn).rstrip()
    header = module_header(module)
    used: list[str] = []
    pending = [src]
    while pending:
        text = pending.pop()
        for n, stmt in header.items():
            if n not in used and _uses(text, n):
                used.append(n)
                if not stmt.startswith(("import ", "from ")):
                    pending.append(stmt)
    merged: dict[str, list[str]] = {}
    plain: list[str] = []
    for n in used:
        line = header[n]
        if line.startswith("from "):
            mod, name = line[5:].split(" import ")
            merged.setdefault(mod, []).append(name)
        elif line.startswith("import "):
            plain.append(line)
    lines = sorted(set(plain)) + [f"from {m} import {', '.join(sorted(set(ns)))}" for m, ns in sorted(merged.items())]
    order = list(header)
    constants = [header[n] for n in sorted(used, key=order.index) if not header[n].startswith(("import ", "from "))]
    constants = [c for c in constants if not c.startswith("def ")]
    helpers = [header[n] for n in sorted(used, key=order.index) if header[n].startswith("def ")]
    blocks = ["\n".join(lines)] if lines else []
    if constants:
        blocks.append("\n".join(constants))
    blocks += helpers
    return "\n\n\n".join(blocks + [src])
