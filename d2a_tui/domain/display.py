"""Text from people and other systems, made fit to show: the one place it is done.

A name, a note, a ward, a service's name, a provider's question or an HL7 field is data. On a
screen or a terminal line it must read as the characters it holds and do nothing else: no
terminal control (ESC/CSI sequences, OSC 52 clipboard writes, OSC 8 links, BEL, backspace, the
C1 controls), no bidirectional override that reorders what follows it, no invisible character
that hides a difference between two names. The field limits refuse most of these at entry, but
not every source passes them (an ADT message that is refused, a service named on the command
line of an older release, a file imported before the limits), and a display must be safe
whatever it is given.

`shown` is an allow-list by Unicode category: every printable character (letters, marks, numbers,
punctuation, symbols, spaces) is kept as it is, and everything else is replaced by a visible
stand-in, so the text stays readable and the reader sees that something was there:

- C0 controls and DEL become their Unicode control pictures (ESC reads `␛`, BEL `␇`, NUL `␀`);
- a tab becomes a space; a line break is kept only where the caller shows several lines, and is
  `␤` elsewhere;
- anything else that is not printable (C1 controls, bidirectional embeddings, overrides and
  isolates, zero-width characters, the BOM, lone surrogates, private-use and unassigned code
  points, line and paragraph separators) becomes U+FFFD `�`.

Markup (`[bold]`, `[/]`, `[@click=…]`) is not a question of characters: the screens' helper puts
the result into a widget as literal text, never as markup (widgets/literal.py).
"""

from __future__ import annotations

REPLACEMENT = "\ufffd"
_CONTROL_PICTURES = 0x2400  # U+2400 ␀ .. U+241F ␟ for the C0 controls
_DEL_PICTURE = "\u2421"  # ␡
_NEWLINE_PICTURE = "\u2424"  # ␤


def _stand_in(char: str, lines: bool) -> str:
    if char == "\n":
        return "\n" if lines else _NEWLINE_PICTURE
    if char == "\t":
        return " "
    code = ord(char)
    if code < 0x20:
        return chr(_CONTROL_PICTURES + code)
    if code == 0x7F:
        return _DEL_PICTURE
    if char.isspace() and char not in "\x85\u2028\u2029":
        return char  # a non-breaking or other width of space: printable to every terminal
    return REPLACEMENT


def shown(value: object, *, lines: bool = False) -> str:
    """`value` as text a screen or a terminal line can show literally (see the module's words).

    `lines`: keep line breaks (a note shown over several lines); otherwise they read `␤`."""
    text = value if isinstance(value, str) else str(value)
    if text.isprintable():  # the common case, at C speed
        return text
    if lines and all(part.isprintable() for part in text.split("\n")):
        return text
    return "".join(char if char.isprintable() else _stand_in(char, lines) for char in text)


# What a whole listing may hold besides printable text: line breaks, tabs (TSV), form feeds
# (the printed board's pages) and CSV's CRLF; a carriage return alone would let a value
# overwrite the line it is on.
_LAYOUT = frozenset("\n\t\f")


def terminal_text(text: str) -> str:
    """A whole piece of a command's output (several lines, a table, a CSV) as `shown` makes
    each value: the layout characters a listing writes itself are kept, nothing else raw."""
    lines = text.split("\n")
    if all(line.isprintable() for line in lines):
        return text
    end = len(lines) - 1
    return "\n".join(
        line if line.isprintable() else _terminal_line(line, crlf=number < end)
        for number, line in enumerate(lines)
    )


def _terminal_line(line: str, crlf: bool) -> str:
    out = []
    last = len(line) - 1
    for index, char in enumerate(line):
        if char.isprintable() or char in _LAYOUT:
            out.append(char)
        elif char == "\r" and index == last and crlf:
            out.append(char)  # CRLF: the \n follows, split off above
        else:
            out.append(_stand_in(char, lines=False))
    return "".join(out)


def is_shown(text: str, *, lines: bool = False) -> bool:
    """Whether `text` is already as `shown` makes it (nothing a terminal would act on)."""
    return shown(text, lines=lines) == text


def _json_escape(char: str) -> str:
    code = ord(char)
    if code > 0xFFFF:  # a surrogate pair, as JSON writes characters beyond the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_shown(document: str) -> str:
    """A JSON document (as `json.dumps` wrote it, `ensure_ascii=False`) with every character a
    terminal could act on written as a `\\uXXXX` escape: the same data for a program, nothing raw
    for a terminal. JSON escapes the C0 controls itself, not DEL, the C1 controls or the format
    characters. Only for JSON text: outside its strings JSON has no such characters."""
    if all(line.isprintable() for line in document.split("\n")):
        return document
    return "".join(
        char if char == "\n" or char.isprintable() else _json_escape(char) for char in document
    )
