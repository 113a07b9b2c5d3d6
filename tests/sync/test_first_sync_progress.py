"""A new laptop's first sync shows how it goes (issue 21): the snapshot's journeys received of
all and the bytes, then the journeys stored, drawn by `d2a login` as rich bars on a terminal."""

from __future__ import annotations

import io
import json

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from d2a_tui.cli.progress import first_sync_progress
from d2a_tui.sync.client import _read_snapshot
from tests.sync.conftest import SyncEnv, refer


class Recorder:
    def __init__(self) -> None:
        self.received: list[tuple[int, int, int | None]] = []
        self.stored: list[tuple[int, int]] = []

    def receiving(self, received: int, journeys: int, of_journeys: int | None) -> None:
        self.received.append((received, journeys, of_journeys))

    def storing(self, stored: int, of_journeys: int) -> None:
        self.stored.append((stored, of_journeys))


def test_the_first_sync_says_journeys_received_and_stored_of_all(sync_env: SyncEnv) -> None:
    sync_env.user("nina")
    hub = sync_env.direct()
    for serial in range(1, 251):
        refer(hub, serial)
    replica = sync_env.replica("nina")
    seen = Recorder()
    replica.sync.synchroniser.snapshot_progress = seen
    report = replica.sync.sync_now(wait=True)
    assert report.pulled == 250
    assert seen.received and seen.received[-1][1:] == (250, 250)
    sizes = [received for received, _, _ in seen.received]
    assert sizes == sorted(sizes) and sizes[-1] > 0
    assert seen.stored[-1] == (250, 250) and len(seen.stored) >= 3  # every 100, and the end
    assert [done for done, _ in seen.stored] == sorted(done for done, _ in seen.stored)
    assert len(replica.board()) == 250
    # Later syncs pull pages, not a snapshot: nothing more is drawn.
    refer(hub, 251)
    replica.sync.sync_now(wait=True)
    assert seen.stored[-1] == (250, 250)


def _body(journeys: int, events_each: int) -> bytes:
    events = [
        {"position": n * events_each + k, "journey_id": f"j{n:05d}-0000", "seq": k + 1}
        for n in range(journeys)
        for k in range(events_each)
    ]
    return json.dumps({"head": 9, "journeys": journeys, "events": events}).encode()


@settings(max_examples=60, deadline=None)
@given(
    journeys=st.integers(0, 40),
    events_each=st.integers(1, 4),
    cuts=st.lists(st.integers(1, 97), min_size=1, max_size=8),
)
def test_journeys_are_counted_however_the_body_arrives_in_pieces(
    journeys: int, events_each: int, cuts: list[int]
) -> None:
    """A journey id cut between two pieces is still one journey, counted once."""
    body = _body(journeys, events_each)
    pieces, at, step = [], 0, 0
    while at < len(body):
        size = cuts[step % len(cuts)]
        pieces.append(body[at : at + size])
        at, step = at + size, step + 1
    response = httpx.Response(200, content=iter(pieces))
    seen = Recorder()
    assert _read_snapshot(response, seen) == body
    if pieces:
        assert seen.received[-1] == (len(body), journeys, journeys)
        counts = [count for _, count, _ in seen.received]
        assert counts == sorted(counts)


def test_the_bars_are_drawn_on_a_terminal_and_nothing_elsewhere() -> None:
    screen = io.StringIO()
    with first_sync_progress(Console(file=screen, force_terminal=True, width=100)) as bars:
        assert bars is not None
        bars.receiving(2_500_000, 120, 400)
        bars.storing(100, 400)
    drawn = screen.getvalue()
    assert "Receiving" in drawn and "400/400" in drawn and "journeys" in drawn
    assert "2.5 MB" in drawn and "Storing" in drawn and "100/400" in drawn
    with first_sync_progress(Console(file=io.StringIO(), force_terminal=False)) as bars:
        assert bars is None
