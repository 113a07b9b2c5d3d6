"""A machine where d2a never ran, for the first-hour tests: the real `d2a` in a subprocess with a
fresh HOME and XDG folders, no D2A_* setting and no data folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_SCRIPT = Path(sys.executable).with_name("d2a")
D2A: list[str] = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "d2a_tui"]


class Machine:
    """A home folder where d2a never ran: no D2A_* setting, XDG folders inside it."""

    def __init__(self, root: Path, name: str = "home") -> None:
        self.home = root / name
        self.home.mkdir(parents=True)
        # The developer's (and the test run's own) D2A_* settings would point elsewhere.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("D2A_")}
        self.env |= {
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / ".local" / "share"),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def data(self) -> Path:
        return self.home / ".local" / "share" / "d2a"

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*D2A, *args], env=self.env | env, capture_output=True, text=True, timeout=120,
            check=False, cwd=self.home,
        )  # fmt: skip

    def ok(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        done = self.run(*args, **env)
        assert done.returncode == 0, f"d2a {' '.join(args)}: {done.stderr}"
        return done

    def refused(self, *args: str, **env: str) -> str:
        """The one `d2a:` line a refused command prints (and that it printed nothing else)."""
        done = self.run(*args, **env)
        assert done.returncode != 0, f"d2a {' '.join(args)} was not refused: {done.stdout}"
        assert done.stdout == "" and "Traceback" not in done.stderr, done.stderr
        assert done.stderr.startswith("d2a: ") and done.stderr.count("\n") == 1, done.stderr
        return done.stderr
