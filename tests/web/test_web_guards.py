"""`d2a web` keeps the board to the person who started it (issue 22, section 4), tried with real
HTTP requests and websockets against a real `d2a web` process on 127.0.0.1, the way a hostile
page in the same person's browser, or another local user, would try it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest

from d2a_tui.services.hub import Hub
from d2a_tui.sync.admin import add_user, enrol_device
from tests.conftest import refer_someone
from tests.web.conftest import WebServer

pytestmark = pytest.mark.e2e

EVIL = "http://evil.example"


@contextmanager
def _browser(server: WebServer) -> Iterator[httpx.Client]:
    """A browser that opened the printed address: it holds this run's key as a cookie."""
    with httpx.Client(base_url=server.url, headers={"Origin": server.url}) as client:
        opened = client.get(server.key_url)
        assert opened.status_code == 303, opened.text
        yield client


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def _open_board(server: WebServer, cookies: dict[str, str], origin: str | None = None) -> Any:
    """A websocket to the board as a page would open it; the session and its response."""
    session = aiohttp.ClientSession(cookies=cookies)
    headers = {"Origin": origin or server.url}
    try:
        socket = await session.ws_connect(
            f"{server.url.replace('http', 'ws', 1)}/ws?width=100&height=30", headers=headers
        )
    except aiohttp.WSServerHandshakeError as refused:
        await session.close()
        return None, refused.status
    return session, socket


