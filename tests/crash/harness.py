"""Writers killed at a random moment, and what must hold of the databases they leave behind.

A forking parent (`python -m tests.crash.harness`) imports d2a once; for each job it is sent
(one JSON line on stdin) it forks a writer and reports `pid N`, the writer's own lines, and
`exit N` once the writer is gone. Forking keeps a kill cycle at tens of milliseconds where a
fresh interpreter per writer would cost a second. The writers:

- `cli`: the `d2a` command line (`cli.main`) adding notes and moving journeys, one process-level
  command after another, as a script or a person at a terminal would;
- `hub`: the TUI's write path, the `Hub` the screens call, making notes, moves and delays;
- `push`: a replica making changes and syncing them to the server's ingest (the real FastAPI
  app in the same process, so the kill takes the server's transaction down with the client's);
- `pull`: a replica pulling the server's events in small pages and applying them.

A writer prints `ok <what>` after each change it was told was committed; the kill comes at any
moment after `ready`. Killed writers are checked by `Checker` and `Sync` in the test process.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, text

from d2a_tui.domain.errors import D2AError
from d2a_tui.domain.events import replay
from d2a_tui.domain.flow import Flow, load_flow
from d2a_tui.domain.nhs_number import next_synthetic
from d2a_tui.storage.db import make_engine
from d2a_tui.storage.event_log import EventLog, counter_table, state_from_row
from d2a_tui.storage.journeys import Actor, JourneyStore, event_from_row, event_table, journey_table
from d2a_tui.storage.models import EVENTS_COUNTER

BASE_URL = "http://d2a.crash"
REPO = Path(__file__).resolve().parents[2]


# --- the writers (in the forked child) -----------------------------------------------------------


def _say(line: str) -> None:
    # One write(2) per line: whole lines reach the pipe even when the process dies right after.
    os.write(1, (line + "\n").encode())


def _next_change(flow: Flow, column_id: str, rng: random.Random) -> str | None:
    """A move the flow allows from this column without extra details, or None."""
    column = flow.column(column_id)
    targets = [target for target in column.moves if not flow.column(target).needs]
    return rng.choice(targets) if targets else None


def _write_cli(job: dict[str, Any], rng: random.Random) -> None:
    from d2a_tui import cli
    from d2a_tui.services.hub import Hub

    url = job["url"]
    reader = Hub.open(url)
    _say("ready")
    for index in range(10_000):
        journey = rng.choice(job["journeys"])
        target = _next_change(reader.flow, reader.store.card(journey).column, rng)
        if target is not None and rng.random() < 0.5:
            argv, what = ["move", journey, target, "--db", url], "move"
        else:
            text_ = f"crash note {job['tag']}-{index}"
            argv, what = ["note", journey, text_, "--db", url], f"note {text_}"
        with open(os.devnull, "w") as quiet:
            sys.stdout, sys.stderr = quiet, quiet
            code = cli.main(argv)
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        if code == 0:
            _say(f"ok {what}")


def _local_changes(
    hub: Any, job: dict[str, Any], rng: random.Random, count: int, say: Any = _say
) -> None:
    for _ in range(count):
        journey = rng.choice(job["journeys"])
        try:
            roll = rng.random()
            target = _next_change(hub.flow, hub.store.card(journey).column, rng)
            if roll < 0.4 and target is not None:
                change = hub.move(journey, target)
            elif roll < 0.6:
                change = hub.set_delay(journey, rng.choice(["MED", "EQUIP", "TRANSPORT"]))
            else:
                change = hub.add_note(journey, f"crash note {job['tag']}")
        except D2AError:
            continue
        say(f"ok {change.event.event_id}")


def _write_hub(job: dict[str, Any], rng: random.Random) -> None:
    from d2a_tui.services.hub import Hub

    hub = Hub.open(job["url"], user="crash.hub")
    _say("ready")
    while True:
        _local_changes(hub, job, rng, 1)


def _replica(job: dict[str, Any]) -> Any:
    from d2a_tui.services.hub import Hub
    from d2a_tui.sync.client import SyncClient
    from d2a_tui.sync.login import Login
    from d2a_tui.sync.replica_hub import ReplicaSync
    from d2a_tui.sync.server import create_app
    from tests.sync.transports import ASGISyncTransport

    flow = load_flow()
    server = make_engine(job["server_url"])
    transport = ASGISyncTransport(create_app(server, flow=flow))
    login = Login(BASE_URL, *job["login"])
    client = SyncClient(BASE_URL, login.token, transport=transport, retries=0)
    store = JourneyStore(make_engine(login.database_url), flow)
    hub = Hub(store, Actor(login.user_id, login.device_id), lambda: datetime.now(UTC))
    hub.sync = ReplicaSync(hub, login=login, client=client)
    hub.sync.synchroniser.batch = 3  # several pushes, several server transactions, per sync
    hub.sync.synchroniser.page = 7
    return hub


def _write_push(job: dict[str, Any], rng: random.Random) -> None:
    hub = _replica(job)
    _say("ready")
    while True:
        _local_changes(hub, job, rng, rng.randint(1, 4))
        hub.sync.sync_now(wait=True)
        _say("synced")


def _write_pull(job: dict[str, Any], rng: random.Random) -> None:
    hub = _replica(job)
    _say("ready")
    while True:
        hub.sync.sync_now(wait=True)
        _say("synced")


WRITERS = {"cli": _write_cli, "hub": _write_hub, "push": _write_push, "pull": _write_pull}


def _warm_up() -> None:
    """Everything a writer imports, imported here once (the CLI and the hub import lazily), so
    that no writer pays for it; nothing stays connected across the forks."""
    import tempfile

    import d2a_tui.sync.replica_hub
    import d2a_tui.sync.server  # noqa: F401
    import tests.sync.transports  # noqa: F401
    from d2a_tui import cli
    from d2a_tui.services.hub import Hub

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/warm.db"
        hub = Hub.open(url)
        hub.close()
        with open(os.devnull, "w") as quiet:
            sys.stdout = quiet
            cli.main(["list", "--db", url])
            sys.stdout = sys.__stdout__


def _serve() -> None:
    """The forking parent: one job per stdin line."""
    _warm_up()
    for line in sys.stdin:
        job = json.loads(line)
        child = os.fork()
        if child == 0:
            code = 0
            try:
                WRITERS[job["mode"]](job, random.Random(job["seed"]))
            except BaseException as error:  # reported to the test, never hidden
                _say(f"error {type(error).__name__}: {str(error)[:300]}")
                code = 1
            os._exit(code)
        _say(f"pid {child}")
        _, status = os.waitpid(child, 0)
        _say(f"exit {status}")


# --- the test's side -----------------------------------------------------------------------------


@dataclass
class Run:
    """One writer's life: what it confirmed before it was killed."""

    confirmed: list[str] = field(default_factory=list)
    syncs: int = 0
    killed: bool = False
    error: str | None = None


