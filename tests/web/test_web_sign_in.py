"""`d2a web` with sign-in over TLS, as a browser meets it (here httpx, with a test CA): the board
is behind a sign-in with the central server's users and device tokens, a first sign-in swaps the
one-time enrolment token for the person's own, and a revoked device opens no more boards."""

from __future__ import annotations

import re
import ssl
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import trustme

from d2a_tui.services.hub import Hub
from d2a_tui.sync.admin import add_user, enrol_device, revoke_device
from tests.web.conftest import WebServer

pytestmark = pytest.mark.e2e


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path, ssl.SSLContext]:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1", "localhost")
    certfile, keyfile = tmp_path / "cert.pem", tmp_path / "key.pem"
    certificate.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    certificate.private_key_pem.write_to_path(str(keyfile))
    client = ssl.create_default_context()
    authority.configure_trust(client)
    return certfile, keyfile, client


def test_sign_in_with_a_device_token_over_tls(
    web_hub: Hub, start_web: Callable[..., WebServer], tls_files: tuple[Path, Path, ssl.SSLContext]
) -> None:
    engine = web_hub.store.engine
    nina = add_user(engine, "Nina Night", "night")
    device, enrolment = enrol_device(engine, nina, "browser")
    certfile, keyfile, trust = tls_files
    server = start_web("--db", str(engine.url), "--login", "--certfile", str(certfile),
                       "--keyfile", str(keyfile), scheme="https")  # fmt: skip

    viewer = add_user(engine, "Vic Viewer", "viewer")
    _, viewer_token = enrol_device(engine, viewer, "browser")
    with httpx.Client(base_url=server.url, verify=trust, headers={"Origin": server.url}) as browser:
        # A role that changes no journeys gets no board (it could not be read-only yet).
        refused_role = browser.post("/login", data={"user": viewer, "token": viewer_token})
        assert refused_role.status_code == 403 and "viewer role" in refused_role.text
        assert browser.get("/").headers["location"] == "/login"  # 303: sign in first
        assert browser.get("/ws").status_code == 401
        refused = browser.post("/login", data={"user": nina, "token": "d2a_guessed"})
        assert refused.status_code == 401 and "do not match" in refused.text
        wrong_user = browser.post("/login", data={"user": "someone.else", "token": enrolment})
        assert wrong_user.status_code == 401

    with httpx.Client(base_url=server.url, verify=trust, headers={"Origin": server.url}) as browser:
        # The wrong user id above did not spend the one-time token: the first real sign-in
        # swaps it now for the person's own.
        first = browser.post("/login", data={"user": nina, "token": enrolment})
        assert first.status_code == 200, first.text
        own_token = re.search(r"<code>(d2a_[^<]+)</code>", first.text)
        assert own_token is not None
        cookie = first.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
        page = browser.get("/")
        assert page.status_code == 200
        assert (
            f'data-session-websocket-url="wss://127.0.0.1:{server.url.rsplit(":", 1)[1]}/ws"'
            in page.text
        )

    with httpx.Client(base_url=server.url, verify=trust, headers={"Origin": server.url}) as browser:
        again = browser.post("/login", data={"user": nina, "token": own_token.group(1)})
        assert again.status_code == 303 and again.headers["location"] == "/"
        assert browser.get("/").status_code == 200
        revoke_device(engine, device)
        assert browser.get("/ws").status_code == 401  # revoked: no more boards
    assert own_token.group(1) not in server.output() and enrolment not in server.output()


def test_by_default_it_listens_on_loopback_only(
    web_hub: Hub, start_web: Callable[..., WebServer]
) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outward address
        outward = probe.getsockname()[0]
    if outward.startswith("127."):
        pytest.skip("this machine has no address but loopback to try")
    server = start_web("--db", str(web_hub.store.engine.url))
    port = int(server.url.rsplit(":", 1)[1])
    assert httpx.get(server.key_url, follow_redirects=True).status_code == 200
    with socket.socket() as attempt:
        assert attempt.connect_ex((outward, port)) != 0
