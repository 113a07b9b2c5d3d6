"""`d2a offer`, `offers`, `accept`, `decline`, `withdraw`, `ask` on SQLite and PostgreSQL: the
round trip a hub and a provider make, and every bad input as one `d2a:` line, nothing stored."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from d2a_tui.cli import main
from d2a_tui.services.hub import Hub
from tests.cli.test_cli import db  # noqa: F401  (the CLI's database fixture)
from tests.offers.conftest import on_p1, two_providers


@pytest.fixture
def offered(db: str, make_hub: Callable[..., Hub]) -> tuple[Hub, str]:  # noqa: F811
    """A person on P1 (by the test hub, on the database the CLI uses) and the services."""
    hub = make_hub()
    two_providers(hub)
    return hub, on_p1(hub)


def d2a(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit:  # argparse's own refusals (a reason not in the list)
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code: int, out: str, err: str) -> str:
    assert code != 0
    assert out == ""
    assert err.startswith("d2a: ") and err.count("\n") == 1, err
    return err


def test_a_hub_offers_and_a_provider_accepts_from_the_command_line(
    offered: tuple[Hub, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, journey_id = offered
    code, out, err = d2a(capsys, "offer", journey_id[:8], "reablement-north",
                         "--start", "26/11/2026", "--note", "lives alone", "--json")  # fmt: skip
    assert code == 0, err
    offer_id = json.loads(out)["offer_id"]
    code, out, err = d2a(capsys, "accept", offer_id[-8:], "--start", "2026-11-27", "--user", "nora")
    assert code == 0, err
    assert out.startswith(f"offer {offer_id[-8:]} accepted")
    code, out, _ = d2a(capsys, "offers", "--service", "reablement-north", "--json")
    (listed,) = json.loads(out)
    assert (listed["offer_id"], listed["status"], listed["start"], listed["answered_by"]) == (
        offer_id, "accepted", "2026-11-27", "nora",
    )  # fmt: skip
    assert listed["note"] == "lives alone"
    code, out, _ = d2a(capsys, "list", "--json")
    (card,) = json.loads(out)
    assert (card["offer"]["offer_id"], card["offer"]["status"]) == (offer_id, "accepted")


def test_every_bad_offer_input_is_one_line_and_stores_nothing(
    offered: tuple[Hub, str], capsys: pytest.CaptureFixture[str]
) -> None:
    hub, journey_id = offered
    offer_id = hub.offers.make(journey_id, "home-care-south").event.event_id
    hub.offers.withdraw(offer_id)
    head = hub.head_position()
    attempts: list[tuple[list[str], str]] = [
        (["offer", journey_id, "nowhere"], "no service 'nowhere'"),
        (["offer", journey_id, "meadowbank"], "is a P2 service"),
        (["offer", journey_id, "reablement-north", "--start", "31/02/2026"], "is not a date"),
        (["offer", "zzzz", "reablement-north"], "is not a journey id"),
        (["accept", offer_id, "--start", "2026-11-27"], "withdrawn"),
        (["accept", offer_id, "--start", "soon"], "is not a date"),
        (["accept", "abc", "--start", "today"], "is not an offer id"),
        (["accept", "abcdef12", "--start", "today"], "no offer abcdef12"),
        (["decline", offer_id, "--reason", "busy"], "invalid choice"),
        (["withdraw", offer_id], "withdrawn"),
        (["ask", offer_id, "still there?"], "withdrawn"),
        (["accept", offer_id, "--start", "today", "--user", "sam"], "withdrawn"),
        (["offers", "--service", "nowhere"], "no service 'nowhere'"),
    ]
    for args, words in attempts:
        err = one_line_error(*d2a(capsys, *args))
        assert words in err, (args, err)
    assert hub.head_position() == head


def test_a_provider_cannot_accept_another_providers_offer(
    offered: tuple[Hub, str], capsys: pytest.CaptureFixture[str]
) -> None:
    hub, journey_id = offered
    offer_id = hub.offers.make(journey_id, "home-care-south").event.event_id
    err = one_line_error(*d2a(capsys, "accept", offer_id, "--start", "today", "--user", "nora"))
    assert "another provider's service" in err
    err = one_line_error(*d2a(capsys, "decline", offer_id, "--reason", "other", "--user", "sam"))
    assert "cannot be empty" in err
    assert [v.offer.status for v in hub.offers.list()] == ["open"]