class Forker:
    """The forking parent, seen from the test."""

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.crash.harness"],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            self.lines.put(raw.decode().rstrip("\n"))
        self.lines.put("closed")

    def _line(self, deadline: float) -> str:
        try:
            return self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError("the writer stopped answering") from None

    def run(self, job: dict[str, Any], after: int, kill_after: float, timeout: float = 60.0) -> Run:
        """Start a writer, SIGKILL it `kill_after` seconds after it has confirmed `after` writes
        (or syncs; 0: after it is ready), and collect its lines. Counting writes rather than
        seconds alone puts the kills among the writes however busy the machine is."""
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(job) + "\n").encode())
        self.process.stdin.flush()
        deadline = time.monotonic() + timeout
        run = Run()
        pid = 0
        kill_at: float | None = None
        while True:
            wait_until = deadline if kill_at is None else min(deadline, kill_at)
            try:
                line = self.lines.get(timeout=max(0.0, wait_until - time.monotonic()))
            except queue.Empty:
                if kill_at is not None and not run.killed:
                    os.kill(pid, signal.SIGKILL)
                    run.killed = True
                    kill_at = None
                    continue
                raise AssertionError(f"no answer from the {job['mode']} writer") from None
            word, _, rest = line.partition(" ")
            if word == "pid":
                pid = int(rest)
            elif word == "ready" and after == 0:
                kill_at = time.monotonic() + kill_after
            elif word == "ok":
                run.confirmed.append(rest)
            elif word == "synced":
                run.syncs += 1
            if word in ("ok", "synced") and len(run.confirmed) + run.syncs == after:
                kill_at = time.monotonic() + kill_after
            elif word == "error":
                run.error = rest
            elif word == "exit":
                return run
            elif word == "closed":
                raise AssertionError("the forking parent died")
            if kill_at is not None and time.monotonic() >= kill_at and not run.killed:
                os.kill(pid, signal.SIGKILL)
                run.killed = True
                kill_at = None

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


