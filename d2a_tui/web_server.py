"""The web server behind `d2a web`: textual-serve's server, plus sign-in and TLS.

textual-serve starts one app process per websocket with a fixed shell command; here the command
is worked out per connection, so each signed-in person's board acts as them (the acting user
rides in a context variable from the sign-in check to the moment the process is started, all
in the request's own task). Sessions live in memory: restarting `d2a web` signs everyone out.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import secrets
import shlex
import sys
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from textual_serve.server import Server

from d2a_tui.sync.rules import JOURNEY_ROLES

if TYPE_CHECKING:
    import ssl

    from sqlalchemy import Engine

    from d2a_tui.sync.admin import DeviceContext
    from d2a_tui.sync.protocol import EnrolResponse

log = logging.getLogger("d2a.web")


@dataclass(frozen=True, slots=True)
class WebOptions:
    """What `d2a web` serves (`web.web_options` reads it from the command line)."""

    database_url: str
    user: str
    host: str
    port: int
    public_url: str
    ssl_context: ssl.SSLContext | None
    login: bool  # sign-in with a device token; always beyond loopback


COOKIE = "d2a_web_session"
SESSION_SECONDS = 12 * 3600  # a shift
FAILED_SIGN_IN_DELAY = 0.5  # seconds; slows guessing without bothering a person

_acting_user: ContextVar[str | None] = ContextVar("d2a_web_acting_user", default=None)


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    token: str  # the device token, checked again (revocation) when a board is opened
    expires: float


class BoardServer(Server):
    def __init__(self, options: WebOptions) -> None:
        self.options = options
        self.sessions: dict[str, Session] = {}
        self._engine: Engine | None = None
        super().__init__(
            command="d2a board",
            host=options.host,
            port=options.port,
            title="d2a board",
            public_url=options.public_url,
        )

    # textual-serve reads `command` when a browser connects: start the board as that person.
    @property
    def command(self) -> str:
        user = _acting_user.get() or self.options.user
        # The board's stderr is not passed on: textual-serve copies it into this server's output,
        # and a crash report there would list local values, patient data among them. `d2a web`
        # opens the database itself before serving, so a board that cannot start is rare.
        board = f"{shlex.quote(sys.executable)} -m d2a_tui board --user {shlex.quote(user)}"
        return f"{board} 2>/dev/null"

    @command.setter
    def command(self, value: str) -> None:
        """The base class sets a fixed command; ours is built per connection above."""

    def run(self) -> None:
        logging.basicConfig(level=logging.INFO, format="d2a web: %(message)s")
        # The board processes inherit the database through the environment, not their command
        # line, where a password in the URL would show in the process list.
        os.environ["D2A_DATABASE_URL"] = self.options.database_url
        web.run_app(
            self._make_app(),
            host=self.options.host,
            port=self.options.port,
            ssl_context=self.options.ssl_context,
            access_log=None,
            print=lambda *args: None,
        )

    async def on_startup(self, app: web.Application) -> None:
        how = "sign-in required" if self.options.login else f"acting as {self.options.user}"
        print(f"Serving the board on {self.public_url} ({how}); ctrl+c stops", flush=True)

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        if self.options.login:
            app.router.add_get("/login", self.handle_login_page)
            app.router.add_post("/login", self.handle_login)
            app.middlewares.append(self._sign_in_middleware())
        return app

    # --- sign-in -------------------------------------------------------------------------------

    def _sign_in_middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        @web.middleware
        async def require_sign_in(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            if request.path == "/login" or request.path.startswith("/static/"):
                return await handler(request)
            session = self.sessions.get(request.cookies.get(COOKIE, ""))
            if session is not None and session.expires < time.time():
                self.sessions.pop(request.cookies.get(COOKIE, ""), None)
                session = None
            # A device revoked since sign-in opens no more boards.
            if (
                session is not None
                and request.path == "/ws"
                and isinstance(await asyncio.to_thread(self._authenticate, session.token), str)
            ):
                session = None
            if session is None:
                if request.method == "GET" and request.path == "/":
                    raise web.HTTPSeeOther("/login")
                raise web.HTTPUnauthorized(text="sign in first: /login")
            _acting_user.set(session.user_id)
            return await handler(request)

        return require_sign_in

    def _authenticate(self, token: str) -> DeviceContext | str:
        from d2a_tui.storage.db import make_engine
        from d2a_tui.sync.admin import authenticate

        if self._engine is None:
            self._engine = make_engine(self.options.database_url)
        return authenticate(self._engine, token)

    def _redeem(self, token: str, user: str) -> EnrolResponse | str:
        """Swap an enrolment token for a device token, only if it was issued to `user` and their
        role may use the board: a mistyped user id must not spend someone's one-time token."""
        from sqlalchemy import select

        from d2a_tui.domain.errors import D2AError
        from d2a_tui.storage.db import make_engine
        from d2a_tui.sync.admin import redeem, token_hash
        from d2a_tui.sync.ingest import device_table, user_table

        if self._engine is None:
            self._engine = make_engine(self.options.database_url)
        with self._engine.connect() as connection:
            owner = connection.execute(
                select(user_table.c.id, user_table.c.role)
                .join(device_table, device_table.c.user_id == user_table.c.id)
                .where(device_table.c.enrol_hash == token_hash(token))
            ).first()
        if owner is None or owner.id.lower() != user.lower():
            return "bad_token"
        if owner.role not in JOURNEY_ROLES:
            return f"role:{owner.role}"
        try:
            return redeem(self._engine, token, "web browser")
        except D2AError:
            return "bad_token"

    async def handle_login_page(self, request: web.Request) -> web.Response:
        return _page(_LOGIN_FORM.format(message=""))

    async def handle_login(self, request: web.Request) -> web.Response:
        from d2a_tui.sync.admin import ENROL_PREFIX

        form = await request.post()
        user = str(form.get("user", "")).strip()
        token = str(form.get("token", "")).strip()
        enrolled: EnrolResponse | str | None = None
        if token.startswith(ENROL_PREFIX):
            # First sign-in with the one-time token from `d2a server enrol-device`: swap it
            # for this browser's long-lived token, shown once below.
            enrolled = await asyncio.to_thread(self._redeem, token, user)
            if not isinstance(enrolled, str):
                token = enrolled.token
        if isinstance(enrolled, str) and enrolled.startswith("role:"):
            found: DeviceContext | str = enrolled
        else:
            found = await asyncio.to_thread(self._authenticate, token) if token else "no_token"
            if not isinstance(found, str) and found.user_id.lower() != user.lower():
                found = "wrong_user"
            elif not isinstance(found, str) and found.role not in JOURNEY_ROLES:
                found = f"role:{found.role}"
        if isinstance(found, str):
            await asyncio.sleep(FAILED_SIGN_IN_DELAY)
            log.info("sign-in refused (%s)", found)
            if found.startswith("role:"):
                message = (
                    f'<p class="error">The {html.escape(found[5:])} role does not change '
                    "journeys, and the board in a browser cannot be opened read-only yet.</p>"
                )
                return _page(_LOGIN_FORM.format(message=message), status=403)
            message = '<p class="error">That user and token do not match an enrolled device.</p>'
            return _page(_LOGIN_FORM.format(message=message), status=401)
        session_id = secrets.token_urlsafe(32)
        user_id = found.user_id
        self.sessions[session_id] = Session(user_id, token, time.time() + SESSION_SECONDS)
        log.info("signed in: %s", user_id)
        if enrolled is not None:
            response = _page(_ENROLLED.format(token=html.escape(token)))
        else:
            response = web.Response(status=303, headers={"Location": "/"})
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=SESSION_SECONDS,
            httponly=True,
            secure=self.options.ssl_context is not None,
            samesite="Strict",
        )
        return response


_LOGIN_FORM = """<h1>d2a board — sign in</h1>{message}
<form method="post" action="/login">
<p><label>User id<br><input name="user" autocomplete="username" required></label></p>
<p><label>Token<br><input name="token" type="password" autocomplete="current-password"
required></label></p>
<p><button type="submit">Sign in</button></p></form>
<p class="hint">Your hub's administrator gives you a user id and a one-time token
(<code>d2a server enrol-device</code>). The first sign-in swaps it for your own token.</p>"""

_ENROLLED = """<h1>Signed in</h1>
<p>Your token for next time, shown only now (keep it in your password manager):</p>
<p><code>{token}</code></p><p><a href="/">Open the board</a></p>"""


def _page(body: str, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        content_type="text/html",
        text=(
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>d2a board</title>'
            "<style>body{font:16px system-ui,sans-serif;margin:3rem auto;max-width:32rem}"
            "input{font-size:1rem;width:100%}.error{color:#b00020}</style></head>"
            f"<body>{body}</body></html>"
        ),
        headers={"Cache-Control": "no-store"},
    )
