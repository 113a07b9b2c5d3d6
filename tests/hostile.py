"""Hostile text: what a name, a note, a ward, a service's name or an HL7 field may hold.

Markup that Textual or Rich would act on, terminal control sequences, bidirectional overrides,
zero-width characters and very long text. The tests feed these through every entry and read every
screen and listing: nothing crashes, nothing raw reaches the terminal, the text stays readable.
"""

from __future__ import annotations

import re

# Markup: each would crash a screen (an unbalanced closing tag) or act (a click, a link) if it
# were read as markup. A trailing backslash escapes the tag a screen puts after the text.
MARKUP = (
    "[/]",
    "Ann [bold]Smith",
    "[@click=app.quit]Bob[/]",
    "[link=https://example.invalid]Cy Link[/link]",
    "Dee\\",
    "[$text-error]Eve",
    "[b]Fay[/i]",
    "[on red]Gus[/on red] [/bold]",
)

# Terminal control: colour, an OSC 52 clipboard write, an OSC 8 link, BEL, backspaces, the C1
# CSI, DEL, a carriage return that would overwrite the line.
CONTROL = (
    "Hal\x1b[31m red\x1b[0m",
    "Ivy\x1b]52;c;ZXZpbA==\x07",
    "\x1b]8;;https://example.invalid\x1b\\Jo link\x1b]8;;\x1b\\",
    "Kit\x07\x07",
    "Lou\x08\x08\x08XXX",
    "Max\x9b31m C1",
    "Ned\x7f",
    "Oz\rOVERWRITTEN",
)

# Order and invisibility: right-to-left overrides and isolates, zero-width characters, a BOM.
REORDER = (
    "Pam \u202eevil.exe\u202c",
    "\u2066Quin\u2069 \u2067Roe\u2069",
    "Sue\u200b\u200c\u200dTan",
    "\ufeffUma",
)

LONG = "Vic " + "x" * 4996  # 5,000 characters

CORPUS = (*MARKUP, *CONTROL, *REORDER, LONG)

# A raw byte a terminal would act on: C0 but line breaks, tabs, form feeds and CSV's CRLF that a
# listing writes itself, DEL, C1; and the bidirectional and zero-width format characters.
RAW = re.compile(
    "\r(?!\n)|[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]"
)


def raw_in(text: str) -> list[str]:
    """The raw characters in `text`, as their code points, for a readable failure."""
    return sorted({f"U+{ord(c):04X}" for c in RAW.findall(text)})


def readable(value: str) -> str:
    """The part of a hostile value that must be seen on screen: its first run of letters."""
    match = re.search(r"[A-Za-z]{2,}", value)
    assert match is not None
    return match.group()
