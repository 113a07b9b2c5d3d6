"""Dates on the command line are read as the TUI reads them (`today`, `yesterday`, ISO and
DD/MM/YYYY, on the hub's calendar), and a field past its limits is one `d2a:` line that saves
nothing, as it is on the board."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from d2a_tui.domain.calendar import HubCalendar
from tests.cli.test_cli import d2a, refer


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("D2A_DATABASE_URL", database_url)
    monkeypatch.setenv("D2A_USER", "night.nurse")
    return database_url


def test_refer_and_ready_take_the_dates_people_type(
    db: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    journey_id = refer(capsys, dob="04/03/1938", admitted="yesterday", ready="today")
    shown = json.loads(d2a(capsys, "show", journey_id, "--json")[1])
    today = HubCalendar().day(datetime.now(UTC))  # the CLI's clock is the real one
    assert shown["date_of_birth"] == "1938-03-04"
    assert shown["discharge_ready_date"] == today.isoformat()
    code, _, err = d2a(capsys, "expected", journey_id[:8], "24/12/2026")
    assert code == 0, err
    assert json.loads(d2a(capsys, "show", journey_id, "--json")[1])["expected_discharge_date"] == (
        "2026-12-24"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ready", "{id}", "31/02/2026"], "is not a date: use today, yesterday"),
        (["expected", "{id}", "9999-01-01"], "is not between 1880 and 2100"),
        (["note", "{id}", "keys\x00under the mat"], "control character or NUL"),
        (["note", "{id}", "x" * 4001], "a note is at most 4000 characters"),
    ],
)
def test_a_bad_date_or_field_is_one_line_and_saves_nothing(
    db: str,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    journey_id = refer(capsys)
    before = d2a(capsys, "show", journey_id, "--json")[1]
    code, out, err = d2a(capsys, *[a.replace("{id}", journey_id[:8]) for a in args])
    assert code != 0 and out == ""
    assert err.startswith("d2a: ") and message in err and err.count("\n") == 1
    assert d2a(capsys, "show", journey_id, "--json")[1] == before
