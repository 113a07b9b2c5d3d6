"""One reading of a discharge-ready date entered late ("as now known": from the date itself, in
every figure), and the figures "as known at" a past moment (only what had been recorded by then).
November: GMT, so local = UTC."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from d2a_tui.cli import main
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock, refer_someone
from tests.reports.conftest import daily_row, local, run_timeline


def _timeline(hub: Hub, clock: FrozenClock) -> dict[str, str]:
    ids: dict[str, str] = {}
    run_timeline(clock, [
        # B: admitted Thu 5 Nov, awaiting a P2 bed, no ready date yet
        ("2026-11-10 09:00", lambda: ids.setdefault("B", refer_someone(
            hub, 1, admitted_on="2026-11-05", pathway="P2"))),
        ("2026-11-10 09:10", lambda: hub.move(ids["B"], "triage")),
        ("2026-11-10 09:20", lambda: hub.move(ids["B"], "await_p2")),
        # C: admitted 9 Nov, ready 10 Nov, home on P1 on Fri 13 Nov (destination not known yet)
        ("2026-11-10 10:00", lambda: ids.setdefault("C", refer_someone(
            hub, 2, admitted_on="2026-11-09", discharge_ready_date="2026-11-10", pathway="P1"))),
        ("2026-11-10 10:10", lambda: hub.move(ids["C"], "triage")),
        ("2026-11-10 10:20", lambda: hub.move(ids["C"], "await_p1")),
        ("2026-11-13 15:00", lambda: hub.move(ids["C"], "on_p1")),
        # Tue 17 Nov 10:00: B's ready date is entered, back-dated to Thu 12 Nov
        ("2026-11-17 10:00", lambda: hub.set_ready_date(ids["B"], "2026-11-12")),
        # Thu 19 Nov: C's P1 stage ends; the destination of the 13 Nov discharge is recorded
        ("2026-11-19 12:00", lambda: hub.close_journey(
            ids["C"], "home_independent", destination="P1_HOME")),
    ])  # fmt: skip
    clock.now = local("2026-11-23 09:30")
    return ids


def test_a_back_dated_ready_date_counts_from_the_date_itself_unless_asked_as_known_then(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    hub = make_hub()
    _timeline(hub, clock)
    #   Sat 14 Nov, P2       as now known   as known at the end of 14 Nov
    #   (a, b, c)            (1, 0, 1)      (0, 0, 0)  — the ready date arrived on 17 Nov
    #   7+ cohort, bed days  1, 14-12 = 2   0, 0       — LoS 14 - 5 = 9 days
    now_known = daily_row(hub, "2026-11-14", "P2")
    then_known = daily_row(hub, "2026-11-14", "P2", as_known_at="2026-11-14")
    assert now_known == (1, 0, 1), "as now known, B is NCTR from the date itself, 12 Nov"
    assert then_known == (0, 0, 0), (
        "as known at the end of 14 Nov, nobody had yet recorded that B no longer met the "
        "criteria to reside: that was entered on 17 Nov, so the sitrep submitted then said 0"
    )
    week_now = hub.reports.sitrep("2026-11-14", week=True).table("weekly_cohorts")
    week_then = hub.reports.sitrep("2026-11-14", week=True, as_known_at="2026-11-14").table(
        "weekly_cohorts"
    )
    assert week_now.row("7+ days")[1:] == (1, 2), "bed days from the same date as the count"
    assert week_then.row("7+ days")[1:] == (0, 0)
    # Known at 17 Nov 12:00, after the entry: the same as now known, for that day.
    assert daily_row(hub, "2026-11-14", "P2", as_known_at=local("2026-11-17 12:00")) == (1, 0, 1)
    # Flow agrees with the sitrep, both ways.
    assert hub.reports.flow("2026-11-11", "2026-11-14").table("flow").column("NCTR P2") == [
        0, 1, 1, 1,
    ]  # fmt: skip
    assert hub.reports.flow("2026-11-11", "2026-11-14", as_known_at="2026-11-14").table(
        "flow"
    ).column("NCTR P2") == [0, 0, 0, 0]


def test_a_destination_recorded_later_moves_the_discharge_only_as_now_known(
    make_hub: Callable[..., Hub], clock: FrozenClock
) -> None:
    hub = make_hub()
    _timeline(hub, clock)
    # C's discharge on 13 Nov: as now known it is P1_HOME (recorded on 19 Nov); as known at the
    # end of 13 Nov its destination was not yet recorded.
    now = hub.reports.sitrep("2026-11-13", month=True).table("monthly")
    then = hub.reports.sitrep("2026-11-13", month=True, as_known_at="2026-11-13").table("monthly")
    assert now.row("P1")[1:] == ("Domestic home, with reablement", 1)
    assert ("P1", "Destination not yet recorded", 1) in then.rows
    assert then.row("P1")[1:] == ("Domestic home, with reablement", 0)
    assert now.row("Total")[2] == then.row("Total")[2] == 1


def test_as_known_at_on_the_command_line_in_every_format(
    database_url: str, clock: FrozenClock, make_hub: Callable[..., Hub],
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    hub = make_hub()
    _timeline(hub, clock)
    monkeypatch.setenv("D2A_USER", "alice")
    db = ("--db", database_url)
    outputs = {}
    for known in ((), ("--as-known-at", "2026-11-14T23:59")):
        capsys.readouterr()
        assert (
            main(["report", "sitrep", "--date", "2026-11-14", "--format", "json", *known, *db]) == 0
        )
        outputs[bool(known)] = json.loads(capsys.readouterr().out)

    def p2(report: dict) -> dict:  # type: ignore[type-arg]
        daily = next(t for t in report["tables"] if t["id"] == "daily")
        return next(row for row in daily["rows"] if row["Pathway"] == "P2")

    assert (
        p2(outputs[False])[
            "Patients remaining in hospital who no longer meet the criteria to reside"
        ]
        == 1
    )
    assert (
        p2(outputs[True])[
            "Patients remaining in hospital who no longer meet the criteria to reside"
        ]
        == 0
    )
    assert outputs[True]["parameters"]["as_known_at"].startswith("2026-11-14T23:59")
    for kind in ("los", "flow", "transitions"):
        code = main(["report", kind, "--from", "2026-11-10", "--to", "2026-11-14",
                     "--as-known-at", "2026-11-14", "--format", "csv", *db])  # fmt: skip
        assert code == 0
    for bad, why in (("yesterday at noon", "is not a date"), ("2099-01-01", "in the future"),
                     ("2099-01-01T09:00", "in the future")):  # fmt: skip
        capsys.readouterr()
        assert main(["report", "flow", "--as-known-at", bad, *db]) == 1
        out, err = capsys.readouterr()
        assert out == "" and err.startswith("d2a: ") and why in err and len(err.splitlines()) == 1
