"""The filter language on the command line: list --where, saved views, board --print, and the
refusals of `d2a web` — each bad input one `d2a:` line and exit 1."""

from __future__ import annotations

import json
import stat
from datetime import date, timedelta
from pathlib import Path

import pytest

from d2a_tui.cli import main


@pytest.fixture
def db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("D2A_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("D2A_USER", "night.nurse")
    return sqlite_url


def d2a(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def refer(capsys: pytest.CaptureFixture[str], nhs: str, name: str, ward: str, ready: int) -> str:
    # The CLI runs on the real clock: the ready date is `ready` days before today (UTC and
    # London agree on the date except in the hour after midnight in summer).
    ready_on = (date.today() - timedelta(days=ready)).isoformat()
    code, out, err = d2a(capsys, "refer", "--nhs", nhs, "--name", name, "--dob", "1938-03-04",
                         "--ward", ward, "--ready", ready_on)  # fmt: skip
    assert code == 0, err
    return out.strip()


@pytest.fixture
def three(db: str, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    return {
        # Eight days since discharge-ready is red (limit 3); one day is ok.
        "edna": refer(capsys, "943 476 5919", "Edna Example", "Ward 7B", 8),
        "fred": refer(capsys, "999 000 0018", "Fred Sample", "Ward 7B", 1),
        "gina": refer(capsys, "999 000 0026", "Gina Test", "Ward 7", 8),
    }


def test_list_where_ward_and_red(three: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = d2a(capsys, "list", "--where", "ward:7B red", "--json")
    assert code == 0, err
    assert [row["id"] for row in json.loads(out)] == [three["edna"]]
    code, out, _ = d2a(capsys, "list", "--where", "ready>3d", "--json")
    assert {row["name"] for row in json.loads(out)} == {"Edna Example", "Gina Test"}


def test_list_where_a_bad_term_is_one_line(
    three: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = d2a(capsys, "list", "--where", "colour:red")
    assert (code, out) == (1, "")
    assert err.startswith("d2a: filter: unknown field 'colour'") and err.count("\n") == 1


def test_views_save_list_use_and_delete(
    three: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert d2a(capsys, "view", "save", "bedmeeting", "red   ready>1d")[0] == 0
    code, out, _ = d2a(capsys, "view", "list", "--json")
    assert json.loads(out) == [{"name": "bedmeeting", "filter": "red ready>1d"}]
    code, out, _ = d2a(capsys, "list", "--where", "@bedmeeting", "--json")
    assert {row["name"] for row in json.loads(out)} == {"Edna Example", "Gina Test"}
    code, _, err = d2a(capsys, "view", "save", "bad name", "red")
    assert code == 1 and err.startswith("d2a: view name 'bad name'")
    code, _, err = d2a(capsys, "view", "save", "broken", 'provider:"North')
    assert code == 1 and "is not closed" in err
    assert d2a(capsys, "view", "delete", "bedmeeting")[0] == 0
    code, _, err = d2a(capsys, "list", "--where", "@bedmeeting")
    assert code == 1 and err == "d2a: no saved view 'bedmeeting' (d2a view list shows them)\n"


def test_board_print_to_a_private_file(
    three: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "board.html"
    code, out, err = d2a(capsys, "board", "--print", "--where", "ward:7B", "--output", str(target))
    assert code == 0, err
    assert out.startswith("2 journeys written to") and "(html, readable by you only)" in out
    page = target.read_text()
    assert "Edna Example" in page and "Fred Sample" in page and "Gina Test" not in page
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    code, out, _ = d2a(capsys, "board", "--print", "--format", "markdown", "--where", "red")
    assert "| ■ red | Edna Example |" in out and "| ■ red | Gina Test |" in out
    assert "Fred Sample" not in out


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--host", "0.0.0.0"], "d2a: serving beyond this machine (0.0.0.0) needs TLS"),
        (["--certfile", "cert.pem"], "d2a: TLS needs both --certfile and --keyfile"),
        (["--certfile", "no.pem", "--keyfile", "no.key"], "d2a: cannot use the TLS certificate"),
        (["--port", "70000"], "d2a: --port 70000 is not a port number"),
        (["--db", "postgresql://postgres@127.0.0.1:1/none"], "d2a: cannot reach database"),
    ],
)
def test_web_refuses_to_serve_unsafely(
    db: str, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    code, out, err = d2a(capsys, "web", *args)
    assert (code, out) == (1, "")
    assert err.startswith(says) and err.count("\n") == 1


def test_the_print_formats_offered_are_the_printers() -> None:
    from d2a_tui.cli.board import PRINT_FORMATS
    from d2a_tui.services.printing import FORMATS

    assert PRINT_FORMATS == FORMATS
