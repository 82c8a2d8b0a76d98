"""The package's architecture holds: layers import only downwards, no import circles, the static
stub matches the lazy exports, and copies handed out before the re-layout still import."""

from __future__ import annotations

import ast
import importlib
import warnings
from pathlib import Path

import pytest

import grounding_kit as gk
from grounding_kit.core.lazy import stub_text

PACKAGE = Path(gk.__file__).parent
#: lowest first; a module may import its own layer and the ones below it, nothing above
LAYERS = ["core", "world", "models", "analysis", "experiments", ("exercises", "course"), "widgets", "dashboard",
          ("cli", "diagnostics", "checks", "homework", "__init__")]
RANK = {name: rank for rank, layer in enumerate(LAYERS) for name in ((layer,) if isinstance(layer, str) else layer)}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every grounding_kit import in a file, inside functions too, not under TYPE_CHECKING."""
    tree = ast.parse(path.read_text())
    skipped = {id(sub) for node in ast.walk(tree) if isinstance(node, ast.If)
               and getattr(node.test, "id", getattr(node.test, "attr", None)) == "TYPE_CHECKING"
               for sub in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found += [(node.lineno, node.module)] + [(node.lineno, f"{node.module}.{a.name}") for a in node.names]
    return [(line, name) for line, name in found if name.startswith("grounding_kit.")]


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _top(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 1 and parts[1].startswith("__") and parts[1] != "__init__":
        return "core"  # the package's own metadata (__version__): the root imports nothing but core.lazy
    return parts[1] if len(parts) > 1 else "__init__"


def test_no_module_imports_from_a_higher_layer():
    upward = []
    for module, path in MODULES.items():
        for line, target in _imports(path):
            if RANK[_top(target)] > RANK[_top(module)]:
                upward.append(f"{path.relative_to(PACKAGE)}:{line} imports {target}")
    assert not upward, "\n".join(upward)


def test_no_import_circles():
    def resolve(name: str) -> str | None:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        return name or None

    edges = {m: {r for _, t in _imports(p) if (r := resolve(t)) and r != m} for m, p in MODULES.items()}
    # a package's __init__ re-exporting its modules is not a circle with them
    edges = {m: {t for t in targets if not m.startswith(t + ".")} for m, targets in edges.items()}
    index, low, stack, on_stack, circles = {}, {}, [], set(), []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert not circles, circles


def test_the_static_stub_matches_the_lazy_exports():
    expected = stub_text("grounding_kit", gk._EXPORTS, gk._PUBLIC_SUBMODULES,
                         "Static view of ``import grounding_kit as gk`` (the package loads these lazily).")
    assert (PACKAGE / "__init__.pyi").read_text() == expected, \
        "regenerate: python -c 'from grounding_kit.core.lazy import write_root_stub as w; w()'"


def test_every_public_name_resolves_and_is_documented():
    for name in gk.__all__:
        value = getattr(gk, name)
        assert (getattr(value, "__doc__", None) or "").strip(), f"gk.{name} has no docstring"


@pytest.mark.parametrize("old, name", [("grounding_kit.checks", "check_similarity_matrix"),
                                       ("grounding_kit.homework", "own_or_kit")])
def test_copies_handed_out_before_the_relayout_still_import_with_a_warning(old, name):
    import sys

    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
    assert callable(getattr(module, name))
    assert any(issubclass(w.category, DeprecationWarning) and "moved" in str(w.message) for w in caught)