@dataclass
class Damage:
    """What a check found; every figure must stay 0."""

    lost: int = 0
    duplicated: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Damage) -> None:
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.problems += other.problems


def check_database(engine: Engine, *, gap_free: bool = True) -> list[str]:
    """Each journey's row is the replay of its events, seqs run 1..n, positions run 1..head
    with the counter at head, and SQLite's own integrity check passes."""
    problems: list[str] = []
    where = engine.url.database or "?"
    with engine.begin() as connection:
        # The counter's lock first, as every writer takes it: a killed writer's transaction may
        # still be finishing on the PostgreSQL server (a COMMIT already sent completes), and the
        # reads below must see it whole or not at all.
        EventLog(connection).lock()
        if engine.dialect.name == "sqlite":
            verdict = connection.execute(text("PRAGMA integrity_check")).scalars().all()
            if verdict != ["ok"]:
                problems.append(f"integrity_check: {verdict[:3]}")
        events = connection.execute(
            select(event_table).order_by(event_table.c.journey_id, event_table.c.seq)
        ).all()
        rows = {row.id: row for row in connection.execute(select(journey_table))}
        head = connection.execute(
            select(counter_table.c.value).where(counter_table.c.name == EVENTS_COUNTER)
        ).scalar_one()
    by_journey: dict[str, list[Any]] = {}
    for row in events:
        by_journey.setdefault(row.journey_id, []).append(row)
    if set(by_journey) != set(rows):
        problems.append(f"journeys without events or events without a journey: "
                        f"{sorted(set(by_journey) ^ set(rows))[:3]}")  # fmt: skip
    for journey_id, journey_events in by_journey.items():
        seqs = [row.seq for row in journey_events]
        if seqs != list(range(1, len(seqs) + 1)):
            problems.append(f"journey {journey_id[:8]}: seqs {seqs[:10]}… are not 1..n")
            continue
        if journey_id in rows:
            stored = state_from_row(rows[journey_id])
            replayed = replay([event_from_row(row) for row in journey_events])
            if stored != replayed:
                problems.append(f"journey {journey_id[:8]}: stored state is not its replay")
    positions = sorted(row.position for row in events)
    if gap_free and positions != list(range(1, len(positions) + 1)):
        problems.append(f"positions are not gap-free ({len(positions)} events, head {head})")
    if positions and head < positions[-1]:
        problems.append(f"the counter ({head}) is behind the last position ({positions[-1]})")
    if gap_free and head != len(positions):
        problems.append(f"the counter ({head}) is not the number of events ({len(positions)})")
    return [f"{where}: {problem}" for problem in problems]


def count_events(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(event_table)).scalar_one())


def event_ids(engine: Engine) -> Tally[str]:
    with engine.connect() as connection:
        return Tally(connection.execute(select(event_table.c.event_id)).scalars())


def note_texts(engine: Engine) -> Tally[str]:
    with engine.connect() as connection:
        payloads = connection.execute(
            select(event_table.c.payload).where(event_table.c.kind == "note_added")
        ).scalars()
        return Tally(str(payload.get("text")) for payload in payloads)


def local_damage(engine: Engine, run: Run, before: int) -> Damage:
    """A writer on its own database: every change it confirmed is stored, once, and at most one
    change it had not yet confirmed (committed as it died) is stored besides."""
    damage = Damage(problems=check_database(engine))
    added = count_events(engine) - before
    damage.lost += max(0, len(run.confirmed) - added)
    damage.duplicated += max(0, added - len(run.confirmed) - 1)
    ids = event_ids(engine)
    notes = note_texts(engine)
    for what in run.confirmed:
        if what.startswith("note "):
            seen = notes[what.removeprefix("note ")]
        elif what == "move":
            continue
        else:
            seen = ids[what]
        damage.lost += seen == 0
        damage.duplicated += max(0, seen - 1)
    return damage


