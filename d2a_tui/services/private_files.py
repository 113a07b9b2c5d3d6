"""Files that hold patient data are readable by their owner only (0600, in a 0700 folder if we
make the folder), and are written without following a link: see `storage.files`."""

from __future__ import annotations

from d2a_tui.storage.files import write_private

__all__ = ["write_private"]
