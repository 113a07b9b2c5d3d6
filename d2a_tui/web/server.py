"""The web server behind `d2a web`: textual-serve's server, plus sign-in, TLS and the guards
that keep the board to its owner.

textual-serve starts one app process per websocket with a fixed shell command; here the command
is worked out per connection, so each signed-in person's board acts as them (the acting user
rides in a context variable from the sign-in check to the moment the process is started, all
in the request's own task). Sessions live in memory: restarting `d2a web` signs everyone out.

Every request and websocket passes the same guards, in this order: its Host must be one this
server answers to (a page on another site that rebinds its name to 127.0.0.1 is refused), its
Origin, when a browser sends one (always on a websocket or a form post), must be this server's;
then it needs the key of this run of the server (printed with the address at start, swapped for
a cookie on first use, as notebook servers do) or, with sign-in, a signed-in session. Board
processes are counted per person and in all, and end with the server, even a killed one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import logging
import os
import secrets
import shlex
import signal
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web
from textual_serve.app_service import AppService
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
    max_boards: int = 20  # board processes at once, in all
    max_boards_per_user: int = 3  # and per person (tabs of one person, or one key's holder)
    loopback: bool = False  # `host` is this machine only: its other names are allowed too


COOKIE = "d2a_web_session"
KEY_COOKIE = "d2a_web_key"  # this run's key, once the printed address has been opened
KEY_PARAMETER = "key"
# Sent with every answer: no other site may frame the board (clickjacking), no answer is taken
# for another type than it says, and the key in the first address never leaves in a Referer.
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # Not "no-referrer": under it a browser sends `Origin: null` with the page's own form POST
    # (the Fetch standard), and the sign-in's same-origin check would refuse the real user.
    # "same-origin" still tells no other site where the user came from (the key in the URL).
    "Referrer-Policy": "same-origin",
}
PR_SET_PDEATHSIG = 1  # Linux prctl: the signal a process gets when its parent dies
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
        # This run's key (without sign-in): in the address printed at start, then in a cookie.
        self.key = secrets.token_urlsafe(32)
        self.key_cookies: set[str] = set()
        self.boards: dict[AppService, str] = {}  # running board processes, by whose they are
        self.allowed_hosts, self.allowed_origins = allowed_names(options)
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
        # `exec`: the shell becomes the board, so the board is this server's own child and is
        # told when this server dies (see _BoardProcess).
        return f"exec {board} 2>/dev/null"

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
        if self.options.login:
            print(f"Serving the board on {self.public_url} (sign-in required); ctrl+c stops",
                  flush=True)  # fmt: skip
            return
        print(
            f"Serving the board on {self.public_url}/?{KEY_PARAMETER}={self.key} "
            f"(acting as {self.options.user}; open this address, it carries this run's key); "
            "ctrl+c stops",
            flush=True,
        )

    async def on_shutdown(self, app: web.Application) -> None:
        """Every board ends with the server: asked to quit, then made to."""
        await self.end_boards()

    async def end_boards(self) -> None:
        services = list(self.boards)
        for service in services:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(service.stop(), timeout=3)
        for service in services:
            process = getattr(service, "_process", None)
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
        self.boards.clear()

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.on_response_prepare.append(_add_security_headers)
        app.middlewares.append(self._origin_middleware())
        if self.options.login:
            app.router.add_get("/login", self.handle_login_page)
            app.router.add_post("/login", self.handle_login)
            app.middlewares.append(self._sign_in_middleware())
        else:
            app.middlewares.append(self._key_middleware())
        return app

    # --- who may ask ---------------------------------------------------------------------------

    def _origin_middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        @web.middleware
        async def check_host_and_origin(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            host = request.headers.get("Host", "").lower()
            if host not in self.allowed_hosts:
                log.info("refused: a request for another host name")
                raise web.HTTPForbidden(text=f"this server answers only to {self.public_url}")
            origin = request.headers.get("Origin")
            # A websocket or a form post from a page always says where the page came from; a
            # request that could change something and does not say is refused too.
            must_say = request.method not in ("GET", "HEAD") or request.path == "/ws"
            if (origin is None and must_say) or (
                origin is not None and origin.lower() not in self.allowed_origins
            ):
                log.info("refused: a request from another site")
                raise web.HTTPForbidden(text="refused: a request from another site")
            return await handler(request)

        return check_host_and_origin

    def _key_middleware(self) -> Callable[..., Awaitable[web.StreamResponse]]:
        @web.middleware
        async def require_key(
            request: web.Request,
            handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
        ) -> web.StreamResponse:
            given = request.query.get(KEY_PARAMETER)
            if given is not None:
                if not hmac.compare_digest(given.encode(), self.key.encode()):
                    await asyncio.sleep(FAILED_SIGN_IN_DELAY)
                    raise web.HTTPForbidden(text="that key is not this server's")
                # Swapped for a cookie, and the key taken out of the address bar and history.
                cookie = secrets.token_urlsafe(32)
                self.key_cookies.add(cookie)
                response = web.HTTPSeeOther(request.path)
                self._set_cookie(response, KEY_COOKIE, cookie)
                raise response
            if request.path.startswith("/static/") or (
                request.cookies.get(KEY_COOKIE, "") in self.key_cookies
            ):
                return await handler(request)
            raise web.HTTPForbidden(
                text="open the address `d2a web` printed when it started: it carries this run's key"
            )

        return require_key

    def _set_cookie(self, response: web.StreamResponse, name: str, value: str) -> None:
        response.set_cookie(
            name,
            value,
            max_age=SESSION_SECONDS,
            httponly=True,
            # Secure only where the browser reaches the server over TLS: on loopback http a
            # Secure cookie would not be sent back by every browser, and the traffic does not
            # leave this machine.
            secure=self.options.ssl_context is not None,
            samesite="Strict",
        )

    # --- board processes -----------------------------------------------------------------------

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's, with the count of boards checked before a process is started and
        each board's process known, so the server can end it."""
        user = _acting_user.get() or self.options.user
        running = Counter(self.boards.values())
        if len(self.boards) >= self.options.max_boards:
            log.info("refused a board: %d open, the most at once", len(self.boards))
            raise web.HTTPTooManyRequests(
                text=f"{len(self.boards)} boards are open, the most this server runs at once; "
                "close one first"
            )
        if running[user] >= self.options.max_boards_per_user:
            raise web.HTTPTooManyRequests(
                text=f"you have {running[user]} boards open, the most for one person; "
                "close one first"
            )
        websocket = web.WebSocketResponse(heartbeat=15)
        width = _to_int(request.query.get("width", "80"), 80)
        height = _to_int(request.query.get("height", "24"), 24)
        service: AppService | None = None

        async def close() -> None:
            await websocket.close()

        try:
            await websocket.prepare(request)
            service = _BoardProcess(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=close,
                download_manager=self.download_manager,
                debug=False,
            )
            self.boards[service] = user
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:
            log.warning("a board ended with %s", type(error).__name__)
        finally:
            if service is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(service.stop(), timeout=5)
                process = getattr(service, "_process", None)
                if process is not None and process.returncode is None:
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()
                self.boards.pop(service, None)
        return websocket

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
        self._set_cookie(response, COOKIE, session_id)
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


