"""server/ is layered: each subpackage imports only from those below it, and no module imports
itself back through others. Imports only for type checking (`if TYPE_CHECKING:`) do not count:
they are not run."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO

SERVER = REPO / "server"

# Bottom to top. A module may import from its own layer and the ones before it. The top-level
# modules of server/ (diagnostics, settings) are the base the layers above them use.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("diagnostics",),
    ("rdf",),
    ("settings",),
    ("turtle",),
    ("load",),
    ("model",),
    ("diff",),
    ("validate",),
    ("store",),
    ("content",),
    ("schema",),
    ("steward",),
    ("serve",),
    ("http",),
    ("lsp",),
    ("cli", "__main__"),
)
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module) of every server import run when the module loads or a function
    runs; `if TYPE_CHECKING:` blocks are skipped."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(n) for child in node.body for n in ast.walk(child))
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target == "server" or target.startswith("server."):
                if node.module is not None and target != "server":
                    yield node.lineno, target
                # a name imported from a package may be one of its modules
                yield from ((node.lineno, f"{target}.{a.name}") for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("server."):
                    yield node.lineno, alias.name


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "server"


def python_files() -> list[Path]:
    return sorted(p for p in SERVER.rglob("*.py"))


def test_every_module_is_in_a_layer() -> None:
    unplaced = [module_name(p) for p in python_files() if layer_of(module_name(p)) not in RANK]
    assert unplaced == [] or unplaced == ["server"], (
        f"modules outside every layer of tests/test_layers.py: {unplaced}"
    )


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_point_down(path: Path) -> None:
    own = layer_of(module_name(path))
    if own not in RANK:
        return
    upward = [
        f"{path.relative_to(REPO)}:{line} imports {target} ({layer_of(target)} is above {own})"
        for line, target in runtime_imports(path)
        if target.count(".") >= 1 and RANK.get(layer_of(target), -1) > RANK[own]
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    modules = {module_name(p): p for p in python_files()}
    for name, path in modules.items():
        targets = {target for _, target in runtime_imports(path)}
        graph[name] = {t for t in targets if t in modules and t != name}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_checks_can_fail() -> None:
    assert find_cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert RANK["http"] > RANK["store"] > RANK["load"]
