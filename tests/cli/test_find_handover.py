"""Find anyone, open or closed (issue 11 §1), and the handover (issue 11 §3): on the hub, on
SQLite and PostgreSQL, with hand-worked expected output, and through the real CLI."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from d2a_tui.cli import main
from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.errors import InvalidInput
from d2a_tui.services import handover
from d2a_tui.services.hub import Hub
from tests.conftest import FrozenClock

LONDON = HubCalendar("Europe/London")
# Synthetic NHS numbers (the 999 test range), each passing the modulus-11 check.
ANN, BEA, CY = "9990000018", "9990000026", "9990000034"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in November 2026; London keeps GMT then, so hub time is UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def refer(hub: Hub, nhs: str, name: str, ward: str, bed: str = "B1") -> str:
    change = hub.refer(nhs, name, "1940-01-01", ward=ward, bed=bed, admitted_on="2026-11-14")
    return change.card.journey_id


# --- find --------------------------------------------------------------------------------------


@pytest.fixture
def three(hub: Hub, clock: FrozenClock) -> dict[str, str]:
    """Ann open in Triage, Bea closed last week (home, independent), Cy open on another ward."""
    clock.now = at(16, 9)
    bea = refer(hub, BEA, "Bea Beta", "Ward 7")
    hub.close_journey(bea, "home_independent")
    clock.now = at(23, 8)
    ann = refer(hub, ANN, "Ann Alpha", "Ward 7")
    hub.move(ann, "triage")
    clock.now = at(23, 8, 5)
    cy = refer(hub, CY, "Cy Gamma", "AMU")
    return {"ann": ann, "bea": bea, "cy": cy}


@pytest.mark.parametrize(
    ("text", "who"),
    [
        ("beta", ["bea"]),  # part of a name, any case
        ("BEA BETA", ["bea"]),
        ("999 000 0026", ["bea"]),  # an NHS number as printed
        ("9990000026", ["bea"]),  # and as typed
        ("999-000-0026", ["bea"]),
        ("ward 7", ["ann", "bea"]),  # a ward: open first, then closed
        ("a", ["cy", "ann", "bea"]),  # open first, latest referred first, then closed
        ("%", []),  # LIKE's wildcard is a character here, not "everyone"
        ("9990000042", []),
    ],
)
def test_find_searches_open_and_closed_journeys(
    hub: Hub, three: dict[str, str], text: str, who: list[str]
) -> None:
    found = [card.journey_id for card in hub.find(text)]
    assert found == [three[name] for name in who]


def test_find_by_journey_id_prefix_and_the_closed_one_says_how_it_ended(
    hub: Hub, three: dict[str, str]
) -> None:
    from d2a_tui.services import finding

    (card,) = hub.find(three["bea"][:8])
    assert card.journey_id == three["bea"]
    first, second = finding.lines(card, hub.flow, LONDON)
    assert (
        first
        == f"{three['bea'][:8]}  closed  Home, independent       Bea Beta                999 000 0026"
    )
    assert second == (
        "          Ward 7/B1 · referred 16 Nov 2026 · discharged and closed 16 Nov 2026"
    )
    (ann,) = hub.find("alpha")
    assert finding.lines(ann, hub.flow, LONDON)[0].split()[1:3] == ["open", "Triage"]
    assert hub.find("a", limit=2) == hub.find("a")[:2]


@pytest.mark.parametrize("text", ["", "   ", "x" * 101, "Ann\x00", "\x1b[2J"])
def test_find_refuses_an_empty_or_overlong_search(hub: Hub, text: str) -> None:
    with pytest.raises(InvalidInput):
        hub.find(text)


# --- handover: when ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "since"),
    [
        (at(23, 7, 45), at(22, 20)),  # night shift, ending: since last night's 20:00
        (at(23, 8, 30), at(22, 20)),  # the 08:00 huddle (first hour of the day shift): the night
        (at(23, 9, 30), at(23, 8)),  # later in the day shift: since 08:00
        (at(23, 21, 15), at(23, 20)),
        # 1 July 07:45 BST is 06:45 UTC; the shift began at 20:00 BST on 30 June, 19:00 UTC.
        (datetime(2026, 7, 1, 6, 45, tzinfo=UTC), datetime(2026, 6, 30, 19, 0, tzinfo=UTC)),
    ],
)
def test_the_default_start_is_the_shifts(now: datetime, since: datetime) -> None:
    assert handover.default_since(now, LONDON) == since


@pytest.mark.parametrize(
    ("typed", "since"),
    [
        ("20:00", at(22, 20)),  # at 07:45, 20:00 today is still to come: last night's
        ("07:00", at(23, 7)),
        ("yesterday 20:00", at(22, 20)),
        ("today 00:30", at(23, 0, 30)),
        ("2026-11-22T20:00", at(22, 20)),
        ("2026-11-22T20:00+01:00", at(22, 19)),
        ("23/11/2026", at(23, 0)),
        ("yesterday", at(22, 0)),
    ],
)
def test_since_is_read_in_the_hubs_calendar(typed: str, since: datetime) -> None:
    assert handover.parse_since(typed, at(23, 7, 45), LONDON) == since


@pytest.mark.parametrize("typed", ["25:00", "tomorrow", "2099-01-01T00:00", "20:00:00:00", ""])
def test_since_refuses_what_is_not_a_past_time(typed: str) -> None:
    with pytest.raises(InvalidInput):
        handover.parse_since(typed, at(23, 7, 45), LONDON)


# --- handover: what ----------------------------------------------------------------------------


def night(make_hub, clock: FrozenClock) -> tuple[Hub, dict[str, str]]:  # type: ignore[no-untyped-def]
    """A night on the hub: alice and bob at work between 20:00 and 07:45."""
    alice, bob = make_hub("alice", "dev-a"), make_hub("bob", "dev-b")
    clock.now = at(22, 18)
    cy = refer(alice, CY, "Cy Gamma", "AMU", "B9")
    alice.move(cy, "triage")
    alice.move(cy, "await_p1")
    clock.now = at(22, 19, 30)
    ann = refer(alice, ANN, "Ann Alpha", "Ward 7", "B3")  # before the window
    clock.now = at(22, 20, 10)
    bea = refer(alice, BEA, "Bea Beta", "Ward 9", "B1")
    clock.now = at(22, 21)
    bob.move(ann, "triage")
    clock.now = at(22, 22, 30)
    alice.add_note(bea, "Family updated; daughter has the key safe code and rings after six.")
    clock.now = at(22, 23)
    bob.set_delay(ann, "P1CARE")
    clock.now = at(23, 2)
    bob.move(cy, "on_p1")
    clock.now = at(23, 7, 45)
    return alice, {"ann": ann, "bea": bea, "cy": cy}


def test_the_handover_reads_as_worked_out_by_hand(make_hub, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    hub, ids = night(make_hub, clock)
    report = hub.handover(handover.parse_since("20:00", hub.now(), hub.calendar))
    lines = handover.to_lines(report, hub.flow, hub.calendar)
    # In the window (20:00 to 07:45): Bea's referral 20:10 and note 22:30; Ann's move 21:00 and
    # delay 23:00; Cy's discharge 02:00 (Awaiting P1 is in hospital, On P1 is not). Bea has sat
    # in Referred since 20:10, whose amber is 4h: amber at 00:10, red (12h) only at 08:10. Ann
    # has been in Triage since 21:00 (amber 12h: 09:00), Cy on P1 since 02:00: neither turns.
    # People in the order of their first change: Bea 20:10, Ann 21:00, Cy 02:00.
    assert lines == [
        "Handover from Sun 22 Nov 20:00 to Mon 23 Nov 07:45 (Europe/London)",
        "3 people, 6 changes",
        "",
        f"Bea Beta  999 000 0026  [{ids['bea'][:8]}]",
        "  now: Ward 9/B1 · Referred",
        "  Sun 20:10  alice             new referral from Ward 9/B1, into Referred",
        "  Sun 22:30  alice             note: Family updated; daughter has the key safe",
        "                               code and rings after six.",
        "  Mon 00:10  —                 turned amber: 4h 00m in Referred (amber after 4h",
        "                               00m)",
        "",
        f"Ann Alpha  999 000 0018  [{ids['ann'][:8]}]",
        "  now: Ward 7/B3 · Triage",
        "  Sun 21:00  bob               moved Referred → Triage",
        "  Sun 23:00  bob               delay reason set: P1CARE",
        "",
        f"Cy Gamma  999 000 0034  [{ids['cy'][:8]}]",
        "  now: AMU/B9 · On P1 at home",
        "  Mon 02:00  bob               discharged: Awaiting P1 → On P1 at home",
    ]
    assert all(len(line) <= 80 for line in lines)
    document = json.loads(json.dumps(handover.to_json(report, hub.flow), default=str))
    assert [p["name"] for p in document["people"]] == ["Bea Beta", "Ann Alpha", "Cy Gamma"]
    assert [c["kind"] for c in document["people"][0]["changes"]] == [
        "referred", "note_added", "turned_amber",
    ]  # fmt: skip
    assert document["people"][2]["changes"][0]["actor"] == "bob"


def test_a_quiet_night_says_so(make_hub, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    hub = make_hub()
    clock.now = at(23, 7, 45)
    lines = handover.to_lines(hub.handover(), hub.flow, hub.calendar)
    assert lines[1:] == ["0 people, 0 changes", "Nothing changed."]


# --- through the CLI ---------------------------------------------------------------------------


def d2a(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_find_and_handover_on_the_command_line(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--db", sqlite_url)
    code, out, err = d2a(capsys, "refer", "--nhs", BEA, "--name", "Bea Beta", "--dob",
                         "1940-01-01", "--ward", "Ward 9", *db)  # fmt: skip
    journey = out.strip()
    assert d2a(capsys, "close", journey[:8], "died", *db)[0] == 0
    code, out, err = d2a(capsys, "find", "999 000 0026", *db)
    assert code == 0, err
    assert out.splitlines()[0] == "1 journey"
    assert out.splitlines()[1].startswith(f"{journey[:8]}  closed  Died")
    code, out, _ = d2a(capsys, "find", "bea", "--json", *db)
    (found,) = json.loads(out)
    assert (found["id"], found["status"], found["outcome"]) == (journey, "closed", "died")
    code, _, err = d2a(capsys, "find", "nobody-like-this", *db)
    assert code == 1 and err == "d2a: nobody found for 'nobody-like-this', open or closed\n"

    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat(timespec="minutes")
    code, out, err = d2a(capsys, "handover", "--since", an_hour_ago, *db)
    assert code == 0, err
    assert "Bea Beta  999 000 0026" in out and "closed: Died" in out
    assert all(len(line) <= 80 for line in out.splitlines())
    saved = tmp_path / "out" / "handover.json"
    saved.parent.mkdir(mode=0o700)
    code, _, err = d2a(capsys, "handover", "--since", an_hour_ago, "--json", "--output",
                       str(saved), *db)  # fmt: skip
    assert code == 0 and "readable by you only" in err
    assert stat.S_IMODE(os.stat(saved).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(saved.parent).st_mode) == 0o700
    assert json.loads(saved.read_text())["people"][0]["changes"][-1]["text"] == "closed: Died"
    code, _, err = d2a(capsys, "handover", "--since", "25:00", *db)
    assert code == 1 and err.startswith("d2a: --since '25:00' is not a time of day")


def test_turned_red_in_the_handover_says_why_it_is_red(make_hub, clock: FrozenClock) -> None:  # type: ignore[no-untyped-def]
    """A journey amber by its time in the column that turns red by its days since ready: the
    handover gives the red reason, not the amber one it also has."""
    from tests.conftest import refer_someone

    hub = make_hub()
    clock.now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)
    journey_id = refer_someone(hub, 5, discharge_ready_date="2026-11-20")
    hub.move(journey_id, "triage")
    hub.move(journey_id, "await_p1")
    clock.now = datetime(2026, 11, 23, 7, 45, tzinfo=UTC)
    report = hub.handover(handover.parse_since("20:00", hub.now(), hub.calendar))
    text = " ".join(" ".join(handover.to_lines(report, hub.flow, hub.calendar)).split())
    assert "turned red: 3 days since discharge-ready (red after 3)" in text, text