def journeys_everywhere(engine: Engine) -> dict[str, tuple[Any, ...]]:
    columns = [column for column in journey_table.c if column.name != "change_position"]
    with engine.connect() as connection:
        return {row.id: tuple(row) for row in connection.execute(select(*columns))}


class SyncWorld:
    """A server database and two replicas of it (one pushing, one pulling), each writer's state
    re-synced and compared in the test process after every kill."""

    def __init__(self, server_url: str, folder: Path) -> None:
        from d2a_tui.services.hub import Hub
        from d2a_tui.storage.db import ensure_schema
        from d2a_tui.sync import admin
        from d2a_tui.sync.client import SyncClient
        from d2a_tui.sync.server import create_app
        from tests.sync.transports import ASGISyncTransport

        self.flow = load_flow()
        self.server_url = server_url
        self.server = make_engine(server_url)
        self.app = create_app(self.server, flow=self.flow)
        self.transport = ASGISyncTransport(self.app)
        clock = lambda: datetime.now(UTC)  # noqa: E731
        self.desk = Hub(JourneyStore(self.server, self.flow), Actor("desk", "server-desk"), clock)
        self.logins: dict[str, list[str]] = {}
        for user in ("pusher", "puller"):
            admin.add_user(self.server, user.title(), "night", None, user)
            _, enrol_token = admin.enrol_device(self.server, user)
            enrolled = SyncClient(BASE_URL, transport=self.transport).enrol(enrol_token)
            url = f"sqlite:///{folder / f'{user}.db'}"
            ensure_schema(make_engine(url))
            # Login's fields after the server URL: token, device, user id, name, role, database.
            self.logins[user] = [enrolled.token, enrolled.device_id, user, user, "night", url]

    def job(self, mode: str, journeys: list[str], seed: int) -> dict[str, Any]:
        user = "pusher" if mode == "push" else "puller"
        return {"mode": mode, "server_url": self.server_url, "login": self.logins[user],
                "journeys": journeys, "seed": seed, "tag": f"s{seed}"}  # fmt: skip

    def replica(self, user: str) -> Any:
        from d2a_tui.services.hub import Hub
        from d2a_tui.sync.client import SyncClient
        from d2a_tui.sync.login import Login
        from d2a_tui.sync.replica_hub import ReplicaSync
        from tests.sync.transports import ASGISyncTransport

        login = Login(BASE_URL, *self.logins[user])
        # Its own transport: closing the hub closes it.
        client = SyncClient(BASE_URL, login.token, transport=ASGISyncTransport(self.app), retries=0)
        hub = Hub(
            JourneyStore(make_engine(login.database_url), self.flow),
            Actor(login.user_id, login.device_id),
            lambda: datetime.now(UTC),
        )
        hub.sync = ReplicaSync(hub, login=login, client=client)
        return hub

    def server_traffic(self, journeys: list[str], rng: random.Random, count: int) -> None:
        """Changes made at the server's own desk, for the puller to fetch."""
        _local_changes(
            self.desk, {"journeys": journeys, "tag": "desk"}, rng, count, say=lambda _: None
        )

    def after_kill(self, user: str, run: Run) -> Damage:
        """The killed side's databases are consistent as they were left; after one more sync,
        the replica holds exactly the server's journeys and every change it made has exactly one
        outcome on the server: applied ones once as events, the others never."""
        from d2a_tui.sync.ingest import receipt_table
        from d2a_tui.sync.replica import outbox_table

        hub = self.replica(user)
        replica = hub.store.engine
        # A replica's positions are its own order of arrival: provisional events it drops when
        # the server's version lands leave gaps there by design.
        damage = Damage(problems=check_database(replica, gap_free=False))
        damage.problems += check_database(self.server)
        with replica.connect() as connection:
            made = {row.mutation_id for row in connection.execute(select(outbox_table))}
        damage.lost += sum(1 for what in run.confirmed if what not in made)
        try:
            hub.sync.sync_now(wait=True)
        finally:
            hub.close()
        device = self.logins[user][1]
        with self.server.connect() as connection:
            receipts = {
                row.mutation_id: row.outcome
                for row in connection.execute(
                    select(receipt_table).where(receipt_table.c.device_id == device)
                )
            }
            from_device = Tally(
                connection.execute(
                    select(event_table.c.event_id).where(event_table.c.device_id == device)
                ).scalars()
            )
        with replica.connect() as connection:
            outbox = {
                row.mutation_id: row.status for row in connection.execute(select(outbox_table))
            }
        for mutation_id, status in outbox.items():
            if status == "pending" or mutation_id not in receipts:
                damage.lost += 1
            elif status != receipts[mutation_id]:
                damage.problems.append(f"outbox says {status}, the server {receipts[mutation_id]}")
            applied = receipts.get(mutation_id) == "applied"
            seen = from_device[mutation_id]
            damage.lost += applied and seen == 0
            damage.duplicated += max(0, seen - 1) + (not applied and seen > 0)
        damage.duplicated += sum(1 for mutation_id in from_device if mutation_id not in outbox)
        if journeys_everywhere(replica) != journeys_everywhere(self.server):
            damage.problems.append(f"{user}'s journeys differ from the server's after a sync")
        replica.dispose()
        return damage

    def close(self) -> None:
        self.transport.close()
        self.server.dispose()


