"""`d2a import`: a caseload sheet in, with its real dates, all or nothing, and idempotent.

The hub's clock is frozen at Mon 23 Nov 2026 09:30 UTC (GMT in November: UTC days are local days).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import Workbook

from d2a_tui.cli import main
from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.events import EventKind
from d2a_tui.interop.importer import ImportPlan, Planner, apply_import
from d2a_tui.interop.sheet import load_mapping, read_sheet
from d2a_tui.services.hub import Hub

HEADER = (
    "NHS No,Patient Name,DOB,Admission Date,Ward,Bed,Pathway,Status,Referral date,DRD,Delay reason"
)
EDNA = "943 476 5919,Edna Example,04/03/1938,01/11/2026,Ward 7,B3,Pathway 1,Awaiting P1,10/11/2026,9-Nov-26,P1CARE"
BOB = "9434765870,Bob Builder,1940-01-02,46320,Ward 9,,pw2,,12/11/2026,15/11/2026,Pathway 2: awaiting availability of rehabilitation bed in community hospital or other bedded setting"


def write(tmp_path: Path, *lines: str, name: str = "caseload.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def plan_for(hub: Hub, path: Path, **kwargs: object) -> ImportPlan:
    return Planner(hub.store, hub.calendar, hub.now()).plan(read_sheet(path, **kwargs))  # type: ignore[arg-type]


def run(hub: Hub, path: Path) -> int:
    plan = plan_for(hub, path)
    return apply_import(hub.store, plan, hub.actor, hub.now())


def test_imported_journeys_start_with_their_real_dates(hub: Hub, tmp_path: Path) -> None:
    run(hub, write(tmp_path, HEADER, EDNA, BOB))
    cards = {card.name: card for card in hub.board()}
    edna, bob = cards["Edna Example"], cards["Bob Builder"]
    assert (edna.column, edna.pathway, edna.delay_reason) == ("await_p1", "P1", "P1CARE")
    assert edna.admitted_on == date(2026, 11, 1)
    assert edna.referred_at == datetime(2026, 11, 10, 12, tzinfo=UTC)  # midday, on its day
    assert edna.discharge_ready_date == date(2026, 11, 9)
    # Bob: no status, pathway "pw2" -> Awaiting P2; Excel serial 46320 = 25 Oct 2026 (46340 is
    # 14 Nov, counting back 20 days); ready 15 Nov arrives after the referral as its own event.
    assert (bob.column, bob.admitted_on) == ("await_p2", date(2026, 10, 25))
    kinds = [(e.kind, e.occurred_at.date()) for e in hub.store.events(bob.journey_id)]
    assert kinds == [
        (EventKind.REFERRED, date(2026, 11, 12)),
        (EventKind.MOVED, date(2026, 11, 12)),
        (EventKind.MOVED, date(2026, 11, 12)),
        (EventKind.READY_DATE_SET, date(2026, 11, 15)),
        (EventKind.DELAY_SET, date(2026, 11, 15)),
    ]
    # The events were recorded now, though they happened earlier.
    recorded = {entry.recorded_at for entry in hub.journey(bob.journey_id).timeline}
    assert recorded == {hub.now()}


def test_sitrep_is_right_from_day_one_after_an_import(hub: Hub, tmp_path: Path) -> None:
    run(hub, write(tmp_path, HEADER, EDNA, BOB))
    # End of 14 Nov: Edna (ready 9 Nov, in hospital) is NCTR on P1; Bob is ready only from 15 Nov.
    daily = hub.reports.sitrep("2026-11-14").table("daily")
    assert daily.row("P1")[3] == 1 and daily.row("P2")[3] == 0
    # End of 20 Nov: both. Weekly cohorts: Edna LoS 19 days (1 -> 20 Nov), Bob 26 days
    # (25 Oct -> 20 Nov), so both are in 7+ and 14+, Bob alone in 21+. Bed days since ready:
    # Edna 20 - 9 = 11, Bob 20 - 15 = 5 -> 16 in 7+ and 14+, 5 in 21+.
    report = hub.reports.sitrep("2026-11-20", week=True)
    assert report.table("daily").row("Total")[3] == 2
    cohorts = report.table("weekly_cohorts")
    assert cohorts.row("7+ days")[1:] == (2, 16)
    assert cohorts.row("14+ days")[1:] == (2, 16)
    assert cohorts.row("21+ days")[1:] == (1, 5)


def test_reimporting_the_same_file_changes_nothing(hub: Hub, tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, EDNA, BOB)
    # Edna: refer (her ready date, 9 Nov, precedes the referral, so it rides on it), 2 moves,
    # delay = 4; Bob: refer, 2 moves, ready (15 Nov, after his referral), delay = 5.
    assert run(hub, path) == 9
    head = hub.head_position()
    plan = plan_for(hub, path)
    assert [row.action for row in plan.rows] == ["unchanged", "unchanged"]
    assert apply_import(hub.store, plan, hub.actor, hub.now()) == 0
    assert hub.head_position() == head


def test_a_changed_row_updates_the_journey_now(hub: Hub, tmp_path: Path) -> None:
    run(hub, write(tmp_path, HEADER, EDNA))
    moved = EDNA.replace("Ward 7,B3", "Ward 9,C1").replace("P1CARE", "EQUIP")
    plan = plan_for(hub, write(tmp_path, HEADER, moved, name="today.csv"))
    assert [(row.action, [s.command for s in row.steps]) for row in plan.rows] == [
        ("update", ["set_ward", "set_delay"])
    ]
    apply_import(hub.store, plan, hub.actor, hub.now())
    card = hub.board()[0]
    assert (card.ward, card.bed, card.delay_reason) == ("Ward 9", "C1", "EQUIP")
    assert hub.store.events(card.journey_id)[-1].occurred_at == hub.now()


BAD_ROWS = [
    EDNA,
    ",,,,,,,,,,",
    "1234567890,Bad Number,01/01/1950,20/11/2026,Ward 1,,P1,,,,",
    "9434765919,Edna Twice,04/03/1938,16/11/2026,Ward 7,,P1,,,,",
    "9990000018,Future Fred,01/01/1950,20/12/2026,Ward 1,,P1,,,,",
    "9990000026,Odd Pathway,01/01/1950,20/11/2026,Ward 1,,P7,,,,",
    "9990000034,Odd Delay,01/01/1950,20/11/2026,Ward 1,,P1,,,,waiting for godot",
    "9990000042,Odd Date,01/01/1950,31/02/2026,Ward 1,,P1,,,,",
]


def test_bad_rows_are_refused_by_row_number_and_nothing_is_applied(
    hub: Hub, tmp_path: Path
) -> None:
    plan = plan_for(hub, write(tmp_path, HEADER, *BAD_ROWS))
    refused = {r.row: r.reason for r in plan.refused}
    assert plan.blank_rows == [3]
    assert sorted(refused) == [2, 4, 5, 6, 7, 8, 9]
    assert "rows 2, 5" in refused[2] and "rows 2, 5" in refused[5]
    assert "check digit" in refused[4]
    assert "in the future" in refused[6]
    assert "pathway 'P7'" in refused[7]
    assert "delay reason 'waiting for godot'" in refused[8]
    assert "not a date" in refused[9]
    with pytest.raises(D2AError, match="nothing was imported"):
        apply_import(hub.store, plan, hub.actor, hub.now())
    assert hub.board() == []


def test_a_clash_while_applying_rolls_the_whole_import_back(hub: Hub, tmp_path: Path) -> None:
    plan = plan_for(hub, write(tmp_path, HEADER, BOB, EDNA))
    # Between the dry run and the real run, someone refers Edna by hand with another admission.
    hub.refer("9434765919", "Edna Example", "1938-03-04", admitted_on="2026-11-20")
    head = hub.head_position()
    with pytest.raises(
        D2AError, match=r"row 3: .*already has an open journey.*nothing was imported"
    ):
        apply_import(hub.store, plan, hub.actor, hub.now())
    assert hub.head_position() == head
    assert [card.name for card in hub.board()] == ["Edna Example"]


def test_excel_dates_serials_named_sheet_and_merged_cells(hub: Hub, tmp_path: Path) -> None:
    book = Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("Caseload")
    sheet.append(["Transfer of care hub caseload (synthetic)"])
    sheet.merge_cells("A1:F1")  # a merged title above the header is fine
    sheet.append(
        ["NHS Number", "Surname", "Forename", "Date of birth", "Admitted", "Proposed pathway"]
    )
    sheet.append(
        ["9434765919", "Example", "Edna", datetime(1938, 3, 4), datetime(2026, 11, 14), "P1"]
    )
    sheet.append([9434765870, "Builder", "Bob", datetime(1940, 1, 2), 46340, "Pathway 2"])
    sheet.append(["9990000018", "Merged", "Mo", datetime(1950, 1, 1), datetime(2026, 11, 15), "P3"])
    sheet.merge_cells("F5:F6")
    sheet.append(["9990000026", "Merged", "Mia", datetime(1950, 1, 1), datetime(2026, 11, 15)])
    path = tmp_path / "caseload.xlsx"
    book.save(path)
    plan = plan_for(hub, path, sheet_name="Caseload")
    assert [(r.row, r.column) for r in plan.rows] == [(3, "await_p1"), (4, "await_p2")]
    assert [(r.row, r.reason.split(":")[0]) for r in plan.refused] == [
        (5, "merged cells"), (6, "merged cells")
    ]  # fmt: skip
    assert "admitted 2026-11-14" in plan.rows[1].detail  # serial 46340 = 14 Nov 2026


def test_a_mapping_file_names_the_sheets_own_headers(hub: Hub, tmp_path: Path) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        '[columns]\nnhs_number = "Identifier"\nadmitted_on = "Came in"\nname = "Who"\n'
    )
    path = write(
        tmp_path, "Identifier,Who,DOB,Came in", "9434765919,Edna Example,04/03/1938,14/11/2026"
    )
    sheet = read_sheet(path, mapping=load_mapping(mapping))
    assert sheet.fields["admitted_on"] == "Came in"
    plan = Planner(hub.store, hub.calendar, hub.now()).plan(sheet)
    assert [r.action for r in plan.rows] == ["create"]
    bad = tmp_path / "bad.toml"
    bad.write_text('[columns]\nshoe_size = "Shoe"\n')
    with pytest.raises(D2AError, match="unknown field 'shoe_size'"):
        load_mapping(bad)


def days_ago(days: int) -> str:
    return (date.today() - timedelta(days=days)).strftime("%d/%m/%Y")


def test_cli_dry_run_then_real_run(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CLI runs on the real clock: dates relative to today.
    good = f"9434765919,Edna Example,04/03/1938,{days_ago(5)},Ward 7,B3,P1,,,,"
    bad = f"9990000018,Future Fred,01/01/1950,{(date.today() + timedelta(days=3)).strftime('%d/%m/%Y')},Ward 1,,P1,,,,"
    path = write(tmp_path, HEADER, good, bad)
    assert main(["import", str(path), "--dry-run", "--db", database_url]) == 1
    out, err = capsys.readouterr()
    assert "row     2  create" in out and 'row     3  refused   "Admission Date"' in out
    assert err.strip() == "d2a: 1 row(s) cannot be imported as they stand"
    assert main(["import", str(path), "--db", database_url]) == 1
    out, err = capsys.readouterr()
    assert err.startswith("d2a: 1 row(s) cannot be imported") and "nothing was imported" in err
    path = write(tmp_path, HEADER, good)
    assert main(["import", str(path), "--db", database_url]) == 0
    assert "imported: create 1" in capsys.readouterr().out
    assert main(["import", str(tmp_path / "missing.csv"), "--db", database_url]) == 1
    assert capsys.readouterr().err.startswith("d2a: ")
