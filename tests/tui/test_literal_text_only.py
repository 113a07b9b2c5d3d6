"""Text reaches a widget only through widgets/literal (issue 20, section 2): no screen or widget
hands Textual a string it builds from values, which Textual would read as markup.

Read from the source: a call that puts text into a widget (`Static(…)`, `Label(…)`, `Option(…)`,
`.update(…)`, `add_row(…)`, `add_column(s)(…)`) must not be given an f-string with values, a
`+` of strings or a `.format(…)`; those go through `literal(…)`/`cell(…)` (or, for
toasts, the app's `notify`, which makes every message literal).
"""

from __future__ import annotations

import ast
from pathlib import Path

import d2a_tui

ROOT = Path(d2a_tui.__file__).parent
TEXT_CALLS = {"Static", "Label", "Option", "update", "add_row", "add_column", "add_columns"}


def _built_from_values(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(part, ast.FormattedValue) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return True
    if isinstance(node, ast.IfExp):
        return _built_from_values(node.body) or _built_from_values(node.orelse)
    if isinstance(node, ast.Starred):
        return _built_from_values(node.value)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    # `"…".format(…)` and `"…".join(…)` build a str; `Text("\n").join(…)` joins literal Text.
    return node.func.attr == "format" or (
        node.func.attr == "join" and isinstance(node.func.value, ast.Constant)
    )


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def offending_calls() -> list[str]:
    found = []
    for path in sorted([*ROOT.glob("screens/*.py"), *ROOT.glob("widgets/*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and _name(node) in TEXT_CALLS
                and any(_built_from_values(arg) for arg in node.args)
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {_name(node)}(…)")
    return found


def test_no_screen_puts_text_built_from_values_into_a_widget_without_literal() -> None:
    assert offending_calls() == []


def test_the_check_sees_an_f_string_given_to_a_widget() -> None:
    # The check can fail: the shape that crashed the journey screen is caught.
    source = 'Static("").update(f"[b]{card.name}[/b]")'
    call = ast.parse(source).body[0].value  # type: ignore[attr-defined]
    assert _name(call) == "update" and _built_from_values(call.args[0])
