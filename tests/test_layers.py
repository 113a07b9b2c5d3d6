"""The architecture's one-way dependencies, enforced: a layer rule a test checks is one that lasts.

domain imports nothing of ours outside domain; storage, sync and reports never import Textual;
screens and widgets never touch SQL or HTTP, they call the Hub.
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
            if name.split(".")[0] in forbidden or any(name.startswith(f"{f}.") or name == f for f in forbidden):
                problems.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return problems


def test_domain_imports_nothing_of_ours_outside_domain() -> None:
    problems = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in modules_under("domain")
        for name in imported_modules(path)
        if name.startswith("d2a_tui.") and not name.startswith("d2a_tui.domain")
    ]
    problems += forbidden_imports("domain", ("textual", "sqlalchemy", "sqlmodel", "httpx", "fastapi"))
    assert problems == []


@pytest.mark.parametrize("folder", ["storage", "sync", "reports"])
def test_core_layers_never_import_textual(folder: str) -> None:
    if not (PACKAGE / folder).exists():
        pytest.skip(f"{folder} not present")
    assert forbidden_imports(folder, ("textual", "d2a_tui.screens", "d2a_tui.widgets", "d2a_tui.app")) == []


@pytest.mark.parametrize("folder", ["screens", "widgets"])
def test_screens_and_widgets_never_touch_sql_or_http(folder: str) -> None:
    if not (PACKAGE / folder).exists():
        pytest.skip(f"{folder} not present")
    forbidden = ("sqlalchemy", "sqlmodel", "httpx", "psycopg", "d2a_tui.storage", "d2a_tui.sync.client")
    assert forbidden_imports(folder, forbidden) == []


def test_the_rule_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import sqlalchemy\nfrom textual.app import App\n")
    assert imported_modules(bad) == {"sqlalchemy", "textual.app"}
