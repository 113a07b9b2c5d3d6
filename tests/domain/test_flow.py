from datetime import timedelta

import pytest

from d2a_tui.domain.errors import NotAllowed, NotFound
from d2a_tui.domain.flow import FlowError, load_flow, parse_duration, parse_flow

MINIMAL = """
name = "Tiny"
[[column]]
id = "a"
name = "A"
amber = "1h"
red = "2h"
moves = ["b", "done"]

[[column]]
id = "b"
name = "B"
pathway = "P1"
moves = ["a", "done"]

[[column]]
id = "done"
name = "Done"
location = "closed"
needs = ["outcome"]
"""


def test_default_flow_has_the_hub_columns_in_board_order() -> None:
    flow = load_flow()
    assert [c.id for c in flow.columns] == [
        "referred", "triage", "await_p0", "await_p1", "await_p2", "await_p3", "on_p1", "in_p2", "closed",
    ]  # fmt: skip
    assert flow.entry.id == "referred"
    assert flow.closed.id == "closed"
    assert flow.column("await_p2").pathway == "P2"
    assert flow.column("on_p1").location == "community"


def test_neighbour_skips_columns_that_are_not_allowed_and_never_closes() -> None:
    flow = load_flow()
    assert flow.neighbour("referred", +1).id == "triage"
    assert flow.neighbour("referred", -1) is None
    assert (
        flow.neighbour("await_p3", +1) is None
    )  # only closing is right of it, and that needs an outcome
    assert flow.neighbour("on_p1", -1) is None


def test_neighbour_follows_the_journeys_own_pathway() -> None:
    flow = load_flow()
    # Awaiting P2 and P3 lie between Awaiting P1 and On P1 on the board; one key must not
    # change the pathway, so the next step is On P1.
    assert flow.neighbour("await_p1", +1).id == "on_p1"
    assert flow.neighbour("await_p2", +1).id == "in_p2"
    assert flow.neighbour("await_p1", -1).id == "triage"  # Awaiting P0 is skipped
    assert flow.neighbour("await_p3", -1).id == "triage"
    # P2 bed to P1 at home is a step down: a pathway change, named with m.
    assert flow.neighbour("in_p2", -1) is None
    assert [c.id for c in flow.pathway_changes("in_p2", -1)] == ["on_p1"]
    # From Triage the first pathway is chosen, not stepped into...
    assert flow.neighbour("triage", +1) is None
    assert len(flow.pathway_changes("triage", +1)) == 4
    # ...unless the journey already has one (given at referral).
    assert flow.neighbour("triage", +1, pathway="P3").id == "await_p3"


def test_check_move_names_the_allowed_targets() -> None:
    flow = load_flow()
    with pytest.raises(
        NotAllowed, match=r"Referred → On P1 at home is not an allowed move.*Triage"
    ):
        flow.check_move("referred", "on_p1")
    with pytest.raises(NotFound, match="unknown column 'nowhere'"):
        flow.check_move("referred", "nowhere")


def test_parse_duration_forms() -> None:
    assert parse_duration("30m") == timedelta(minutes=30)
    assert parse_duration("1d12h") == timedelta(hours=36)
    assert parse_duration("6w") == timedelta(days=42)
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_minimal_flow_parses() -> None:
    flow = parse_flow(MINIMAL, "tiny.toml")
    assert flow.can_move("a", "b")
    assert not flow.can_move("b", "b")
    assert flow.column("a").red_after == timedelta(hours=2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ('moves = ["b", "done"]', 'moves = ["b", "nowhere"]'),
            r"tiny.toml line 8: column 'a' moves to unknown column 'nowhere'",
        ),
        (('pathway = "P1"', 'pathway = "P9"'), r"tiny.toml line 13: pathway must be one of"),
        (('red = "2h"', 'red = "soon"'), r"tiny.toml line 7: 'soon' is not a duration"),
        (('red = "2h"', 'red = "30m"'), r"tiny.toml line 7: red must not come before amber"),
        (
            ('location = "closed"', 'location = "hospital"'),
            r"exactly one column with location = \"closed\"",
        ),
        (('id = "b"', 'id = "a"'), r"tiny.toml line 11: column id 'a' is used twice"),
        (('name = "B"', 'colour = "B"'), r"tiny.toml line 12: unknown key 'colour'"),
        (('[[column]]\nid = "a"', '[[column]\nid = "a"'), r"tiny.toml: not valid TOML.*line 3"),
    ],
)
def test_bad_flow_is_refused_naming_the_line_and_problem(
    change: tuple[str, str], message: str
) -> None:
    text = MINIMAL.replace(*change, 1)
    assert text != MINIMAL
    with pytest.raises(FlowError, match=message):
        parse_flow(text, "tiny.toml")


def test_missing_flow_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(FlowError, match="cannot read flow file"):
        load_flow(tmp_path / "absent.toml")
