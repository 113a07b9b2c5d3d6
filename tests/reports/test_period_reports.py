"""Length of stay and flow reports against figures worked out by hand (scenario in conftest.py),
and the fold's bookkeeping: read a few events at a time or all at once, the figures agree."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from d2a_tui.domain.errors import InvalidInput
from d2a_tui.reports.fold import Folder
from d2a_tui.reports.tables import to_csv, to_json
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock
from tests.reports.conftest import Scenario, build


def test_length_of_stay_by_stage_and_pathway(scenario: Scenario) -> None:
    report = scenario.hub.reports.los("2026-11-10", "2026-11-23")
    stages = report.table("los_stages")
    # Discharges: C 12 Nov (admitted 9 Nov: 3 days), E 13 Nov (7 Nov: 6), A 20 Nov (1 Nov: 19),
    # D 23 Nov (12 Nov: 11). Sorted 3, 6, 11, 19: nearest-rank median = 2nd = 6,
    # p90 = ceil(3.6) = 4th = 19.
    assert stages.row("Hospital (admission to discharge)")[1:] == (4, 6, 19, 19)
    # E was in a P2 bed from 13 to 22 Nov: 9 days. A is still on P1: no P1 stage has ended.
    assert stages.row("P2 (short-term bed)")[1:] == (1, 9, 9, 9)
    assert stages.row("P1 (home with support)")[1:] == (0, None, None, None)

    pathways = report.table("los_pathways")
    # Days from discharge-ready to discharge: C 12-11 = 1, E 13-9 = 4, A 20-15 = 5 (the clock
    # restarted on 15 Nov, not 9 Nov), D 23-16 = 7.
    assert pathways.row("P0")[1:] == (1, 3, 3, 3, 1, 1, 1)
    assert pathways.row("P1")[1:] == (1, 19, 19, 19, 5, 5, 5)
    assert pathways.row("P2")[1:] == (1, 6, 6, 6, 4, 4, 4)
    assert pathways.row("P3")[1:] == (1, 11, 11, 11, 7, 7, 7)


def test_length_of_stay_for_an_earlier_period(scenario: Scenario) -> None:
    stages = scenario.hub.reports.los("2026-11-10", "2026-11-16").table("los_stages")
    # Only C (3 days) and E (6 days) left hospital: median = 1st = 3, p90 = ceil(1.8) = 2nd = 6.
    assert stages.row("Hospital (admission to discharge)")[1:] == (2, 3, 6, 6)
    assert stages.row("P2 (short-term bed)")[1] == 0  # E's bed stay ended on 22 Nov


# NCTR remaining at the end of each day, worked out from the scenario (P0, P1, P2, P3):
EXPECTED_NCTR = {
    date(2026, 11, 10): (0, 1, 2, 0),  # A (ready 9 Nov) awaiting P1; B and E awaiting P2
    date(2026, 11, 11): (1, 1, 2, 0),  # C ready 11 Nov, awaiting P0
    date(2026, 11, 12): (0, 0, 2, 0),  # A meets the criteria again; C went home
    date(2026, 11, 13): (0, 0, 1, 0),  # E into a P2 bed; D has no ready date yet
    date(2026, 11, 14): (0, 0, 1, 0),
    date(2026, 11, 15): (0, 1, 1, 0),  # A ready again
    date(2026, 11, 16): (0, 1, 1, 1),  # D ready
    date(2026, 11, 19): (0, 1, 1, 1),
    date(2026, 11, 20): (0, 0, 1, 1),  # A home on P1
    date(2026, 11, 23): (0, 0, 1, 0),  # D to a care home
}


def test_flow_report_day_by_day(scenario: Scenario) -> None:
    table = scenario.hub.reports.flow("2026-11-10", "2026-11-23").table("flow")
    rows = {row[0]: dict(zip(table.columns, row, strict=True)) for row in table.rows}
    assert len(rows) == 14
    assert [rows[date(2026, 11, d)]["Referrals"] for d in (10, 11, 12, 13, 14)] == [3, 1, 0, 1, 0]
    assert rows[date(2026, 11, 12)]["Discharges P0"] == 1
    assert rows[date(2026, 11, 13)]["Discharges P2"] == 1
    assert rows[date(2026, 11, 20)]["Discharges P1"] == 1
    assert rows[date(2026, 11, 23)]["Discharges P3"] == 1
    assert sum(row["Discharges total"] for row in rows.values()) == 4
    for day, expected in EXPECTED_NCTR.items():
        got = tuple(rows[day][f"NCTR {p}"] for p in ("P0", "P1", "P2", "P3"))
        assert got == expected, day
        assert rows[day]["NCTR total"] == sum(expected)


def test_csv_and_json_use_the_sitrep_wording(scenario: Scenario) -> None:
    report = scenario.hub.reports.sitrep("2026-11-12", week=True, month=True)
    text = to_csv(report)
    first_line = text.splitlines()[0]
    assert first_line == (
        "Pathway,Patients who no longer meet the criteria to reside,"
        "Of those, patients discharged,"
        "Patients remaining in hospital who no longer meet the criteria to reside"
    ).replace("Of those, patients discharged", '"Of those, patients discharged"')
    assert "P0,1,1,0" in text
    document = json.loads(to_json(report))
    daily = document["tables"][0]["rows"]
    assert daily[-1]["Pathway"] == "Total"
    assert daily[-1]["Patients who no longer meet the criteria to reside"] == 3


def test_folding_a_few_events_at_a_time_gives_the_same_figures_as_a_rebuild(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    hub = make_hub()
    build(hub, clock, read_between=True)
    incremental = [
        hub.reports.sitrep("2026-11-16", week=True, month=True).to_dict()["tables"],
        hub.reports.flow("2026-11-10", "2026-11-23").to_dict()["tables"],
        hub.reports.los("2026-11-10", "2026-11-23").to_dict()["tables"],
    ]
    assert hub.reports.rebuild() > 0  # folds the whole log again from nothing
    rebuilt = [
        hub.reports.sitrep("2026-11-16", week=True, month=True).to_dict()["tables"],
        hub.reports.flow("2026-11-10", "2026-11-23").to_dict()["tables"],
        hub.reports.los("2026-11-10", "2026-11-23").to_dict()["tables"],
    ]
    assert incremental == rebuilt
    assert (
        rebuilt[0][0]["rows"][-1][
            "Patients remaining in hospital who no longer meet the criteria to reside"
        ]
        == 3
    )


def test_an_undone_discharge_is_taken_back(scenario: Scenario) -> None:
    hub, ids = scenario.hub, scenario.ids
    before = hub.reports.sitrep().table("daily").row("P2")
    change = hub.move(ids["B"], "in_p2")  # B leaves for a P2 bed at 09:30 today …
    assert hub.reports.sitrep().table("daily").row("P2")[1:] == (1, 1, 0)
    hub.undo(change.event)  # … no: it was a mistake
    assert hub.reports.sitrep().table("daily").row("P2") == before
    assert hub.reports.flow("2026-11-23", "2026-11-23").table("flow").rows[0][4] == 0


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [("2026-11-20", "2026-11-10", "after"), ("2026-02-30", "2026-11-10", "not a date"),
     ("2026-11-01", "2026-12-01", "in the future"), ("2020-01-01", "2026-11-10", "at most")],
)  # fmt: skip
def test_bad_periods_are_refused(scenario: Scenario, first: str, last: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        scenario.hub.reports.los(first, last)


def test_a_discharge_just_after_midnight_in_summer_counts_on_the_local_day() -> None:
    folder = Folder(lambda column: True)
    referred = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)
    cursor = folder.fold(None, "referred", {"column": "referred", "pathway": "P0",
                                             "admitted_on": "2026-05-30",
                                             "discharge_ready_date": "2026-06-01",
                                             "patient": {"locality": "Stockport"}}, referred)  # fmt: skip
    # 23:30 UTC on 1 June is 00:30 BST on 2 June in England.
    folder.fold(cursor, "closed", {"from": "referred", "to": "closed", "pathway": "P0",
                                   "discharged": True, "outcome": "home_independent",
                                   "destination": "P0_HOME"},
                datetime(2026, 6, 1, 23, 30, tzinfo=UTC))  # fmt: skip
    discharges = {k[1]: v for k, v in folder.deltas.items() if k[0] == "discharges"}
    assert discharges == {date(2026, 6, 2): 1}
    los = {k[4]: v for k, v in folder.deltas.items() if k[0] == "los_hospital"}
    assert los == {"3": 1}  # 30 May to 2 June
