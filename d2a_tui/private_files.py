"""Files that hold patient data are readable by their owner only: 0600, in a 0700 folder if we
make the folder. The mode is set when the file is created (no moment at 0644) and again after,
as O_CREAT's mode does not apply to a file that already existed."""

from __future__ import annotations

import os
from pathlib import Path

from d2a_tui.domain.errors import D2AError


def write_private(path: Path | str, text: str, *, make_folder: bool = False) -> Path:
    """`make_folder`: d2a's own folder (the data folder's reports); a folder the user typed
    must exist, so a typo creates nothing."""
    target = Path(path).expanduser()
    if not make_folder and not target.parent.is_dir():
        raise D2AError(f"no folder {target.parent}: create it first; nothing was written")
    try:
        if not target.parent.exists():
            target.parent.mkdir(parents=True, mode=0o700)
        descriptor = os.open(target, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(target, 0o600)
    except OSError as error:
        raise D2AError(f"cannot write {target}: {error.strerror or error}") from None
    return target
