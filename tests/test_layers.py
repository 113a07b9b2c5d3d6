"""The architecture's one-way dependencies, enforced: a layer rule a test checks is one that lasts.

domain imports nothing of ours outside domain; storage, sync, reports, interop and the services
never import Textual; screens and widgets never touch SQL or HTTP, they call the Hub.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "d2a_tui"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules_under(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).rglob("*.py"))


def forbidden_imports(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    problems = []
    for path in modules_under(folder):
        for name in imported_modules(path):
            if name.split(".")[0] in forbidden or any(
                name.startswith(f"{f}.") or name == f for f in forbidden
            ):
                problems.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return problems


def test_domain_imports_nothing_of_ours_outside_domain() -> None:
    problems = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in modules_under("domain")
        for name in imported_modules(path)
        if name.startswith("d2a_tui.") and not name.startswith("d2a_tui.domain")
    ]
    problems += forbidden_imports(
        "domain", ("textual", "sqlalchemy", "sqlmodel", "httpx", "fastapi")
    )
    assert problems == []


@pytest.mark.parametrize("folder", ["storage", "sync", "reports", "interop", "services"])
def test_core_layers_never_import_textual(folder: str) -> None:
    if not (PACKAGE / folder).exists():
        pytest.skip(f"{folder} not present")
    assert (
        forbidden_imports(folder, ("textual", "d2a_tui.screens", "d2a_tui.widgets", "d2a_tui.app"))
        == []
    )


@pytest.mark.parametrize("folder", ["screens", "widgets"])
def test_screens_and_widgets_never_touch_sql_or_http(folder: str) -> None:
    if not (PACKAGE / folder).exists():
        pytest.skip(f"{folder} not present")
    forbidden = (
        "sqlalchemy",
        "sqlmodel",
        "httpx",
        "psycopg",
        "d2a_tui.storage",
        "d2a_tui.sync.client",
    )
    assert forbidden_imports(folder, forbidden) == []


def test_the_rule_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy\nfrom textual.app import App\n")
    assert imported_modules(bad) == {"sqlalchemy", "textual.app"}


# --- import cycles ----------------------------------------------------------------------------
# grimp (import-linter's graph) sees every import: at the top, inside functions, and under
# TYPE_CHECKING. An import for annotations only still ties two modules together, so it counts.


def import_cycles(package: str) -> list[list[str]]:
    """Every set of modules of `package` that import each other round in a circle (the
    strongly connected components of its import graph with more than one module), sorted."""
    import grimp

    graph = grimp.build_graph(package, cache_dir=None)
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    # Tarjan's algorithm, iterative: a deep import chain must not hit the recursion limit.
    for root in sorted(imports):
        if root in order:
            continue
        work = [(root, iter(sorted(imports[root])))]
        order[root] = low[root] = len(order)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, successors = work[-1]
            for successor in successors:
                if successor not in order:
                    order[successor] = low[successor] = len(order)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(imports[successor]))))
                    break
                if successor in on_stack:
                    low[module] = min(low[module], order[successor])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[module])
                if low[module] == order[module]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == module:
                            break
                    if len(component) > 1:
                        cycles.append(sorted(component))
    return sorted(cycles)


def test_no_module_of_d2a_imports_itself_round_a_cycle() -> None:
    assert import_cycles("d2a_tui") == []


def write_package(root: Path, name: str, modules: dict[str, str]) -> None:
    (root / name).mkdir()
    (root / name / "__init__.py").write_text("")
    for module, text in modules.items():
        (root / name / f"{module}.py").write_text(text)


def test_the_cycle_finder_finds_cycles_of_any_kind_and_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_package(
        tmp_path,
        "circles",
        {
            # a -> b -> c -> a, the last inside a function (a lazy import is still a cycle)
            "a": "from circles import b\n",
            "b": "import circles.c\n",
            "c": "def later():\n    from circles import a\n",
            # d <-> e, one side only for annotations
            "d": "from circles.e import E\n",
            "e": (
                "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from circles.d import D\n"
                "class E: ...\n"
            ),
            # f -> g, one way: no cycle
            "f": "from circles import g\n",
            "g": "",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("circles") == [
        ["circles.a", "circles.b", "circles.c"],
        ["circles.d", "circles.e"],
    ]


# --- screens reach the data only through the Hub's methods -------------------------------------


def reaches_the_store(path: Path) -> list[str]:
    """`hub.store`, `self.hub.store`, `app.hub.store`…: the store taken from a hub by attribute."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Attribute) and node.attr == "store"):
            continue
        owner = node.value
        name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
        if name == "hub":
            found.append((node.lineno, f"{path.name}:{node.lineno} {ast.unparse(node)}"))
    return [line for _, line in sorted(found)]


@pytest.mark.parametrize("folder", ["screens", "widgets"])
def test_no_screen_reaches_the_store_through_the_hub(folder: str) -> None:
    found = [line for path in modules_under(folder) for line in reaches_the_store(path)]
    found += reaches_the_store(PACKAGE / "app.py")
    assert found == []


def test_the_store_checker_sees_the_store_taken_from_a_hub(tmp_path: Path) -> None:
    screen = tmp_path / "screen.py"
    screen.write_text(
        "card = self.hub.store.card(j)\nengine = hub.store.engine\nshop = self.store\n"
        "capacity = self.hub.capacity.store\n"
    )
    assert reaches_the_store(screen) == [
        "screen.py:1 self.hub.store",
        "screen.py:2 hub.store",
    ]
