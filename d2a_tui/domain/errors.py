"""Errors a user can act on. Their text is shown as it is, so it must name the problem."""


class D2AError(Exception):
    """Base of every error the CLI and TUI show as one line instead of a traceback."""


class InvalidInput(D2AError):
    """A value the user typed is not acceptable (an NHS number, a date, a code)."""


class NotAllowed(D2AError):
    """The flow's rules forbid this change."""


class NotFound(D2AError):
    """No journey, column or service by that name."""
