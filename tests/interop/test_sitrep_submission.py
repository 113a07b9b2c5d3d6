"""`d2a report sitrep --format submission`: the national return's items and codes, for a day
worked by hand from the reports' scenario (tests/reports/conftest.py: journeys A to E)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest

from d2a_tui.cli import main
from d2a_tui.domain.delays import DELAY_REASONS
from d2a_tui.interop.sitrep_submission import SPEC_CODES, render_submission, spec_code
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock
from tests.reports.conftest import build


@pytest.fixture
def scenario_hub(make_hub: Callable[..., Hub], clock: FrozenClock) -> Hub:
    hub = make_hub()
    build(hub, clock)
    return hub


def items(text: str) -> dict[tuple[str, str], str]:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {row["organisation_code"] for row in rows} == {"RXX"}
    return {(row["item"], row["breakdown"]): row["value"] for row in rows}


def test_submission_for_16_november_worked_by_hand(scenario_hub: Hub) -> None:
    report = scenario_hub.reports.sitrep("2026-11-16", week=True, month=True)
    got = items(render_submission(report, "RXX"))
    # Daily, end of 16 Nov: A (P1, ready again 15 Nov), B (P2, ready 5 Nov) and D (P3, ready
    # 16 Nov) are in hospital and NCTR; nobody NCTR left hospital that day.
    assert [got[("1a", p)] for p in ("P0", "P1", "P2", "P3", "ALL")] == ["0", "1", "1", "1", "3"]
    assert got[("1b", "ALL")] == "0"
    assert got[("1c", "ALL")] == "3"
    # Weekly cohorts: A LoS 15 (1 -> 16 Nov), 1 day past ready; B LoS 22, 11 days; D LoS 4.
    # 7+: A and B, 1 + 11 = 12 bed days; 14+: the same; 21+: B alone, 11.
    assert (got[("2a", "LOS7+")], got[("2b", "LOS7+")]) == ("2", "12")
    assert (got[("2a", "LOS14+")], got[("2b", "LOS14+")]) == ("2", "12")
    assert (got[("2a", "LOS21+")], got[("2b", "LOS21+")]) == ("1", "11")
    # LoS 14+ by delay reason: A with P1CARE = the 13th reason in the published list, B with
    # P2BED = the 14th; nothing else.
    assert got[("3", "13")] == "1" and got[("3", "14")] == "1"
    assert sum(int(v) for (item, code), v in got.items() if item == "3" and code != "ALL") == 2
    assert got[("3", "ALL")] == "2"
    # Monthly, 1-16 Nov: C home without reablement on 12 Nov (P0 domestic home, category 01);
    # E left for a P2 bed on 13 Nov and its destination (community rehab, category 09) was
    # recorded on 22 Nov, after this day: as known now it counts under 09.
    assert got[("4", "01")] == "1"
    assert got[("4", "09")] == "1"
    assert got[("4", "ALL")] == "2"


def test_every_delay_reason_has_a_specification_code() -> None:
    acute = [r.code for r in DELAY_REASONS if r.sitrep == "acute"]
    assert [SPEC_CODES[code] for code in acute] == [f"{n:02d}" for n in range(1, 19)]
    assert spec_code("P1CONT") == spec_code("P1CARE") == "13"
    assert spec_code("HOUSING") == "10"
    assert spec_code("CHC") == "99"  # no acute equivalent: reported, not dropped
    assert spec_code(None) == "00"


def test_cli_writes_the_submission_and_refuses_other_reports(
    database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["report", "sitrep", "--format", "submission", "--org", "RXX", "--db", database_url]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (
        out.splitlines()[0]
        == "organisation_code,period_end,section,item,breakdown,description,value"
    )
    assert main(["report", "los", "--format", "submission", "--db", database_url]) == 1
    assert capsys.readouterr().err.strip() == "d2a: --format submission is for `report sitrep` only"
    assert main(["report", "sitrep", "--format", "table", "--db", database_url]) == 0


def test_destinations_11_and_12_are_the_returning_resident_then_the_designated_setting(
    scenario_hub: Hub,
) -> None:
    report = scenario_hub.reports.sitrep("2026-11-16", week=True, month=True)
    rows = list(csv.DictReader(io.StringIO(render_submission(report, "RXX"))))
    monthly = {row["breakdown"]: row["description"] for row in rows if row["item"] == "4"}
    assert monthly["10"] == "P3: Care home, new admission (likely permanent)"
    assert monthly["11"] == "P3b: Existing care home resident back to their home"
    assert monthly["12"] == "P3b: Designated setting"


def test_the_organisation_code_comes_from_the_settings_or_the_submission_is_refused(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    command = ["report", "sitrep", "--format", "submission", "--db", database_url]
    monkeypatch.delenv("D2A_ORGANISATION_CODE", raising=False)
    assert main(command) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("d2a: the submission needs the trust's organisation code")
    monkeypatch.setenv("D2A_ORGANISATION_CODE", "rxx")
    assert main(command) == 0
    organisations = {
        row["organisation_code"] for row in csv.DictReader(io.StringIO(capsys.readouterr().out))
    }
    assert organisations == {"RXX"}
    assert main([*command, "--org", "R0A"]) == 0  # --org wins over the settings
    assert "R0A," in capsys.readouterr().out
    assert main([*command, "--org", "RXX; DROP"]) == 1
    assert "is not an ODS code" in capsys.readouterr().err


def test_length_of_stay_7_plus_by_nhs_englands_headings_worked_by_hand(
    scenario_hub: Hub,
) -> None:
    report = scenario_hub.reports.sitrep("2026-11-16", week=True, month=True)
    got = items(render_submission(report, "RXX"))
    # End of 16 Nov, LoS 7+ and NCTR: A (LoS 15, P1CARE) and B (LoS 22, P2BED); D has LoS 4.
    # Both reasons are waits for capacity under the 2024 headings.
    assert got[("5", "CAPACITY")] == "2"
    assert got[("5", "CAPACITY/P1CARE")] == "1" and got[("5", "CAPACITY/P2BED")] == "1"
    for heading in ("HOSPITAL", "HUB", "INTERFACE", "WELLBEING"):
        assert got[("5", heading)] == "0"
    assert got[("5", "ALL")] == "2"
    rows = list(csv.DictReader(io.StringIO(render_submission(report, "RXX"))))
    [p1] = [row for row in rows if row["breakdown"] == "CAPACITY/P1CARE"]
    assert p1["description"].startswith("Capacity – Pathway 1: awaiting availability")


def test_the_months_delayed_bed_days_worked_by_hand(scenario_hub: Hub) -> None:
    report = scenario_hub.reports.sitrep("2026-11-16", week=True, month=True)
    got = items(render_submission(report, "RXX"))
    # Patients remaining in hospital and NCTR at the end of each day, 1-16 Nov: nobody before
    # the referrals on 10 Nov; 10th A, B, E (3); 11th and C (4); 12th A meets the criteria again
    # and C went home (2: B, E); 13th E into a P2 bed (1: B); 14th B (1); 15th A ready again (2);
    # 16th D ready (3). 3 + 4 + 2 + 1 + 1 + 2 + 3 = 16 delayed bed days over 16 days.
    assert got[("6", "DAYS")] == "16"
    assert got[("6", "AVG")] == "1.0"


def test_every_reason_has_a_heading_and_the_2024_reasons_no_old_code() -> None:
    from d2a_tui.domain.delays import GROUPS

    assert {reason.group for reason in DELAY_REASONS} <= set(GROUPS)
    assert [spec_code(code) for code in ("CTHNEEDS", "P1ARRANGE", "P2ARRANGE")] == ["99"] * 3


def test_the_months_discharges_grouped_by_pathway(scenario_hub: Hub) -> None:
    report = scenario_hub.reports.sitrep("2026-11-23", week=True, month=True)
    got = items(render_submission(report, "RXX"))
    # 1-23 Nov: C home on P0 (12th), E to a P2 rehab bed (13th), A home on P1 (20th, no
    # destination recorded: it counts under its pathway all the same), D to a care home (23rd).
    assert [got[("4", f"PW{n}")] for n in ("0", "1", "2", "3", "3b")] == ["1", "1", "1", "1", "0"]
    assert got[("4", "ALL")] == "4"
