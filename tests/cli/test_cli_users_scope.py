"""`d2a server add-user --org --locality`, `set-user` and `add-locality`: users belong to one
organisation and serve localities; every mistake is one `d2a:` line and changes nothing."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from d2a_tui.cli import main
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.sync import admin
from d2a_tui.sync.admin import user_locality_table
from d2a_tui.sync.ingest import user_table


def d2a(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as stop:
        code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err: str) -> bool:
    return err.startswith("d2a: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.fixture
def db(sqlite_url: str) -> list[str]:
    engine = make_engine(sqlite_url)
    ensure_schema(engine)
    admin.mark_server(engine)  # as `d2a serve` does: administration acts on a server's database
    engine.dispose()
    return ["--db", sqlite_url]


def _localities(url: str, user: str) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        found = sorted(
            connection.execute(
                select(user_locality_table.c.locality).where(user_locality_table.c.user_id == user)
            ).scalars()
        )
    engine.dispose()
    return found


def test_a_user_serves_the_localities_given_and_set_user_changes_them(
    capsys: pytest.CaptureFixture[str], db: list[str]
) -> None:
    for name in ("Stockport", "Tameside", "Oldham"):
        assert d2a(capsys, "server", "add-locality", name, *db)[0] == 0
    assert d2a(capsys, "server", "add-organisation", "stockport-council", "--name",
               "Stockport Council", "--kind", "council", *db)[0] == 0  # fmt: skip
    code, out, err = d2a(
        capsys, "server", "add-user", "--name", "Ann Co", "--role", "coordinator",
        "--org", "Stockport Council", "--locality", "Stockport", "--locality", "Tameside", *db,
    )  # fmt: skip
    assert (code, out.strip()) == (0, "ann.co"), err
    assert _localities(db[1], "ann.co") == ["Stockport", "Tameside"]
    code, out, err = d2a(capsys, "server", "set-user", "Ann Co", "--locality", "Oldham", *db)
    assert code == 0, err
    assert out.strip() == "ann.co: coordinator, organisation stockport-council, serves Oldham"
    assert _localities(db[1], "ann.co") == ["Oldham"]


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (
            ["add-user", "--name", "Bo", "--role", "night", "--locality", "Atlantis"],
            "unknown locality 'Atlantis'",
        ),
        (["set-user", "ann.co", "--locality", "Atlantis"], "unknown locality 'Atlantis'"),
        (["add-user", "--name", "Pat", "--role", "provider"], "a provider user needs --org"),
        (["set-user", "nobody", "--role", "viewer"], "no user with the id or name 'nobody'"),
    ],
)
def test_a_bad_user_change_is_one_line_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], db: list[str], argv: list[str], said: str
) -> None:
    d2a(capsys, "server", "add-locality", "Stockport", *db)
    d2a(capsys, "server", "add-user", "--name", "Ann Co", "--role", "coordinator",
        "--locality", "Stockport", *db)  # fmt: skip
    engine = make_engine(db[1])
    with engine.connect() as connection:
        before = connection.execute(select(user_table)).all()
    code, out, err = d2a(capsys, "server", *argv, *db)
    assert code != 0 and out == ""
    assert one_line_error(err) and said in err, err
    with engine.connect() as connection:
        assert connection.execute(select(user_table)).all() == before
    assert admin.find_user(engine, "ann.co") == "ann.co"
    engine.dispose()
    assert _localities(db[1], "ann.co") == ["Stockport"]


def test_show_and_the_fhir_export_are_looks_in_the_audit(
    capsys: pytest.CaptureFixture[str], db: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = d2a(
        capsys, "refer", *db, "--nhs", "943 476 5919", "--name", "Edna Example",
        "--dob", "1938-03-04", "--user", "ann",
    )  # fmt: skip
    assert code == 0, err
    journey = out.strip()
    assert d2a(capsys, "show", journey, *db, "--user", "bo", "--json")[0] == 0
    monkeypatch.setenv("D2A_USER", "cy")
    assert d2a(capsys, "export", "fhir", "--journey", journey, *db)[0] == 0
    code, out, err = d2a(capsys, "audit", "--journey", journey, "--json", *db)
    assert code == 0, err

    lines = [(line["user"], line["action"], line["detail"]) for line in json.loads(out)]
    assert sorted(lines) == [
        ("ann", "referred", ""),
        ("bo", "looked", "show"),
        ("cy", "looked", "export"),
    ]
