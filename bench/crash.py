"""Writers killed at random: 500 SIGKILLs by default, on SQLite and on PostgreSQL, with counts.

    .venv/bin/python bench/crash.py [--kills 500] [--seed 1] [--postgres URL]

The in-suite crash test (tests/crash/test_crash.py) at a larger size: the CLI, the TUI's write
path (the Hub), a replica pushing into the server's ingest and a replica pulling, in turn, each
killed at a random moment; after each kill every journey's row is the replay of its events,
positions are gap-free, `PRAGMA integrity_check` is ok, and after a re-sync every change has
exactly one outcome on the server. Prints kills, writes confirmed, lost and duplicated (both must
be 0) and databases found inconsistent. Not a test; synthetic patients only.
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_postgres
from d2a_tui.storage.db import ensure_schema, make_engine
from tests.crash.harness import campaign


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    print(f"# crash: {args.kills} kills per backend, seed {args.seed}; "
          f"{platform.python_version()}, {platform.machine()}")  # fmt: skip
    failed = False
    with tempfile.TemporaryDirectory() as folder:
        for backend in ("sqlite", "postgresql"):
            if backend == "sqlite":
                url: str | None = f"sqlite:///{folder}/crash.db"
            else:
                url = fresh_postgres(args.postgres, "d2a_bench_crash")
                if url is None:
                    print("postgresql: not reachable, skipped")
                    continue
            assert url is not None
            ensure_schema(make_engine(url))
            work = Path(folder) / backend
            work.mkdir()
            started = time.perf_counter()
            report = campaign(url, work, args.kills, seed=args.seed)
            took = time.perf_counter() - started
            print(f"{backend:<10} {report.line()}; {took:.0f} s")
            for problem in report.damage.problems[:5]:
                print(f"           {problem}")
            failed |= bool(report.damage.lost or report.damage.duplicated or report.damage.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
