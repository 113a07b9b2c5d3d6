"""A full disk under the CLI: one `d2a:` line saying so, nothing half-saved, and the same
command working once space is freed (issue 10 §9). The disk is a real small tmpfs where the
test may mount one (see tests/small_disk.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from d2a_tui import cli
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.journeys import event_table, journey_table
from d2a_tui.storage.models import Patient, table_of
from tests.small_disk import SmallDisk, small_disk  # noqa: F401

patient_table = table_of(Patient)


def counts(url: str) -> tuple[int, int, int, list[str]]:
    engine = make_engine(url)
    with engine.connect() as connection:
        sizes = tuple(
            connection.execute(select(func.count()).select_from(table)).scalar_one()
            for table in (patient_table, journey_table, event_table)
        )
        verdict = connection.execute(text("PRAGMA integrity_check")).scalars().all()
    engine.dispose()
    return (*sizes, verdict)  # type: ignore[return-value]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_full_disk_is_one_line_nothing_is_half_saved_and_work_resumes(
    small_disk: SmallDisk,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = small_disk.url
    referral = ("refer", "--nhs", "943 476 5919", "--name", "Disk Person", "--dob", "1941-05-06")
    code, journey, _ = run(capsys, *referral, "--ward", "Ward 7", "--db", url)
    assert code == 0
    journey = journey.strip()
    before = counts(url)
    assert before == (1, 1, 1, ["ok"])

    small_disk.fill()
    for argv in (
        ("note", journey, "rang the daughter " + "x" * 900),
        ("move", journey, "triage"),
        ("refer", "--nhs", "401 023 2137", "--name", "Second Person", "--dob", "1950-01-02"),
    ):
        code, out, err = run(capsys, *argv, "--db", url)
        assert code != 0, argv
        assert out == ""
        assert err.startswith("d2a: ") and err.count("\n") == 1, err
        assert "disk is full" in err and "nothing was saved" in err, err
        assert "Traceback" not in err
    # Nothing half-saved: no patient without a journey, no event without its journey's row.
    assert counts(url) == before

    small_disk.free()
    code, _, err = run(capsys, "note", journey, "rang the daughter", "--db", url)
    assert code == 0, err
    code, _, err = run(capsys, "move", journey, "triage", "--db", url)
    assert code == 0, err
    assert counts(url) == (1, 1, 3, ["ok"])
