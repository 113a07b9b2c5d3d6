"""`d2a import` of sheets as hubs save them: each file here is written the way Excel or LibreOffice
writes it (openpyxl for workbooks, with real date cells and hidden rows; text files with the
separators, line endings, byte-order marks and code pages those programs use).

The hub's clock is frozen at Mon 23 Nov 2026 09:30 UTC, as in test_import.py.
"""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from d2a_tui.cli import main
from d2a_tui.interop.importer import ImportPlan, Planner, apply_import
from d2a_tui.interop.sheet import read_sheet
from d2a_tui.services.hub import Hub

HEADER = ["NHS No", "Patient Name", "DOB", "Admission Date", "Ward", "Pathway", "Date Ready"]
EDNA = ["943 476 5919", "Edna O’Brien", "04/03/1938", "01/11/2026", "Ward 7", "P1", "19/11/2026"]
BOB = ["9434765870", "Bob Renée", "02/01/1940", "12/11/2026", "Ward 9", "P2", ""]


def plan_for(hub: Hub, path: Path, **kwargs: object) -> ImportPlan:
    sheet = read_sheet(path, **kwargs)  # type: ignore[arg-type]
    return Planner(hub.store, hub.calendar, hub.now()).plan(sheet)


def excel_text(rows: list[list[str]], separator: str) -> str:
    """Rows as Excel writes a text file: its separator, CRLF line ends, quotes only when needed."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=separator, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


SAVED_AS = {
    # Excel on a machine set to a European locale: "CSV (semicolon)", in the Windows code page.
    "semicolon-cp1252.csv": lambda rows: excel_text(rows, ";").encode("cp1252"),
    # Excel's "Unicode Text": tab-separated UTF-16 LE with a byte-order mark, named .txt.
    "unicode-text.txt": lambda rows: (
        codecs.BOM_UTF16_LE + excel_text(rows, "\t").encode("utf-16-le")
    ),
    # Excel's "CSV UTF-8": a byte-order mark before the text.
    "csv-utf8.csv": lambda rows: codecs.BOM_UTF8 + excel_text(rows, ",").encode("utf-8"),
    # Excel's plain "CSV" on an English Windows: commas, Windows-1252.
    "csv-windows.csv": lambda rows: excel_text(rows, ",").encode("cp1252"),
    # LibreOffice's "Text CSV" with tab as the field delimiter, UTF-8, LF line ends.
    "libreoffice-tab.tsv": lambda rows: excel_text(rows, "\t").replace("\r\n", "\n").encode(),
}


@pytest.mark.parametrize("name", sorted(SAVED_AS))
def test_text_files_in_every_dialect_and_encoding_are_read(
    hub: Hub, tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(SAVED_AS[name]([HEADER, EDNA, BOB]))
    sheet = read_sheet(path)
    assert [row.values["name"] for row in sheet.rows] == ["Edna O’Brien", "Bob Renée"]
    plan = Planner(hub.store, hub.calendar, hub.now()).plan(sheet)
    assert plan.refused == []
    apply_import(hub.store, plan, hub.actor, hub.now())
    assert sorted(card.name for card in hub.board()) == ["Bob Renée", "Edna O’Brien"]


def test_the_source_is_described_in_words(tmp_path: Path) -> None:
    path = tmp_path / "unicode-text.txt"
    path.write_bytes(SAVED_AS["unicode-text.txt"]([HEADER, EDNA]))
    assert read_sheet(path).source == (
        "text, tab-separated, UTF-16 LE with a byte-order mark (Unicode text)"
    )


def test_every_column_read_and_left_out_is_named_and_dates_left_out_warn(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "caseload.csv"
    rows = [[*HEADER, "Notes"], [*EDNA[:3], "01/11/2025", *EDNA[4:], "likes tea"]]
    path.write_bytes(SAVED_AS["csv-utf8.csv"](rows))
    assert main(["import", str(path), "--dry-run", "--db", database_url]) == 0
    out, err = capsys.readouterr()
    flat = " ".join(out.split())
    assert (
        "caseload.csv: text, comma-separated, UTF-8 with a byte-order mark; header on row 1" in out
    )
    for line in (
        "column A 'NHS No' read as NHS number (by its header)",
        "column B 'Patient Name' read as name (in full)",
        "column C 'DOB' read as date of birth",
        "column D 'Admission Date' read as admission date",
        "column E 'Ward' read as ward",
        "column F 'Pathway' read as pathway",
        "column G 'Date Ready' left out (holds dates:",
        "column H 'Notes' left out (not a field d2a reads",
    ):
        assert line in flat
    warning = "d2a: warning: column G 'Date Ready' holds dates but was left out"
    assert err.startswith(warning)
    # The real run says it again: nobody reads a dry run twice.
    assert main(["import", str(path), "--db", database_url]) == 0
    out, err = capsys.readouterr()
    assert err.startswith(warning) and "imported: create 1" in out


def test_workbook_with_real_dates_old_serials_hidden_rows_and_a_totals_row(
    hub: Hub, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["NHS Number", "Surname", "Forename", "Date of birth", "Admitted", "Pathway"])
    sheet.append(
        ["9434765919", "Ó Briain", "Edna", datetime(1938, 3, 4), datetime(2026, 11, 1), "P1"]
    )
    # A date of birth typed into a cell formatted as a number: Excel's serial, 4 Mar 1938.
    sheet.append([9434765870, "van der Berg", "Bob", 13943, datetime(2026, 11, 12), "P2"])
    sheet.append(
        ["9990000018", "Hidden", "Hal", datetime(1950, 1, 1), datetime(2026, 11, 15), "P3"]
    )
    sheet.row_dimensions[4].hidden = True  # discharged last week, hidden rather than deleted
    sheet.append([])
    sheet.append(["Total", None, None, None, None, 3])
    path = tmp_path / "caseload.xlsx"
    book.save(path)

    plan = plan_for(hub, path)
    assert plan.refused == []
    assert [(row.row, row.action) for row in plan.rows] == [(2, "create"), (3, "create")]
    assert "admitted 2026-11-12" in plan.rows[1].detail
    notes = {note.number: note.what for note in read_sheet(path).row_notes}
    assert notes == {
        4: "hidden in the sheet: left out (--include-hidden takes it)",
        6: "a totals row ('Total'): skipped",
    }
    apply_import(hub.store, plan, hub.actor, hub.now())
    born = {card.name: card.date_of_birth for card in hub.board()}
    assert born == {"Edna Ó Briain": date(1938, 3, 4), "Bob van der Berg": date(1938, 3, 4)}

    taken = plan_for(hub, path, include_hidden=True)
    assert [(row.row, row.action) for row in taken.rows] == [
        (2, "unchanged"), (3, "unchanged"), (4, "create")
    ]  # fmt: skip


def test_a_totals_row_between_people_is_refused_not_skipped(hub: Hub, tmp_path: Path) -> None:
    path = tmp_path / "caseload.csv"
    path.write_text(excel_text([HEADER, EDNA, ["Total", "", "", "", "", "", ""], BOB], ","))
    plan = plan_for(hub, path)
    assert [r.row for r in plan.refused] == [3]
    assert "NHS No" in plan.refused[0].reason


def test_the_dry_run_refuses_what_the_real_run_refuses(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = date.today().strftime("%d/%m/%Y")
    rows = [
        HEADER,
        ["9434765919", "Edna\x07Example", "04/03/1938", today, "Ward 7", "P1", ""],
        ["9434765870", "B" * 101, "02/01/1940", today, "Ward 9", "P2", ""],
        ["9990000018", "Ward Long", "01/01/1950", today, "W" * 65, "P1", ""],
        ["9990000026", "Fine Person", "01/01/1950", today, "Ward 1", "P1", ""],
    ]
    path = tmp_path / "caseload.csv"
    path.write_bytes(SAVED_AS["csv-utf8.csv"](rows))
    assert main(["import", str(path), "--dry-run", "--db", database_url]) == 1
    out, _ = capsys.readouterr()
    assert 'row     2  refused   "Patient Name" holds a control character' in out
    assert 'row     3  refused   "Patient Name" is at most 100 characters' in out
    assert 'row     4  refused   "Ward" is at most 64 characters' in out
    assert "row     5  would create" not in out and "row     5  create" in out
    assert "would create 1" in out and "refused 3" in out
    assert main(["import", str(path), "--db", database_url]) == 1
    assert "nothing was imported" in capsys.readouterr().err


def test_refusals_name_the_sheets_own_headers(hub: Hub, tmp_path: Path) -> None:
    rows = [
        ["Identifier", "Who", "Born", "Came in", "Route", "Hold-up"],
        ["9434765919", "Edna Example", "31/02/1938", "01/11/2026", "P1", ""],
        ["9434765870", "Bob Builder", "02/01/1940", "01/11/2026", "P7", ""],
        ["9990000018", "Cy Clops", "02/01/1940", "01/11/2026", "P1", "waiting for godot"],
        ["1234567890", "Di Git", "02/01/1940", "01/11/2026", "P1", ""],
    ]
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[columns]\nnhs_number = "Identifier"\nname = "Who"\ndate_of_birth = "Born"\n'
        'admitted_on = "Came in"\npathway = "Route"\ndelay_reason = "Hold-up"\n'
    )
    path = tmp_path / "caseload.csv"
    path.write_text(excel_text(rows, ","))
    from d2a_tui.interop.sheet import load_mapping

    sheet = read_sheet(path, mapping=load_mapping(mapping))
    refused = {
        r.row: r.reason for r in Planner(hub.store, hub.calendar, hub.now()).plan(sheet).refused
    }
    assert refused[2].startswith('"Born" ') and "is not a date" in refused[2]
    assert refused[3].startswith('"Route": pathway')
    assert refused[4].startswith('"Hold-up": delay reason')
    assert refused[5].startswith('"Identifier": ')


def test_both_runs_name_the_rows_left_out(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = Workbook()
    sheet = book.active
    today = datetime.combine(date.today(), datetime.min.time())
    sheet.append(["NHS Number", "Name", "DOB", "Admitted"])
    sheet.append(["9434765919", "Edna Example", datetime(1938, 3, 4), today])
    sheet.append(["9434765870", "Bob Builder", datetime(1940, 1, 2), today])
    sheet.row_dimensions[3].hidden = True
    sheet.append(["Totals:", 1])
    path = tmp_path / "caseload.xlsx"
    book.save(path)
    for extra in (["--dry-run"], []):
        assert main(["import", str(path), *extra, "--db", database_url]) == 0
        out = capsys.readouterr().out
        assert "row     3  hidden in the sheet: left out (--include-hidden takes it)" in out
        assert "row     4  a totals row ('Totals:'): skipped" in out
        assert "2 row(s) left out (listed above)" in out


@pytest.mark.parametrize(
    ("name", "data", "said"),
    [
        ("caseload.csv", b"PK\x03\x04 a zip", "an Excel workbook saved under a text name"),
        ("caseload.csv", b"NHS No,Name\r\n\x81\x8d\x8f\r\n", "neither UTF-8 nor Windows-1252"),
        ("caseload.txt", codecs.BOM_UTF16_LE + b"\x00\xd8", "is not valid in it"),
    ],
)
def test_files_that_are_not_text_are_one_line(
    database_url: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    name: str,
    data: bytes,
    said: str,
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert main(["import", str(path), "--dry-run", "--db", database_url]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("d2a: ") and said in err and len(err.splitlines()) == 1


CP1252_TEXT = st.text(
    alphabet=st.characters(codec="cp1252", categories=("L", "N", "P", "S", "Zs")),
    min_size=1,
    max_size=30,
).filter(lambda text: text.strip() == text and "  " not in text and text.strip())


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(CP1252_TEXT, min_size=1, max_size=5),
    wards=st.lists(CP1252_TEXT, min_size=5, max_size=5),
    saved_as=st.sampled_from(sorted(SAVED_AS)),
)
def test_any_cell_text_reads_back_as_written_in_every_dialect(
    tmp_path_factory: pytest.TempPathFactory, names: list[str], wards: list[str], saved_as: str
) -> None:
    rows = [["NHS No", "Patient Name", "DOB", "Admission Date", "Ward"]]
    rows += [
        ["9434765919", name, "04/03/1938", "01/11/2026", ward]
        for name, ward in zip(names, wards, strict=False)
    ]
    path = tmp_path_factory.mktemp("dialect") / saved_as
    path.write_bytes(SAVED_AS[saved_as](rows))
    sheet = read_sheet(path)
    assert [(row.values["name"], row.values["ward"]) for row in sheet.rows] == [
        (row[1], row[4]) for row in rows[1:]
    ]


def test_a_line_break_typed_in_a_cell_stays_in_its_cell(hub: Hub, tmp_path: Path) -> None:
    # Alt+Enter in Excel: the cell is quoted and holds a CRLF; the row is still one row.
    rows = [HEADER, ["9434765919", "Edna\r\nExample", *EDNA[2:]], BOB]
    path = tmp_path / "caseload.csv"
    path.write_bytes(SAVED_AS["csv-utf8.csv"](rows))
    plan = plan_for(hub, path)
    assert plan.refused == [] and len(plan.rows) == 2
    apply_import(hub.store, plan, hub.actor, hub.now())
    assert sorted(card.name for card in hub.board()) == ["Bob Renée", "Edna Example"]
