"""A new hub's first day, as the manual tells it: a 300-row caseload imported (dry run first), then
the hospital's ADT feed replayed for the day; the board, the exceptions queue, the sitrep and the
FHIR export all agree with the messages. Through the `d2a` command, on the real clock."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from d2a_tui.cli import main
from d2a_tui.domain.nhs_number import next_synthetic
from tests.interop.hl7_samples import adt


def d2a(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = main(list(args))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_import_then_a_day_of_adt_then_the_figures(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    today = date.today()
    people = [next_synthetic(serial * 11)[1] for serial in range(1, 301)]
    sheet = tmp_path / "caseload.csv"
    with sheet.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["NHS No", "Name", "DOB", "Admitted", "Ward", "Status", "DRD", "Delay"])
        for index, nhs in enumerate(people):
            out.writerow([nhs, f"Synthetic Person {index}", "06/05/1941",
                          (today - timedelta(days=10)).strftime("%d/%m/%Y"), "WARD1", "Awaiting P1",
                          (today - timedelta(days=2)).strftime("%d-%b-%y"), "P1CARE"])  # fmt: skip
    assert "would create 300," in d2a(capsys, "import", str(sheet), "--dry-run", "--db", sqlite_url)
    assert "imported: create 300," in d2a(capsys, "import", str(sheet), "--db", sqlite_url)

    stamp = today.strftime("%Y%m%d")
    messages = [adt("A02", nhs, dob="19410506", ward="WARD9", when=f"{stamp}0800", sent=f"{stamp}0801")
                for nhs in people[:20]]  # fmt: skip
    messages += [adt("A03", nhs, dob="19410506", when=f"{stamp}1000", sent=f"{stamp}1001",
                     discharged=f"{stamp}1000") for nhs in people[20:30]]  # fmt: skip
    strangers = [next_synthetic(serial * 11)[1] for serial in range(400, 405)]
    messages += [adt("A01", nhs, when=f"{stamp}0700", sent=f"{stamp}0701") for nhs in strangers]
    feed = tmp_path / "day.hl7"
    feed.write_text("\n".join(messages) + "\n")
    assert (
        d2a(capsys, "adt", "load", str(feed), "--db", sqlite_url)
        .strip()
        .endswith("35 message(s): AA 35")
    )
    # Replaying the same day changes nothing.
    assert "duplicate 35" in d2a(capsys, "adt", "load", str(feed), "--db", sqlite_url)

    board = json.loads(d2a(capsys, "list", "--json", "--db", sqlite_url))
    wards = {card["nhs_number"]: card["ward"] for card in board}
    assert [wards[nhs] for nhs in people[:21]] == ["WARD9"] * 20 + ["WARD1"]
    queue = json.loads(d2a(capsys, "adt", "exceptions", "--json", "--db", sqlite_url))
    assert sorted(row["kind"] for row in queue) == ["discharged"] * 10
    admissions = json.loads(d2a(capsys, "adt", "admissions", "--json", "--db", sqlite_url))
    assert sorted(row["nhs_number"] for row in admissions) == sorted(strangers)

    # The hub acts on the ten discharges: each goes home on P1.
    ids = {card["nhs_number"]: card["id"] for card in board}
    for nhs in people[20:30]:
        d2a(capsys, "move", ids[nhs], "on_p1", "--db", sqlite_url)
    rows = list(csv.DictReader(io.StringIO(
        d2a(capsys, "report", "sitrep", "--format", "submission", "--org", "RXX", "--db", sqlite_url))))  # fmt: skip
    items = {(row["item"], row["breakdown"]): float(row["value"]) for row in rows}  # AVG is decimal
    # All 300 were NCTR today (ready two days ago); 10 of them left, 290 remain.
    assert (items[("1a", "P1")], items[("1b", "P1")], items[("1c", "P1")]) == (300, 10, 290)

    bundle = json.loads(
        d2a(capsys, "export", "fhir", "--journey", ids[people[0]], "--db", sqlite_url)
    )
    stay = next(
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Encounter"
    )
    assert stay["location"][0]["location"]["display"] == "WARD9, bed B3"  # the A02's PV1-3
