"""The `d2a service|capacity|demand|alerts|ack|report` commands, as a script would run them."""

from __future__ import annotations

import json

import pytest

from d2a_tui.cli import main
from d2a_tui.services.hub import Hub
from tests.conftest import refer_someone


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_service_add_capacity_report_and_json(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--db", sqlite_url, "--user", "provider.jo")
    assert run(capsys, "service", "add", "Elm Lodge", "--kind", "care_home", "--pathway", "p3",
               "--unit", "beds", *db)[:2] == (0, "elm-lodge\n")  # fmt: skip
    code, out, _ = run(capsys, "capacity", "elm-lodge", "--total", "36", "--occupied", "33",
                       "--closed", "1", *db)  # fmt: skip
    assert code == 0 and "3 vacant (1 closed), 2 available" in out
    code, out, _ = run(capsys, "capacity", "--json", *db)
    document = json.loads(out)
    (service,) = document["services"]
    assert (service["id"], service["available"], service["stale"]) == ("elm-lodge", 2, False)
    assert service["reported_by"] == "provider.jo"
    assert {row["pathway"] for row in document["demand"]} == {"P1", "P2", "P3"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("capacity", "elm-lodge", "--total", "3", "--occupied", "5"), "cannot be more than the total"),
        (("capacity", "nowhere", "--total", "3", "--occupied", "1"), "no service 'nowhere'"),
        (("capacity", "elm-lodge", "--total", "3"), "needs --total and --occupied"),
        (("report", "sitrep", "--date", "31/02/2026"), "is not a date"),
        (("report", "los", "--from", "2026-11-20", "--to", "2026-11-01"), "is after"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_saves_nothing(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    db = ("--db", sqlite_url)
    run(capsys, "service", "add", "Elm Lodge", "--kind", "care_home", "--pathway", "P3",
        "--unit", "beds", *db)  # fmt: skip
    run(capsys, "capacity", "elm-lodge", "--total", "36", "--occupied", "33", *db)
    code, out, err = run(capsys, *argv, *db)
    assert code == 1 and out == ""
    assert err.startswith("d2a: ") and message in err and len(err.strip().splitlines()) == 1
    _, listing, _ = run(capsys, "capacity", "--json", *db)
    assert json.loads(listing)["services"][0]["occupied"] == 33


def test_negative_capacity_is_refused_by_the_parser(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["capacity", "elm-lodge", "--total", "-3", "--occupied", "1", "--db", sqlite_url])
    assert exit_info.value.code == 2
    assert "negative" in capsys.readouterr().err


def test_sitrep_csv_and_alerts_json(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    hub = Hub.open(sqlite_url, user="alice")
    today = hub.now().date().isoformat()
    # Admitted today, so only the second person's length of stay makes an alert, whatever the date.
    refer_someone(hub, 1, discharge_ready_date=today, admitted_on=today)
    journey = refer_someone(hub, 2, admitted_on="2026-01-02")
    hub.close()
    code, out, _ = run(capsys, "report", "sitrep", "--format", "csv", "--week", "--db", sqlite_url)
    assert code == 0
    assert out.splitlines()[0].startswith("Pathway,Patients who no longer meet the criteria")
    assert "Total,1,0,1" in out  # the first person, ready today, pathway not yet decided
    code, out, _ = run(capsys, "alerts", "--json", "--db", sqlite_url)
    alerts = json.loads(out)
    assert [a["id"] for a in alerts] == [journey]
    assert alerts[0]["level"] == "red" and alerts[0]["los_band"] == "21+ super-stranded"
    code, out, _ = run(capsys, "ack", journey[:8], "--reason", "CHC panel Friday", "--for", "2h",
                       "--db", sqlite_url)  # fmt: skip
    assert code == 0 and "acknowledged" in out
    assert json.loads(run(capsys, "alerts", "--json", "--db", sqlite_url)[1]) == []
    assert len(json.loads(run(capsys, "alerts", "--json", "--all", "--db", sqlite_url)[1])) == 1
