"""One writer of the event log: no module but `storage/event_log.py` inserts, updates or deletes
`journey_event` rows, by the table object, by the ORM class, or in raw SQL. A new writer that
bypasses the field limits fails here, whatever it is called."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OWNER = ROOT / "d2a_tui" / "storage" / "event_log.py"
SCANNED = [ROOT / "d2a_tui", ROOT / "bench"]
WRITES = {"insert", "update", "delete"}
RAW_SQL = re.compile(r"\b(insert\s+into|copy|update|delete\s+from)\s+\"?journey_event\b", re.I)


def _event_table_names(tree: ast.Module) -> set[str]:
    """Names a module binds to the event table: `JourneyEvent` (storage.models' Core table) or
    `event_table`, imported under any alias, or assigned from either (`table_of(JourneyEvent)`,
    `JourneyEvent.__table__` when it was a SQLModel class)."""
    names = {"event_table", "JourneyEvent"}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names |= {
                alias.asname or alias.name
                for alias in node.names
                if alias.name in ("event_table", "JourneyEvent")
            }
        elif isinstance(node, ast.Assign) and "JourneyEvent" in ast.unparse(node.value):
            names |= {ast.unparse(target) for target in node.targets}
    return names


def writes_to_the_event_log(source: str) -> list[str]:
    """Each place in `source` that writes journey_event rows, as `line: code`."""
    tree = ast.parse(source)
    tables = _event_table_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        code = ast.unparse(node)[:80]
        # event_table.insert(), events.delete()...
        if (
            isinstance(function, ast.Attribute)
            and function.attr in WRITES
            and ast.unparse(function.value) in tables
        ):
            found.append(f"{node.lineno}: {code}")
        # insert(event_table), delete(events)...
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
        if name in WRITES and any(ast.unparse(arg) in tables for arg in node.args):
            found.append(f"{node.lineno}: {code}")
        # session.add(JourneyEvent(...))
        if name == "JourneyEvent":
            found.append(f"{node.lineno}: {code}")
        # a helper handed the table's name (a bulk loader building its own INSERT or COPY);
        # the table's declaration (`Table("journey_event", ...)` in storage.models) writes nothing
        if name != "Table" and any(
            isinstance(arg, ast.Constant) and arg.value == "journey_event" for arg in node.args
        ):
            found.append(f"{node.lineno}: {code}")
        # raw SQL
        for arg in node.args:
            if isinstance(arg, ast.Constant | ast.JoinedStr) and RAW_SQL.search(ast.unparse(arg)):
                found.append(f"{node.lineno}: {code}")
    return found


def test_only_the_event_log_writes_events() -> None:
    offenders = {}
    for folder in SCANNED:
        for path in folder.rglob("*.py"):
            if path == OWNER or "migrations" in path.parts:
                continue
            found = writes_to_the_event_log(path.read_text(encoding="utf-8"))
            if found:
                offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}, "events must be appended through storage/event_log.py"


def test_the_owner_itself_is_found_writing() -> None:
    # The scan must be able to fail: on the owner it finds its own inserts.
    assert writes_to_the_event_log(OWNER.read_text(encoding="utf-8"))


def test_every_way_round_the_event_log_is_caught() -> None:
    bypasses = {
        "from d2a_tui.storage.journeys import event_table\nc.execute(event_table.insert(), rows)": 1,
        "from x import event_table as ev\nc.execute(ev.delete().where(1))": 1,
        "t = JourneyEvent.__table__\nc.execute(insert(t).values(a=1))": 1,
        "t = table_of(JourneyEvent)\nc.execute(t.insert())": 1,
        "from d2a_tui.storage.models import JourneyEvent as E\nc.execute(insert(E).values(a=1))": 1,
        "c.execute(JourneyEvent.delete().where(1))": 1,
        "session.add(JourneyEvent(event_id='x'))": 1,
        "c.exec_driver_sql('INSERT INTO journey_event (position) VALUES (1)')": 1,
        "raw.cursor().copy(f'COPY journey_event ({cols}) FROM STDIN')": 1,
        "_insert_sqlite(connection, 'journey_event', rows)": 1,
        "JourneyEvent = Table('journey_event', metadata, Column('position', Integer))": 0,
        "c.execute(select(event_table).where(event_table.c.seq == 1))": 0,  # reading is fine
    }
    for source, expected in bypasses.items():
        assert len(writes_to_the_event_log(source)) == expected, source
