"""How text reaches a widget: as literal `rich.text.Text`, never as markup.

Textual reads a plain `str` given to `Static`, `Label`, a `DataTable` cell or an `Option` as
markup, so a name holding `[/]` crashes the screen and one holding `[@click=app.quit]` is a
button. Every screen builds what it shows with `literal`: each piece goes through
`domain.display.shown` (no terminal control, no bidirectional override) and into a `Text`, which
Textual shows as the characters it holds. Styles are given as styles, beside the text, never
written into it. Notifications are made safe once, in the app's `notify`.
"""

from __future__ import annotations

from rich.console import JustifyMethod
from rich.style import StyleType
from rich.text import Text
from textual.content import Content

from d2a_tui.domain.display import shown

Part = str | Text | tuple[str, StyleType]
NEWLINE_TEXT = Text("\n", end="")  # a line break between parts that are single lines


def literal(*parts: Part, style: StyleType = "", lines: bool = False) -> Text:
    """The parts, one after the other, as one literal `Text`.

    A part is text (shown as it is), a `(text, style)` pair, or a `Text` made by `literal`
    already. `lines` keeps line breaks (otherwise they read `␤`); `style` is the whole text's."""
    text = Text(style=style, end="")
    for part in parts:
        if isinstance(part, Text):
            text.append_text(part)
        elif isinstance(part, tuple):
            text.append(shown(part[0], lines=lines), part[1])
        else:
            text.append(shown(part, lines=lines))
    return text


def cell(value: object, style: StyleType = "", justify: JustifyMethod | None = None) -> Text:
    """One table cell: `None` reads as nothing."""
    text = literal("" if value is None else str(value), style=style)
    if justify is not None:
        text.justify = justify
    return text


ContentPart = str | Content | tuple[str, str]
NEWLINE = Content("\n")  # a line break between parts, where the parts are single lines


def literal_content(*parts: ContentPart, lines: bool = False) -> Content:
    """As `literal`, but Textual `Content`, whose styles may name the theme's variables
    (`$text-error`): for a `Static` that speaks in the theme's colours."""
    return Content.assemble(
        *(
            part
            if isinstance(part, Content)
            else (shown(part[0], lines=lines), part[1])
            if isinstance(part, tuple)
            else shown(part, lines=lines)
            for part in parts
        )
    )
