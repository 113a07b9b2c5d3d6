"""A larger Schemathesis run over the API than `make test` makes: the same test, more cases.

    .venv/bin/python bench/fuzz_api.py [--examples 500]

Prints the cases generated per operation run, the outcome, and the wall time. Not a test: the
bounded run in `make test` is tests/sync/test_schemathesis.py.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="cases per API operation")
    args = parser.parse_args()
    env = {**os.environ, "D2A_FUZZ_EXAMPLES": str(args.examples)}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q",
         "tests/sync/test_schemathesis.py", "--hypothesis-show-statistics"],
        cwd=ROOT, env=env, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    for line in done.stdout.splitlines():
        if "passing examples" in line or "failing examples" in line or "passed" in line:
            print(line.strip())
    verdict = "no 5xx, every response as documented" if done.returncode == 0 else "FAILED"
    print(f"{args.examples} cases per operation: {verdict} in {seconds:.0f} s")
    if done.returncode:
        print(done.stdout[-4000:])
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
