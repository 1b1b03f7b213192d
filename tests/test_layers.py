"""A bake's imports point one way: the project on the runtime package, never back; the
runtime's config is a leaf; nothing is circular."""

import ast
from pathlib import Path

import pytest


def module_name(package_root: Path, path: Path) -> str:
    parts = path.relative_to(package_root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """Project modules ``module`` imports; ``from pkg import sub`` counts as ``pkg.sub`` only.

    Python runs a package's ``__init__`` before any of its submodules anyway, so a
    submodule's ``from . import sibling`` is no edge back to the package.
    """
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = module.split(".")
            if node.level:
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:  # a submodule, else a name from the module itself
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in known else target)
    return {name for name in found if name in known and name != module}


def import_graph(*package_roots: Path) -> dict[str, set[str]]:
    paths = {module_name(root, p): p for root in package_roots for p in root.rglob("*.py")}
    return {name: imports_of(name, path, set(paths)) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while (member := stack.pop()) != node:
                component.append(member)
            component.append(node)
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_checker_sees_a_planted_circle():
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert cycles(graph) == [["p.a", "p.b", "p.c"]]


@pytest.mark.parametrize("answers", [{}, {"database": "sqlite", "use_results": False}])
def test_no_import_circle_and_config_is_a_leaf(bake, answers):
    project = bake(**answers)
    slug = project.name
    runtime = "dramatiq_runtime"
    graph = import_graph(project / slug, project / "packages" / runtime / runtime)
    # The graph sees imports, across the two packages too.
    assert f"{runtime}.config.loading" in graph[f"{runtime}.config"]
    assert f"{slug}.config" in graph[f"{slug}.settings"]
    assert f"{runtime}.config" in graph[f"{slug}.config"]
    assert cycles(graph) == []
    # The runtime names no project: nothing in it imports the project's modules.
    back = {m: sorted(t for t in ts if t.startswith(slug)) for m, ts in graph.items()}
    assert {m: ts for m, ts in back.items() if m.startswith(runtime) and ts} == {}
    outside = {
        module: sorted(t for t in targets if not t.startswith(f"{runtime}.config"))
        for module, targets in graph.items()
        if module.startswith(f"{runtime}.config")
    }
    assert {module: targets for module, targets in outside.items() if targets} == {}