def allowed_names(options: WebOptions) -> tuple[frozenset[str], frozenset[str]]:
    """The Host values this server answers to and the Origins it accepts: its own address and
    the public one; on loopback also the other names of this machine."""
    scheme = "https" if options.ssl_context is not None else "http"
    hosts = {_host_port(options.host, options.port)}
    if options.loopback:
        hosts |= {_host_port(name, options.port) for name in ("127.0.0.1", "localhost", "::1")}
    public = urlsplit(options.public_url)
    if public.hostname:
        default = 443 if public.scheme == "https" else 80
        hosts.add(_host_port(public.hostname, public.port or default))
        if public.port in (None, default):
            hosts.add(public.hostname.lower())
    origins = {f"{scheme}://{host}" for host in hosts}
    if public.scheme and public.netloc:
        origins.add(f"{public.scheme}://{public.netloc}".lower())
    return frozenset(hosts), frozenset(origins)


def _host_port(host: str, port: int) -> str:
    host = host.lower()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _to_int(value: str, default: int) -> int:
    try:
        return max(10, min(int(value), 1000))
    except ValueError:
        return default


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path != "/" or response.content_type != "text/html":
        return
    response.headers.setdefault("Cache-Control", "no-store")


def _parent_death_signal() -> Callable[[], None] | None:
    """What the child runs between fork and exec to be sent SIGTERM when `d2a web` dies (Linux's
    prctl). Looked up here, in the parent: the child only calls it, importing nothing."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    signal_number = int(signal.SIGTERM)

    def die_with_parent() -> None:  # pragma: no cover - runs in the child
        prctl(PR_SET_PDEATHSIG, signal_number)

    return die_with_parent


class _BoardProcess(AppService):
    """A board whose process is told (SIGTERM) when `d2a web` dies, however it dies: a board
    outliving its server would hold a database connection and patient data for no one."""

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Any:
        environment = self._build_environment(width=width, height=height)
        options: dict[str, Any] = {}
        if _DIE_WITH_PARENT is not None:
            options["preexec_fn"] = _DIE_WITH_PARENT
        self._process = process = await asyncio.create_subprocess_shell(
            self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            **options,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process


_DIE_WITH_PARENT = _parent_death_signal()
