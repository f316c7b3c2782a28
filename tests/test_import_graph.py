"""No import cycle among trainlab's modules.

The graph has an edge A -> B when module A imports module B at its top level (module
body, including ``if``/``try`` blocks and ``if TYPE_CHECKING:`` blocks, but not the bodies
of functions or classes). ``from trainlab.x import y`` points at ``trainlab.x.y`` when
that is a module, else at ``trainlab.x``. A package's own ``__init__`` is not an implicit
dependency of its submodules (Python runs it first, but re-exporting submodules from an
``__init__`` is no cycle in the code).

Run ``python tests/test_import_graph.py`` to print every cycle.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "trainlab"

# Folders being rewritten on other branches; checked again once those are merged.
EXCLUDED: tuple[str, ...] = ()


def module_files(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of ``package`` under ``root``: dotted name -> file."""
    found = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _top_level(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements run when the module is imported (not inside defs or classes)."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _top_level(block)
            for handler in node.handlers:
                yield from _top_level(handler.body)
        elif isinstance(node, ast.With):
            yield from _top_level(node.body)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that module ``name`` imports at its top level."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    edges = set()
    for node in _top_level(tree.body):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = name.split(".")
                drop = node.level - 1 if is_package else node.level
                base = base[: len(base) - drop] if drop else base
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            targets = []
            for alias in node.names:
                candidate = f"{source}.{alias.name}"
                targets.append(candidate if candidate in modules else source)
        edges.update(t for t in targets if t in modules and t != name)
    return edges


def import_graph(modules: dict[str, Path] | None = None) -> dict[str, set[str]]:
    modules = module_files() if modules is None else modules
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def _excluded(name: str) -> bool:
    return any(name == f"{PACKAGE}.{e}" or name.startswith(f"{PACKAGE}.{e}.") for e in EXCLUDED)


def test_the_graph_sees_the_imports():
    graph = import_graph()
    assert "trainlab.train.callbacks" in graph["trainlab.train.fit"]
    assert "trainlab.init" in graph["trainlab.nn.linear"]  # from trainlab import init


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle():
    graph = {
        name: {t for t in targets if not _excluded(t)}
        for name, targets in import_graph().items()
        if not _excluded(name)
    }
    assert cycles(graph) == []


if __name__ == "__main__":
    found = cycles(import_graph())
    for component in found:
        print(" <-> ".join(component))
    print(f"{len(found)} cycle(s)")
    sys.exit(1 if found else 0)
