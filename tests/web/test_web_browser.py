"""The board in a real headless Chromium through `d2a web`: it renders, a key press moves a card,
the database records the move, and a second browser sees it.

The browser is Debian's `chromium` (the Makefile's test set-up installs it), driven by Playwright
with `executable_path`, since Playwright's own browser download cannot run here. textual-serve
draws with xterm.js on a canvas, so the screen is read the way the browser gets it: the app's
output frames from the page's websocket, fed to a VT100 emulator (pyte).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest

from d2a_tui.services.hub import Hub
from tests.conftest import IN_CI, refer_someone
from tests.web.conftest import WebServer

pytestmark = pytest.mark.e2e

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _need(condition: bool, reason: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser test must run; `make test` installs it)")
    pytest.skip(reason)


try:  # the dev extras install both; without them the test says so (and fails under CI)
    import pyte
    from playwright.sync_api import Page, sync_playwright
except ImportError:  # pragma: no cover
    pyte = sync_playwright = None  # type: ignore[assignment]
    Page = Any  # type: ignore[assignment,misc]


class BrowserScreen:
    """What one browser tab's terminal shows: its websocket's output fed to an emulator."""

    def __init__(self, page: Page) -> None:
        self.screen = pyte.Screen(80, 24)
        self.stream = pyte.ByteStream(self.screen)
        page.on("websocket", self._attach)

    def _attach(self, websocket: Any) -> None:
        websocket.on("framesent", self._sent)
        websocket.on("framereceived", self._received)

    def _sent(self, payload: str | bytes) -> None:
        if isinstance(payload, str):
            message = json.loads(payload)
            if message[0] == "resize":
                self.screen.resize(message[1]["height"], message[1]["width"])

    def _received(self, payload: str | bytes) -> None:
        if isinstance(payload, bytes):  # the app's output; text frames are control messages
            self.stream.feed(payload)

    def column_of(self, text: str) -> int | None:
        """Where `text` starts across the screen, or None if it is not shown."""
        for line in self.screen.display:
            if text in line:
                return line.index(text)
        return None


def wait_until(page: Page, condition: Callable[[], bool], what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        page.wait_for_timeout(100)  # lets Playwright deliver the frames meanwhile
    raise AssertionError(f"timed out waiting for {what}")


def test_a_browser_moves_a_card_and_a_second_browser_sees_it(
    web_hub: Hub, start_web: Callable[..., WebServer]
) -> None:
    _need(sync_playwright is not None, "playwright or pyte is not installed (make test does)")
    _need(os.access(CHROMIUM, os.X_OK), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    ada = refer_someone(web_hub, 1, name="Ada Byron")
    time.sleep(0.01)  # Ada has waited longest, so each board opens with her selected
    refer_someone(web_hub, 2, name="Bob Brown")
    server = start_web("--db", str(web_hub.store.engine.url), "--user", "alice")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            # Two contexts: two browsers as far as cookies, storage and connections go.
            first = browser.new_context(viewport={"width": 1600, "height": 900}).new_page()
            second = browser.new_context(viewport={"width": 1600, "height": 900}).new_page()
            first_screen, second_screen = BrowserScreen(first), BrowserScreen(second)
            first.goto(server.key_url)  # the printed address, with this run's key
            second.goto(server.key_url)
            for page, screen in ((first, first_screen), (second, second_screen)):
                wait_until(
                    page,
                    lambda s=screen: (
                        s.column_of("Ada Byron") is not None
                        and s.column_of("Bob Brown") is not None
                    ),
                    f"the board in {server.url}: {server.output()[-500:]}",
                )
            # Both start in Referred, the first column, one above the other.
            assert second_screen.column_of("Ada Byron") == second_screen.column_of("Bob Brown")

            first.locator(".xterm-helper-textarea").focus()
            first.keyboard.press("Shift+L")  # move the selected journey to the next column

            wait_until(
                first,
                lambda: web_hub.journey(ada).card.column == "triage",
                "the move in the database",
            )
            timeline = web_hub.journey(ada).timeline
            assert timeline[-1].event.kind == "moved"
            assert timeline[-1].event.actor == "alice"
            # The second browser's board is live: Ada is now drawn a column to the right of Bob.
            wait_until(
                second,
                lambda: (
                    (second_screen.column_of("Ada Byron") or 0)
                    > (second_screen.column_of("Bob Brown") or 0)
                ),
                "the second browser to show the move:\n" + "\n".join(second_screen.screen.display),
            )
        finally:
            browser.close()


def test_a_signed_in_browser_acts_as_its_user(
    web_hub: Hub, start_web: Callable[..., WebServer]
) -> None:
    from d2a_tui.sync.admin import add_user, enrol_device

    _need(sync_playwright is not None, "playwright or pyte is not installed (make test does)")
    _need(os.access(CHROMIUM, os.X_OK), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    engine = web_hub.store.engine
    nina = add_user(engine, "Nina Night", "night")
    _, enrolment = enrol_device(engine, nina, "browser")
    ada = refer_someone(web_hub, 1, name="Ada Byron")
    # --login on loopback: the same sign-in as beyond it, without needing a certificate here.
    server = start_web("--db", str(web_hub.store.engine.url), "--login", "--user", "alice")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1600, "height": 900}).new_page()
            screen = BrowserScreen(page)
            page.goto(server.url)
            assert page.url.endswith("/login")
            page.fill("input[name=user]", nina)
            page.fill("input[name=token]", enrolment)
            page.click("button[type=submit]")
            page.click("text=Open the board")
            wait_until(page, lambda: screen.column_of("Ada Byron") is not None, "the board")
            page.locator(".xterm-helper-textarea").focus()
            page.keyboard.press("Shift+L")
            wait_until(
                page, lambda: web_hub.journey(ada).card.column == "triage", "the move recorded"
            )
            assert web_hub.journey(ada).timeline[-1].event.actor == nina  # not alice
        finally:
            browser.close()
