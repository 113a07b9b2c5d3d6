"""Report results as plain tables, and the writers for them: a terminal table, CSV and JSON.

A report is a list of titled tables so that the CLI, the dashboard and the CSV export all show
the same rows with the same headers (the sitrep's own wording, as in DOMAIN.md).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from d2a_tui.domain.cells import spreadsheet_cell
from d2a_tui.domain.display import json_shown, shown, terminal_text

FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class Table:
    id: str
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str | None = None

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def row(self, first_cell: Any) -> tuple[Any, ...]:
        """The row whose first cell is `first_cell` (e.g. a pathway or a category)."""
        for row in self.rows:
            if row[0] == first_cell:
                return row
        raise KeyError(first_cell)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "columns": list(self.columns),
            "rows": [dict(zip(self.columns, row, strict=True)) for row in self.rows],
            "note": self.note,
        }


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    parameters: dict[str, Any]
    tables: tuple[Table, ...]
    generated_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self, table_id: str) -> Table:
        for table in self.tables:
            if table.id == table_id:
                return table
        raise KeyError(table_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "title": self.title,
            "parameters": self.parameters,
            "generated_at": self.generated_at,
            "tables": [table.to_dict() for table in self.tables],
        }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def _csv_cell(value: Any) -> str:
    text = _cell(value)
    return text if isinstance(value, int | float) else spreadsheet_cell(text)


def to_csv(report: Report) -> str:
    """Each table as a CSV block (header row first); blocks are separated by one empty line."""
    out = io.StringIO()
    for index, table in enumerate(report.tables):
        if index:
            out.write("\r\n")
        writer = csv.writer(out)
        writer.writerow([spreadsheet_cell(str(column)) for column in table.columns])
        for row in table.rows:
            # Text is made inert for a spreadsheet (a name starting `=` is not a formula).
            writer.writerow([_csv_cell(value) for value in row])
    return terminal_text(out.getvalue())  # a service's name holds no control, even in a file


def _json_default(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def to_json(report: Report) -> str:
    document = json.dumps(report.to_dict(), default=_json_default, indent=2, ensure_ascii=False)
    return json_shown(document) + "\n"


def to_text(report: Report, width: int | None = None, *, wrap: bool = True) -> str:
    """Rich tables rendered to text (what `--format table` prints). With `wrap=False` (output to
    a file or a pipe) no cell is ever folded onto a second line, however wide the table."""
    from rich.console import Console
    from rich.table import Table as RichTable
    from rich.text import Text

    if not wrap:
        width = 10_000  # tables are not expanded, so this only lifts the limit
    console = Console(file=io.StringIO(), width=width or 120, record=True, force_terminal=False)
    # Literal text: a service's or a column's name is data, never Rich markup.
    console.print(Text(shown(report.title), style="bold"))
    for table in report.tables:
        rich_table = RichTable(title=Text(shown(table.title)), title_justify="left", expand=False)
        for index, name in enumerate(table.columns):
            rich_table.add_column(
                Text(shown(name)),
                justify="left" if index == 0 else "right",
                overflow="fold",
                no_wrap=not wrap,
            )
        for row in table.rows:
            rich_table.add_row(*(Text(shown(_cell(value))) for value in row))
        console.print(rich_table)
        if table.note:
            console.print(Text(shown(table.note), style="dim"))
    return console.export_text()


def render(report: Report, fmt: str) -> str:
    if fmt == "csv":
        return to_csv(report)
    if fmt == "json":
        return to_json(report)
    return to_text(report)
