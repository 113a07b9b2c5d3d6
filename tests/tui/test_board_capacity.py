"""The board's headers show demand against capacity: the same gap the capacity desk works out."""

from __future__ import annotations

import re

from d2a_tui.services.hub import Hub
from tests.tui.conftest import header_text, make_app, wait_for


def shown_gap(text: str) -> int | None:
    found = re.search(r"gap ([+-]\d+)", text)
    return int(found.group(1)) if found else None


async def test_headers_show_the_gap_and_follow_a_vacancy_update(seeded_hub: Hub) -> None:
    desk = seeded_hub.capacity
    expected = {p: g.gap for p, g in desk.gap_by_pathway().items()}
    assert expected["P2"] is not None  # the seeded locality has P2 beds reporting
    app = make_app(seeded_hub, poll=0.05)
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        for pathway in ("P1", "P2", "P3"):
            assert shown_gap(header_text(app, f"await_{pathway.lower()}")) == expected[pathway]
        # Only columns awaiting a pathway with capacity carry a gap.
        assert shown_gap(header_text(app, "await_p0")) is None
        assert shown_gap(header_text(app, "in_p2")) is None

        # A provider reports three more P2 vacancies than the hub counted; back from the
        # capacity screen, the board shows the new gap without a reload.
        p2 = next(s for s in desk.statuses() if s.service.pathway == "P2" and s.latest)
        assert p2.latest is not None
        desk.update_vacancies(p2.service.id, p2.latest.vacant + 3)
        await pilot.press("c")
        await pilot.press("escape")
        assert await wait_for(
            pilot, lambda: shown_gap(header_text(app, "await_p2")) == expected["P2"] + 3
        )
