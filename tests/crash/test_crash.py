"""Writers killed with SIGKILL at random moments leave nothing half-saved, lose nothing they
confirmed and duplicate nothing after a re-sync (issue 10 §9).

Each kill takes one of four writers in turn (the CLI, the TUI's write path through the Hub, a
replica pushing to the server's ingest, a replica pulling); see `harness.py`. After every kill:
every journey's row equals the replay of its events, seqs and positions are gap-free, SQLite's
`PRAGMA integrity_check` says ok, and after one more sync every change in a replica's outbox has
exactly one outcome on the server, applied ones present once as events. `bench/crash.py` runs
the same with 500 kills.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.crash.harness import MODES, campaign

pytestmark = pytest.mark.crash

KILLS = {"sqlite": 100, "postgresql": 50}


def test_killed_writers_leave_every_database_whole_and_every_change_exactly_once(
    database_url: str, tmp_path: Path
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    seed = random.SystemRandom().randrange(10_000)
    report = campaign(database_url, tmp_path, KILLS[backend], seed=seed)
    summary = f"seed {seed}: {report.line()}"
    assert report.damage.problems == [], summary
    assert report.damage.lost == 0, summary
    assert report.damage.duplicated == 0, summary
    # The kills must have landed while writing, in every writer, or nothing was tried.
    assert report.kills == KILLS[backend], summary
    assert all(report.by_mode[mode] > 0 for mode in MODES), summary
    assert report.mid_write >= report.kills // 2, summary
    assert report.confirmed > report.kills, summary