async def _read_until(socket: Any, seen: Callable[[str | bytes], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            message = await socket.receive(timeout=max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            return False
        if message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSE):
            return False
        if seen(message.data):
            return True
    return False


def test_the_board_needs_the_printed_key_and_the_key_becomes_a_strict_cookie(
    web_hub: Hub, start_web: Callable[..., WebServer]
) -> None:
    server = start_web("--db", str(web_hub.store.engine.url), "--user", "alice")
    assert "?key=" in server.key_url
    with httpx.Client(base_url=server.url) as stranger:
        # Another local user (or page) who knows the port but not the key gets nothing.
        assert stranger.get("/").status_code == 403
        assert stranger.get("/?key=guessed").status_code == 403
        assert stranger.get("/download/anything").status_code == 403
    with httpx.Client(base_url=server.url) as browser:
        opened = browser.get(server.key_url)
        assert opened.status_code == 303 and opened.headers["location"] == "/"  # key out of the bar
        cookie = opened.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert "secure" not in cookie  # plain http on loopback: see SECURITY.md
        page = browser.get("/")
        assert page.status_code == 200 and "d2a board" in page.text


def test_every_answer_forbids_framing_and_sniffing(
    web_hub: Hub, start_web: Callable[..., WebServer]
) -> None:
    server = start_web("--db", str(web_hub.store.engine.url), "--user", "alice")
    with _browser(server) as browser:
        for answer in (browser.get("/"), httpx.get(f"{server.url}/"), browser.get("/nothing")):
            assert answer.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "same-origin"


def test_another_host_name_is_refused_even_with_the_key(
    web_hub: Hub, start_web: Callable[..., WebServer]
) -> None:
    """DNS rebinding: a page on evil.example whose name now points at 127.0.0.1."""
    server = start_web("--db", str(web_hub.store.engine.url), "--user", "alice")
    port = server.url.rsplit(":", 1)[1]
    with httpx.Client(base_url=server.url) as browser:
        rebound = browser.get(server.key_url, headers={"Host": f"evil.example:{port}"})
        assert rebound.status_code == 403 and "answers only to" in rebound.text
        assert browser.get(server.key_url, headers={"Host": f"localhost:{port}"}).status_code == 303


def test_a_websocket_from_another_site_or_without_the_key_opens_no_board(
    web_hub: Hub, start_web: Callable[..., WebServer]
) -> None:
    refer_someone(web_hub, 1, name="Ada Byron")
    server = start_web("--db", str(web_hub.store.engine.url), "--user", "alice")
    with _browser(server) as browser:
        cookies = {name: value for name, value in browser.cookies.items()}

    async def attempts() -> None:
        # The key's cookie rides along (a browser sends it), but the page is another site's.
        session, status = await _open_board(server, cookies, origin=EVIL)
        assert session is None and status == 403
        session, status = await _open_board(server, {}, origin=server.url)
        assert session is None and status == 403
        # The owner's own page: the board starts and draws.
        session, socket = await _open_board(server, cookies)
        assert session is not None
        try:
            await socket.send_str(json.dumps(["resize", {"width": 100, "height": 30}]))
            drawn = await _read_until(
                socket, lambda data: isinstance(data, bytes) and b"Ada" in data, 90
            )
            assert drawn, server.output()[-500:]
        finally:
            await socket.close()
            await session.close()

    asyncio.run(attempts())
    assert _children(server.process.pid) == [] or _wait_no_children(server.process.pid)


def _wait_no_children(pid: int, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _children(pid):
            return True
        time.sleep(0.2)
    return False


def test_login_from_another_site_is_refused(
    web_hub: Hub, start_web: Callable[..., WebServer]
) -> None:
    """Login CSRF: a page elsewhere posting its own user and token signs this browser in as
    someone else. A form post from another site, or one that does not say where from, fails."""
    engine = web_hub.store.engine
    mallory = add_user(engine, "Mallory Night", "night")
    _, token = enrol_device(engine, mallory, "browser")
    server = start_web("--db", str(engine.url), "--login", "--user", "alice")
    with httpx.Client(base_url=server.url) as browser:
        forged = browser.post(
            "/login", data={"user": mallory, "token": token}, headers={"Origin": EVIL}
        )
        assert forged.status_code == 403 and "set-cookie" not in forged.headers
        silent = browser.post("/login", data={"user": mallory, "token": token})
        assert silent.status_code == 403
        # The token was not spent by the refused posts: its owner signs in from the page itself.
        own = browser.post(
            "/login", data={"user": mallory, "token": token}, headers={"Origin": server.url}
        )
        assert own.status_code == 200 and "set-cookie" in own.headers


def test_boards_are_capped_per_person_and_in_all(
    web_hub: Hub, start_web: Callable[..., WebServer]
) -> None:
    server = start_web(
        "--db", str(web_hub.store.engine.url), "--user", "alice",
        "--max-boards-per-user", "1",
    )  # fmt: skip
    with _browser(server) as browser:
        cookies = dict(browser.cookies.items())

    async def two_tabs() -> None:
        session, socket = await _open_board(server, cookies)
        assert session is not None
        try:
            again, status = await _open_board(server, cookies)
            assert again is None and status == 429
        finally:
            await socket.close()
            await session.close()
        # Closing the first tab frees its place.
        deadline = time.monotonic() + 30
        while True:
            third, socket = await _open_board(server, cookies)
            if third is not None:
                await socket.close()
                await third.close()
                return
            assert time.monotonic() < deadline, "the closed board's place never came back"
            await asyncio.sleep(0.3)

    asyncio.run(two_tabs())

    total = start_web(
        "--db", str(web_hub.store.engine.url), "--user", "alice", "--max-boards", "1",
    )  # fmt: skip
    with _browser(total) as browser:
        cookies = dict(browser.cookies.items())

    async def over_the_total() -> None:
        session, socket = await _open_board(total, cookies)
        assert session is not None
        try:
            again, status = await _open_board(total, cookies)
            assert again is None and status == 429
        finally:
            await socket.close()
            await session.close()

    asyncio.run(over_the_total())


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_boards_end_with_the_server(
    web_hub: Hub, start_web: Callable[..., WebServer], how: signal.Signals
) -> None:
    refer_someone(web_hub, 1, name="Ada Byron")
    server = start_web("--db", str(web_hub.store.engine.url), "--user", "alice")
    with _browser(server) as browser:
        cookies = dict(browser.cookies.items())
    boards: list[int] = []

    async def open_and_leave_open() -> Any:
        session, socket = await _open_board(server, cookies)
        assert session is not None
        await socket.send_str(json.dumps(["resize", {"width": 100, "height": 30}]))
        assert await _read_until(socket, lambda d: isinstance(d, bytes) and b"Ada" in d, 90)
        boards.extend(_children(server.process.pid))
        assert boards, "the board runs as the server's child"
        os.kill(server.process.pid, how)
        server.process.wait(timeout=30)
        await session.close()

    asyncio.run(open_and_leave_open())
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in boards) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in boards), "a board outlived `d2a web`"


def test_the_board_export_in_a_browser_is_a_download_never_a_server_path(
    web_hub: Hub, start_web: Callable[..., WebServer], tmp_path: Path
) -> None:
    refer_someone(web_hub, 1, name="Ada Byron")
    target = tmp_path / "home" / ".bashrc"
    target.parent.mkdir()
    server = start_web("--db", str(web_hub.store.engine.url), "--user", "alice")
    with _browser(server) as browser:
        cookies = dict(browser.cookies.items())
    fetched: list[tuple[int, str, str]] = []

    async def export() -> None:
        session, socket = await _open_board(server, cookies)
        assert session is not None
        try:
            await socket.send_str(json.dumps(["resize", {"width": 120, "height": 40}]))
            assert await _read_until(socket, lambda d: isinstance(d, bytes) and b"Ada" in d, 90)
            await socket.send_str(json.dumps(["stdin", "e"]))
            assert await _read_until(
                socket, lambda d: isinstance(d, bytes) and b"Download what" in d, 30
            )
            # Clear the offered name and type a path on the server's disk instead, key by key.
            for keys in ("\x15", str(target), "\r"):
                await socket.send_str(json.dumps(["stdin", keys]))
                await asyncio.sleep(0.5)
            delivered: list[str] = []

            def is_delivery(data: str | bytes) -> bool:
                if isinstance(data, str) and data.startswith('["deliver_file_start"'):
                    delivered.append(json.loads(data)[1])
                    return True
                return False

            assert await _read_until(socket, is_delivery, 60), server.output()[-500:]
            # The browser fetches it while its board is open, as the page does at once.
            async with session.get(f"{server.url}/download/{delivered[0]}") as download:
                fetched.append(
                    (
                        download.status,
                        download.headers["Content-Disposition"],
                        await download.text(),
                    )
                )
            async with (
                aiohttp.ClientSession() as stranger,
                stranger.get(f"{server.url}/download/{delivered[0]}") as refused,
            ):
                assert refused.status == 403  # someone without the key cannot fetch it
        finally:
            await socket.close()
            await session.close()

    asyncio.run(export())
    assert not target.exists()
    status, disposition, text = fetched[0]
    assert status == 200
    assert "attachment" in disposition and ".bashrc" in disposition  # the name, no folder
    assert "Ada" in text