MODES = ("cli", "hub", "push", "pull")


@dataclass
class Report:
    kills: int = 0
    confirmed: int = 0
    mid_write: int = 0  # kills that came after the writer had confirmed something
    damage: Damage = field(default_factory=Damage)
    by_mode: Tally[str] = field(default_factory=Tally)
    seconds: Tally[str] = field(default_factory=Tally)

    def line(self) -> str:
        modes = ", ".join(f"{mode} {self.by_mode[mode]}" for mode in MODES)
        return (
            f"kills {self.kills} ({modes}), writes confirmed {self.confirmed}, "
            f"lost {self.damage.lost}, duplicated {self.damage.duplicated}, "
            f"inconsistent {len(self.damage.problems)}"
        )


def campaign(url: str, folder: Path, kills: int, seed: int = 0, longest: float = 0.05) -> Report:
    """`kills` writers, each mode in turn, on the database at `url` (the CLI and the hub write
    it directly; it is also the sync server of the two replicas), each SIGKILLed at a random
    moment: up to `longest` seconds after its 0th to 3rd confirmed write or sync. Everything is
    checked after each kill."""
    rng = random.Random(seed)
    world = SyncWorld(url, folder)
    forker = Forker()
    report = Report()
    try:
        journeys = [
            world.desk.refer(
                next_synthetic(serial * 13)[1], f"Crash Person {serial}", "1941-05-06",
                ward="Ward 7", admitted_on="2026-11-15",
            ).card.journey_id
            for serial in range(1, 13)
        ]  # fmt: skip
        for user in ("pusher", "puller"):
            hub = world.replica(user)
            hub.sync.sync_now(wait=True)
            hub.close()
        for index in range(kills):
            mode = MODES[index % len(MODES)]
            if mode == "pull":
                world.server_traffic(journeys, rng, 10)
                job = world.job(mode, journeys, seed * 100_000 + index)
            elif mode == "push":
                job = world.job(mode, journeys, seed * 100_000 + index)
            else:
                job = {"mode": mode, "url": url, "journeys": journeys,
                       "seed": seed * 100_000 + index, "tag": f"{seed}-{index}"}  # fmt: skip
            before = count_events(world.server)
            started = time.perf_counter()
            run = forker.run(job, rng.randint(0, 3), rng.uniform(0, longest))
            ran = time.perf_counter()
            if run.error is not None:
                report.damage.problems.append(f"{mode} writer failed: {run.error}")
            if mode in ("cli", "hub"):
                damage = local_damage(world.server, run, before)
            else:
                damage = world.after_kill("pusher" if mode == "push" else "puller", run)
            report.damage.add(damage)
            report.seconds[mode] += ran - started
            report.seconds[mode + " check"] += time.perf_counter() - ran
            report.kills += run.killed
            report.by_mode[mode] += run.killed
            report.confirmed += len(run.confirmed)
            report.mid_write += run.killed and bool(run.confirmed or run.syncs)
    finally:
        forker.close()
        world.close()
    return report


if __name__ == "__main__":
    _serve()
