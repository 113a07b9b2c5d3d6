"""Hostile text through every entry of the `d2a` command, and out of every listing (issue 20, 2).

Each entry takes a value (markup, terminal controls, bidirectional overrides, zero-width
characters, 5,000 characters) or refuses it cleanly: one `d2a:` line, exit 1, nothing saved.
Every listing then prints what was taken without a raw control byte reaching the terminal
(the bytes written to stdout and stderr are checked), without a traceback, and readably.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from d2a_tui.cli import main
from d2a_tui.domain.display import shown
from d2a_tui.domain.nhs_number import next_synthetic
from tests.hostile import CONTROL, CORPUS, LONG, MARKUP, REORDER, raw_in, readable
from tests.interop.hl7_samples import adt

Capture = pytest.CaptureFixture[bytes]


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("D2A_DATABASE_URL", url)
    monkeypatch.setenv("D2A_USER", "night.nurse")
    assert main(["db", "upgrade"]) == 0  # commands that only read or change never create one
    return url


def d2a(capfdbinary: Capture, *args: str) -> tuple[int, str, str]:
    """Run one command; its exit code and what it wrote, checked for raw bytes on the way."""
    code = main(list(args))
    out_bytes, err_bytes = capfdbinary.readouterr()
    out, err = out_bytes.decode("utf-8"), err_bytes.decode("utf-8")
    for stream, text in (("stdout", out), ("stderr", err)):
        assert raw_in(text) == [], f"d2a {args[0]}: raw characters on {stream}"
        assert "Traceback" not in text
    return code, out, err


def refused_cleanly(code: int, out: str, err: str) -> bool:
    """A refusal: exit 1, nothing on stdout, one `d2a:` line on stderr."""
    return code == 1 and out == "" and err.startswith("d2a: ") and err.count("\n") == 1


def _day(days_ago: int) -> str:
    return (date.today() - timedelta(days=days_ago)).isoformat()


def test_every_entry_takes_or_cleanly_refuses_and_every_listing_prints_it_literally(
    db: str, tmp_path: Path, capfdbinary: Capture
) -> None:
    taken: dict[str, str] = {}  # journey id by name
    for serial, value in enumerate(CORPUS, start=1):
        code, out, err = d2a(
            capfdbinary, "refer", "--nhs", next_synthetic(serial * 11)[1], "--name", value,
            "--dob", "1938-03-04", "--ward", value[:64], "--admitted", _day(30),
            "--ready", _day(10), "--pathway", "P1",
        )  # fmt: skip
        if code == 0:
            taken[value] = out.strip()
        else:
            assert refused_cleanly(code, out, err), err
            assert value in CONTROL or value == LONG
    assert set(taken) == {*MARKUP, *REORDER}

    first = next(iter(taken.values()))
    for value in CORPUS:
        code, out, err = d2a(capfdbinary, "note", first, f"note {value}")
        assert code == 0 or (refused_cleanly(code, out, err) and value in (*CONTROL, LONG))
    services: list[str] = []
    for index, value in enumerate(CORPUS):
        code, out, err = d2a(
            capfdbinary, "service", "add", value[:100], "--kind", "reablement", "--pathway", "P1",
            "--unit", "hours", "--id", f"s{index}",
        )  # fmt: skip
        if code == 0:
            services.append(f"s{index}")
        else:
            assert refused_cleanly(code, out, err) and value in CONTROL, (value, err)
    journey = taken[MARKUP[2]]
    for step in ("triage", "await_p1"):
        assert d2a(capfdbinary, "move", journey, step)[0] == 0
    for value in (MARKUP[0], REORDER[0], CONTROL[1]):
        code, out, err = d2a(capfdbinary, "offer", journey, services[0], "--note", value)
        assert code == 0 or refused_cleanly(code, out, err)  # one open offer at a time

    # The import: a sheet of accepted names is taken whole; one with a control is refused whole.
    header = "NHS No,Patient Name,DOB,Admission Date,Ward,Pathway,Status"
    rows = [
        f'{next_synthetic(900 + i * 11)[1]},"{v.replace(chr(34), "")}",04/03/1938,'
        f'{_day(5)},"{v[:60]}",Pathway 1,Awaiting P1'
        for i, v in enumerate(MARKUP[:4])
    ]
    sheet = tmp_path / "caseload.csv"
    sheet.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    assert d2a(capfdbinary, "import", str(sheet))[0] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(
        f'{header}\n{next_synthetic(990)[1]},"Hal\x1b[31m\x07",04/03/1938,{_day(5)},W,,\n',
        encoding="utf-8",
    )
    code, out, err = d2a(capfdbinary, "import", "--dry-run", str(bad))
    assert code in (0, 1)  # the dry run lists the refused row, whatever it holds, readably

    # The ADT feed: names with markup, raw controls and HL7 escapes, for people not referred
    # (each becomes an entry for a person), one admitted and one for a person on the board.
    messages = [
        adt("A01", next_synthetic(2000 + i * 11)[1], name=name, admitted="20261120090000")
        for i, name in enumerate(
            ("[/]SMITH^[bold]ANN", "JONES\x1b[31m^BOB\x07", "ROE\\X1B\\[31m^CY", "\u202eEVIL^DEE")
        )
    ]
    feed = tmp_path / "feed.hl7"
    feed.write_bytes("\n".join(messages).encode("utf-8"))
    code, out, err = d2a(capfdbinary, "adt", "load", str(feed))
    assert code in (0, 1)

    listings: list[tuple[str, ...]] = [
        ("list",), ("list", "--json"), ("list", "--stuck"), ("show", first), ("show", first, "--json"),
        ("find", "Ann"), ("find", "Smith", "--json"), ("handover", "--since", _day(40)),
        ("alerts",), ("alerts", "--json"), ("offers",), ("offers", "--json"),
        ("service", "list"), ("capacity",), ("demand",),
        ("report", "offers"), ("report", "sitrep"), ("report", "flow", "--format", "csv"),
        ("report", "sitrep", "--json"),
        ("board", "--print"), ("board", "--print", "--format", "markdown"),
        ("board", "--print", "--format", "html"),
        ("adt", "exceptions"), ("adt", "exceptions", "--json"), ("adt", "exceptions", "--all"),
        ("adt", "admissions"), ("adt", "admissions", "--json"),
        ("export", "fhir"),
    ]  # fmt: skip
    outputs: dict[tuple[str, ...], str] = {}
    for args in listings:
        code, out, err = d2a(capfdbinary, *args)
        assert code == 0, (args, err)
        outputs[args] = out
        if "--json" in args or args[0] == "export":
            json.loads(out)  # still JSON, with the controls as \\u escapes

    # Files a person will `cat`: the printed board, a report, the handover.
    for args, name in (
        (("board", "--print", "--format", "markdown"), "board.md"),
        (("report", "flow", "--format", "csv"), "flow.csv"),
        (("handover", "--since", _day(40)), "handover.txt"),
    ):
        assert d2a(capfdbinary, *args, "--output", str(tmp_path / name))[0] == 0
        assert raw_in((tmp_path / name).read_text(encoding="utf-8")) == [], name

    # Readable: the markup is printed as written, not acted on or dropped.
    listing = outputs[("list",)]
    for value in MARKUP[1:]:  # the first is "[/]" alone: no words to look for
        assert readable(value) in listing, value
    assert "[@click=app.quit]Bob[/]" in outputs[("show", first)] + outputs[("list", "--json")]
    # The feed's admissions of people not referred are a list the hub refers from: markup is
    # shown as written. Its text meets the field limits as every entry does, so the names with
    # raw controls (or HL7 escapes that decode to them) were refused and are nowhere.
    admissions = outputs[("adt", "admissions")]
    assert "[bold]ANN" in admissions and "[/]SMITH" in admissions, admissions
    names = {row["name"] for row in json.loads(outputs[("adt", "admissions", "--json")])}
    assert not any("\x1b" in name or "\x07" in name for name in names), names


def test_an_error_message_quoting_what_was_typed_is_one_clean_line(
    db: str, capfdbinary: Capture
) -> None:
    """A refused value echoed in the error (an unknown journey id, a filter) cannot act on the
    terminal either."""
    for args in (
        ("show", "\x1b]52;c;ZXZpbA==\x07"),
        ("list", "--where", "ward:\x9b31m"),
        ("find", "[/]\x1b[2J"),
        ("note", "nobody", "\x1b[2J"),
    ):
        code, _, err = d2a(capfdbinary, *args)  # checked for raw bytes on the way
        assert code == 0 or (err.startswith("d2a: ") and err.count("\n") == 1), (args, err)


def test_the_sanitiser_keeps_a_listing_layout_and_makes_controls_visible() -> None:
    assert shown("Hal\x1b[31m") == "Hal␛[31m"
    assert shown("a\nb") == "a␤b" and shown("a\nb", lines=True) == "a\nb"
