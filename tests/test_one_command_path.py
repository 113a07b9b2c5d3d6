"""One command path: every journey event is made by the domain's `handle`.

Scanned from the source, so a second copy of the rules (a writer that builds its own `Event`)
fails here when it is written, not when the two copies drift apart. Tests and bench scripts may
build events; d2a_tui may not, outside `domain/handler.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import d2a_tui

PACKAGE = Path(d2a_tui.__file__).parent
HANDLER = "d2a_tui/domain/handler.py"
# Where history is read back or replayed, never decided: the log's reader, the seed's simulated
# years, a replica's pending referral as it decided it then.
RECORDERS = {
    HANDLER,
    "d2a_tui/storage/event_log.py",
    "d2a_tui/seed/journeys.py",
    "d2a_tui/sync/rebuild.py",
}


EVENTS_MODULE = "d2a_tui.domain.events"


def _modules() -> list[tuple[str, ast.Module]]:
    return [
        (path.relative_to(PACKAGE.parent).as_posix(), ast.parse(path.read_text(encoding="utf-8")))
        for path in sorted(PACKAGE.rglob("*.py"))
    ]


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _calls(name: str) -> dict[str, list[int]]:
    """Modules of d2a_tui calling `name(...)` (bare or as an attribute), with their lines."""
    found: dict[str, list[int]] = {}
    for module, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _called_name(node) == name:
                found.setdefault(module, []).append(node.lineno)
    return found


def _event_constructions() -> dict[str, list[int]]:
    """Where the domain's `Event` (not threading's or asyncio's) is called, however imported:
    `Event(...)`, `E(...)` after `import ... Event as E`, `events.Event(...)`."""
    found: dict[str, list[int]] = {}
    for module, tree in _modules():
        names = {"Event"} if module == "d2a_tui/domain/events.py" else set()
        modules = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == EVENTS_MODULE:
                names |= {a.asname or a.name for a in node.names if a.name == "Event"}
            elif isinstance(node, ast.ImportFrom) and node.module == "d2a_tui.domain":
                modules |= {a.asname or a.name for a in node.names if a.name == "events"}
            elif isinstance(node, ast.Import):
                modules |= {a.asname or a.name for a in node.names if a.name == EVENTS_MODULE}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            called = node.func
            direct = isinstance(called, ast.Name) and called.id in names
            dotted = (
                isinstance(called, ast.Attribute)
                and called.attr == "Event"
                and ast.unparse(called.value) in modules
            )
            if direct or dotted:
                found.setdefault(module, []).append(node.lineno)
    return found


def test_an_event_is_constructed_in_the_domain_handler_only() -> None:
    builders = _event_constructions()
    assert list(builders) == [HANDLER], f"Event( is constructed outside {HANDLER}: {builders}"


def test_recorded_events_are_rebuilt_only_where_history_is_read() -> None:
    readers = set(_calls("recorded_event"))
    assert readers <= RECORDERS, (
        f"recorded_event( used to make a new event in {readers - RECORDERS}"
    )


def test_the_rules_are_asked_through_handle_only() -> None:
    """`decide` and `compensate` (the rules) are called by `handle` alone: a writer that calls
    them itself has a second command path."""
    for rule in ("decide", "compensate"):
        callers = set(_calls(rule)) - {"d2a_tui/domain/commands.py"}
        assert callers == {HANDLER}, f"{rule}( is called outside {HANDLER}: {callers}"
