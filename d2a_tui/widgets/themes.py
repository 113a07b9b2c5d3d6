"""How the board looks on each terminal: the terminal's own 16 colours by default, a
high-contrast theme for poor screens, and no colour at all when asked (`NO_COLOR`, the `mono`
theme, or a monochrome terminal) — then every state reads by symbol, bold and reverse video.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from textual.theme import Theme

DEFAULT_THEME = "ansi-dark"  # the terminal's own 16 colours: readable anywhere, over any link
MONO = "mono"
HIGH_CONTRAST = "high-contrast"

# Terminals that show no colour whatever they are sent.
MONOCHROME_TERMS = frozenset({"dumb", "vt100", "vt102", "vt220", "xterm-mono", "linux-m", "ansi-m"})

HIGH_CONTRAST_THEME = Theme(
    name=HIGH_CONTRAST,
    dark=True,
    # Pure black and white with saturated accents: the largest contrast a screen can give,
    # for an old monitor across a bright ward office.
    primary="#1E50FF",  # the active column: white and yellow read on it
    secondary="#00FFFF",
    accent="#00FFFF",
    warning="#FFD700",
    error="#FF4040",
    success="#00FF00",
    foreground="#FFFFFF",
    background="#000000",
    surface="#000000",
    panel="#202020",
    boost="#303030",
    variables={
        "block-cursor-background": "#FFFFFF",
        "block-cursor-foreground": "#000000",
        "block-cursor-text-style": "bold",
        "footer-key-foreground": "#FFFF00",
        "text-muted": "#E0E0E0",
        "input-selection-background": "#FFFF00",
        "input-selection-foreground": "#000000",
    },
)


def wants_mono(theme: str | None, environ: Mapping[str, str] | None = None) -> bool:
    """No colour at all: `NO_COLOR` set (no-color.org), the `mono` theme, or a mono terminal."""
    env = os.environ if environ is None else environ
    return "NO_COLOR" in env or theme == MONO or env.get("TERM", "") in MONOCHROME_TERMS
