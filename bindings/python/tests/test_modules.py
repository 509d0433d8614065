"""The package's modules import each other without a loop (issue 25: no
file of the project imports another that imports it back)."""

from __future__ import annotations

import ast
from pathlib import Path

import lifesign

PACKAGE = Path(lifesign.__file__).resolve().parent


def _imports(module: Path) -> "set[str]":
    """The package's modules that ``module`` imports, anywhere in its body."""
    found = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_no_module_of_the_package_imports_one_that_imports_it_back() -> None:
    graph = {p.stem: _imports(p) for p in PACKAGE.glob("*.py")}
    assert graph["_ffi"] and graph["_api"], graph  # the walk sees the imports

    def cycle_from(start: str, path: "list[str]") -> "list[str] | None":
        for nxt in sorted(graph.get(path[-1], ())):
            if nxt == start:
                return path + [nxt]
            if nxt not in path:
                found = cycle_from(start, path + [nxt])
                if found:
                    return found
        return None

    for module in graph:
        assert cycle_from(module, [module]) is None, " -> ".join(cycle_from(module, [module]) or [])
