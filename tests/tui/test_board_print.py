"""The board printed: plain text in 80-column pages, Markdown and HTML, compared with golden files
made from the seeded locality on the frozen clock (23 Nov 2026 09:30 UTC).

After an intended change: `D2A_UPDATE_GOLDEN=1 pytest tests/tui/test_board_print.py`, then read
the diff of tests/tui/golden before committing it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from d2a_tui.services import printing as board_print
from d2a_tui.services.hub import Hub

GOLDEN = Path(__file__).parent / "golden"


def matches_golden(name: str, text: str) -> bool:
    path = GOLDEN / name
    if os.environ.get("D2A_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize(
    ("where", "form", "golden"),
    [
        ("stuck", "text", "board-stuck.txt"),
        ("ward:7", "markdown", "board-ward-7.md"),
        ("pathway:P3", "html", "board-p3.html"),
        ("", "text", "board-all.txt"),
    ],
)
def test_printed_board_matches_golden(seeded_hub: Hub, where: str, form: str, golden: str) -> None:
    printed = board_print.from_hub(seeded_hub, where)
    assert matches_golden(golden, board_print.render(printed, form))


def test_text_fits_80_columns_and_pages_of_60_lines(seeded_hub: Hub) -> None:
    text = board_print.render_text(board_print.from_hub(seeded_hub))
    pages = text.split("\f")
    # 459 open journeys, one line each, at most 53 rows a page: at least 9 pages.
    assert len(pages) >= 9
    for number, page in enumerate(pages, start=1):
        lines = page.strip("\n").split("\n")
        assert len(lines) <= board_print.PAGE_LINES
        assert lines[0].endswith(f"page {number} of {len(pages)}")
        assert all(len(line) <= 80 for line in lines)
    rows = [line for line in text.splitlines() if line[:1] in ("○", "▲", "■")]
    assert len(rows) == 459 + 1  # and the key to the symbols, last


def test_html_escapes_what_people_typed(seeded_hub: Hub) -> None:
    from tests.conftest import refer_someone

    refer_someone(seeded_hub, 90001, name="Ann <script>alert(1)</script>", ward="Ward <7>")
    page = board_print.render_html(board_print.from_hub(seeded_hub, "new"))
    assert "<script>" not in page
    assert "Ann &lt;script&gt;alert(1)&lt;/script&gt;" in page and "Ward &lt;7&gt;" in page


def test_wide_names_are_cut_by_screen_cells_not_characters(seeded_hub: Hub) -> None:
    from rich.cells import cell_len

    from tests.conftest import refer_someone

    name = "王秀英 Wáng Xiùyīng-Long-Double-Barrelled"  # 3 wide characters: 6 cells, then 36
    journey = refer_someone(seeded_hub, 90002, name=name, ward="病房 7")
    tail = seeded_hub.journey(journey).card.nhs_number[-4:]
    text = board_print.render_text(board_print.from_hub(seeded_hub, "new"))
    row = next(line for line in text.splitlines() if "王秀英" in line)
    # symbol (1) + space + the name cut to 27 cells + space: the NHS digits start at cell 30.
    assert cell_len(row[: row.index(f" {tail} ") + 1]) == 30
    assert "…" in row and all(cell_len(line) <= 80 for line in text.splitlines())
