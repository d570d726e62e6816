"""No import cycles between Nimbus's top-level packages.

Each package may depend on packages below it (the map is in docs/architecture.md); a cycle
means two packages can no longer be understood, tested or replaced apart. Imports inside
``if TYPE_CHECKING:`` blocks count too: they are dependencies of the code's meaning.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import nimbus

ROOT = Path(nimbus.__file__).parent


def package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "nimbus" or len(parts) < 2:
        return None
    return parts[1]


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        source = relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
                targets += [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                package = package_of(target)
                # `from nimbus import x` names a package x, or a top-level module x.
                if (
                    package is not None
                    and package != source
                    and ((ROOT / package).is_dir() or (ROOT / f"{package}.py").exists())
                ):
                    graph[source].add(package)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle as a path [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_find_cycle_detects_a_cycle_and_accepts_a_layering() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycles_between_top_level_packages() -> None:
    graph = package_graph()
    assert graph["frontend"], "the graph must see imports at all"
    assert find_cycle(graph) is None, f"import cycle between packages: {find_cycle(graph)}"
