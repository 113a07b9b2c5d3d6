"""Writing a file that holds patient data, or a secret, so that only its owner reads it and no
one can steer the write elsewhere.

The text goes to a new file made beside the target with O_CREAT|O_EXCL|O_NOFOLLOW and mode 0600
(`tempfile.mkstemp`), which is then renamed over the target. A rename replaces the directory
entry and never follows a link, so a symbolic link planted at the target (or at a fixed
temporary name, as an earlier version used) cannot send the write to `~/.bashrc` or anywhere
else; a target that is a symbolic link is refused outright, so the person is told. A reader
sees the old file whole or the new one whole, never half of one, and a 0644 moment never exists.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from d2a_tui.domain.errors import D2AError


def write_private(path: Path | str, text: str, *, make_folder: bool = False) -> Path:
    """`make_folder`: d2a's own folders (the data folder and its reports); a folder the user
    typed must exist, so a typo creates nothing."""
    target = Path(path).expanduser()
    if not make_folder and not target.parent.is_dir():
        raise D2AError(f"no folder {target.parent}: create it first; nothing was written")
    try:
        if not target.parent.exists():
            target.parent.mkdir(parents=True, mode=0o700)
        if target.is_symlink():
            raise D2AError(f"{target} is a symbolic link: d2a does not write through one")
        descriptor, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as error:
        raise D2AError(f"cannot write {target}: {error.strerror or error}") from None
    return target
