"""Dependencies point down: the core imports no UI, server or cluster library, and meshctl's packages and modules
import each other without circles (lazy imports inside functions count too: they are dependencies all the same;
imports under `if TYPE_CHECKING:` do not, they only name types for annotations)."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "meshctl"

# model → routing → sandbox → xds translate: pure logic that every face (CLI, REPL, TUI, xDS server) builds on
CORE = ("meshctl.model", "meshctl.routing", "meshctl.sandbox", "meshctl.mesh", "meshctl.xds.translate",
        "meshctl.errors", "meshctl.verbs", "meshctl.yamlfile", "meshctl.envoyconfig")
FORBIDDEN_IN_CORE = ("textual", "prompt_toolkit", "grpc", "kubernetes", "meshctl.tui", "meshctl.repl",
                     "meshctl.cli", "meshctl.xds.server", "meshctl.xds.service", "meshctl.sources")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node except those under `if TYPE_CHECKING:` (annotations only: no dependency when the code runs)."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        out.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return out


def _imports(path: Path) -> set[str]:
    """Every module this file imports when it runs, anywhere in it (lazy imports too), as absolute dotted names."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            # `from . import x` / `from .pkg import mod` may name submodules
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        graph[name] = {m for m in _imports(path) if m in files and m != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _is_under(module: str, prefixes: tuple[str, ...]) -> bool:
    """`module` is one of the prefixes, inside one, or a sibling named after it (xds.translate_routes)."""
    return any(module == p or module.startswith(p + ".") or
               (module.startswith(p + "_") and "." not in module[len(p):]) for p in prefixes)


def test_the_core_imports_no_ui_server_or_cluster_library() -> None:
    bad = []
    for path in PACKAGE.rglob("*.py"):
        name = _module_name(path)
        if not _is_under(name, CORE):
            continue
        for imported in _imports(path):
            if _is_under(imported, FORBIDDEN_IN_CORE):
                bad.append(f"{name} imports {imported}")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_circles_between_modules() -> None:
    assert _cycles(_graph()) == []


def test_no_import_circles_between_packages() -> None:
    packages: dict[str, set[str]] = defaultdict(set)
    for module, imported in _graph().items():
        for other in imported:
            a, b = (module.split(".") + [""])[1], (other.split(".") + [""])[1]
            if a and b and a != b:
                packages[a].add(b)
    assert _cycles(packages) == []


def test_the_checks_see_a_circle_and_a_forbidden_import() -> None:
    """The walker is not blind: it finds what the package really imports."""
    graph = _graph()
    assert "meshctl.model.snapshot" in graph["meshctl.cli.common"]
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert any(_is_under(m, FORBIDDEN_IN_CORE) for m in _imports(PACKAGE / "tui" / "app.py"))
