"""The session's undo and redo: a stack of the user's own changes while the board is open.

`u` undoes the newest change still on the stack, again and again; `U` redoes what was undone,
newest first. A change made anew clears the redo stack, as in any editor. An undo the database
could not take (it was away) stays on the stack to try again; one the rules now refuse (someone
changed the journey since) leaves the stack with the reason, so the next `u` goes further back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from d2a_tui.services.hub import Change


@dataclass
class UndoHistory:
    undo: list[Change] = field(default_factory=list)
    redo: list[Change] = field(default_factory=list)  # the undo events, to be undone in turn

    def record(self, change: Change) -> None:
        self.undo.append(change)
        self.redo.clear()
