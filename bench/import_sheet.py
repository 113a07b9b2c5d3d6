"""Import benchmark: a 5,000-row caseload workbook brought in by `d2a import` (target <= 10 s).

    .venv/bin/python bench/import_sheet.py [--rows 5000] [--runs 3] [--postgres URL]

Each run imports the workbook into an empty database (SQLite file, then PostgreSQL when it can be
reached) and times the three parts: reading the sheet, planning (matching every row against the
database) and applying (every event through the one write path, in one transaction); then the
re-run, which must write nothing. Figures are medians of --runs, with the fastest run beside them.
Patients are synthetic (999 NHS numbers); nothing identifying is printed. Not a test.
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from openpyxl import Workbook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres
from d2a_tui.domain.calendar import HubCalendar
from d2a_tui.domain.delays import DELAY_REASONS
from d2a_tui.domain.flow import load_flow
from d2a_tui.domain.nhs_number import next_synthetic
from d2a_tui.interop.importer import Planner, apply_import
from d2a_tui.interop.sheet import read_sheet
from d2a_tui.storage.db import ensure_schema, make_engine
from d2a_tui.storage.journeys import Actor, JourneyStore

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
TARGET_S = 10.0
COLUMNS = ["Referred", "Triage", "Awaiting P1", "Awaiting P2", "Awaiting P3", "Awaiting P0"]


def make_workbook(path: Path, rows: int, seed: int = 2026) -> None:
    rng = random.Random(seed)
    book = Workbook()
    sheet = book.active
    sheet.append(["Caseload (SYNTHETIC DEMO DATA)"])
    sheet.append(
        ["NHS No", "Patient", "DOB", "Admission date", "Ward", "Bed", "Status", "Referral date",
         "DRD", "EDD", "Delay reason"]
    )  # fmt: skip
    acute = [reason for reason in DELAY_REASONS if reason.sitrep == "acute"]
    serial = 0
    today = NOW.date()
    for index in range(rows):
        serial, nhs = next_synthetic(serial)
        admitted = today - timedelta(days=rng.randint(1, 40))
        referred = admitted + timedelta(days=rng.randint(0, (today - admitted).days))
        ready = referred if rng.random() < 0.7 else None
        status = rng.choice(COLUMNS)
        sheet.append(
            [
                nhs,
                f"Synthetic Person {index}",
                date(1930 + rng.randint(0, 60), rng.randint(1, 12), rng.randint(1, 28)),
                # Half the admission dates as Excel date cells, half as typed text.
                admitted if index % 2 else admitted.strftime("%d/%m/%Y"),
                f"Ward {rng.randint(1, 30)}",
                f"B{rng.randint(1, 24)}",
                status,
                referred.strftime("%d-%b-%y"),
                ready,
                today + timedelta(days=rng.randint(0, 10)),
                rng.choice(acute).text if ready and rng.random() < 0.6 else None,
            ]
        )
    book.save(path)


def one_run(url: str, path: Path) -> dict[str, float]:
    engine = make_engine(url)
    ensure_schema(engine)
    store = JourneyStore(engine, load_flow())
    calendar = HubCalendar()
    actor = Actor("bench", "bench-device")
    times: dict[str, float] = {}
    started = time.perf_counter()
    sheet = read_sheet(path)
    times["read"] = time.perf_counter() - started
    mark = time.perf_counter()
    plan = Planner(store, calendar, NOW).plan(sheet)
    times["plan"] = time.perf_counter() - mark
    assert not plan.refused, plan.refused[:3]
    mark = time.perf_counter()
    times["events"] = apply_import(store, plan, actor, NOW)
    times["apply"] = time.perf_counter() - mark
    times["total"] = time.perf_counter() - started
    mark = time.perf_counter()
    again = Planner(store, calendar, NOW).plan(read_sheet(path))
    assert apply_import(store, again, actor, NOW) == 0
    times["rerun"] = time.perf_counter() - mark
    engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"# d2a import, {args.rows:,} rows; {platform.python_version()}, {platform.machine()}")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "caseload.xlsx"
        make_workbook(path, args.rows)
        for backend in ("sqlite", "postgresql"):
            runs = []
            for run in range(args.runs):
                if backend == "sqlite":
                    url = f"sqlite:///{folder}/import_{run}.db"
                else:
                    found = fresh_postgres(args.postgres, f"d2a_bench_import_{run}")
                    if found is None:
                        print("postgresql: not reachable, skipped")
                        break
                    url = found
                runs.append(one_run(url, path))
            if not runs:
                continue
            median = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
            fastest = min(r["total"] for r in runs)
            print(
                f"{backend:<10} total {median['total']:.2f} s (fastest {fastest:.2f} s; target "
                f"<= {TARGET_S:.0f} s): read {median['read']:.2f} s, plan {median['plan']:.2f} s, "
                f"apply {median['apply']:.2f} s for {median['events']:,.0f} events; "
                f"re-run {median['rerun']:.2f} s, 0 events"
            )


if __name__ == "__main__":
    main()
