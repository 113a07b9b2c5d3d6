"""No patient identifier in any log, at any level, tracebacks included (issue 10 §4).

An internal error is provoked with a known synthetic NHS number and name, on the server's real
database; then every log the test produced (the server's, the sync client's, the TUI's log file)
is scanned for them, in every form a person or a driver would write them.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from d2a_tui.sync.client import SyncError
from d2a_tui.sync.server_logging import SERVER_LOGGERS, NoPatientData, configure_logging
from tests.sync.conftest import BASE_URL, SyncEnv

# Synthetic: the 999 range is reserved for testing. 999 000 0018 passes the modulus-11 check.
NHS = "9990000018"
NAME = "Zelda Logcheck"
DOB = "1931-02-03"


def identifiers_in(text: str) -> list[str]:
    forms = (NHS, "999 000 0018", "999-000-0018", NAME, NAME.lower(), "Logcheck", DOB)
    return [form for form in forms if form in text]


def refuse_this_patient(env: SyncEnv) -> None:
    """Make the server's database fail to store this one patient: an error nobody planned for,
    whose driver message quotes the statement's parameters (the name, the NHS number)."""
    with env.engine.begin() as connection:
        if env.engine.dialect.name == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_logcheck BEFORE INSERT ON patient "
                    f"WHEN NEW.name = '{NAME}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            connection.execute(
                text(f"ALTER TABLE patient ADD CONSTRAINT refuse_logcheck CHECK (name <> '{NAME}')")
            )


def crash(env: SyncEnv) -> httpx.Response:
    """Ask the server for a route that fails with identifiers in its exception and its locals."""

    def failing() -> None:
        patient = {"nhs_number": NHS, "name": NAME, "date_of_birth": DOB}  # noqa: F841
        raise ValueError(f"cannot file {NAME} ({NHS}) born {DOB}")

    env.app.add_api_route("/v1/test/crash", failing, methods=["GET"])
    assert env.transport is not None
    with httpx.Client(transport=env.transport, base_url=BASE_URL) as client:
        return client.get("/v1/test/crash")


def test_an_unplanned_database_failure_names_no_one_in_logs_or_answers(
    any_sync_env: SyncEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level: the strictest reading
    env = any_sync_env
    env.user("nina")
    refuse_this_patient(env)
    replica = env.replica("nina")
    replica.refer(NHS, NAME, DOB, ward="Ward 7", admitted_on="2026-11-15")
    try:
        replica.sync.sync_now(wait=True)
        said = ""
    except SyncError as error:
        said = str(error)
    # The driver's error quotes the failing row (PostgreSQL's DETAIL, SQLAlchemy's parameters):
    # none of it reaches a log, the answer to the device, or what the device shows.
    shown = " ".join(
        f"{c.reason} {c.message}" for c in replica.sync.conflicts(include_resolved=True)
    )
    assert identifiers_in(said + shown) == []
    assert all(r.exc_info is None and r.exc_text is None for r in caplog.records)
    assert identifiers_in(caplog.text) == []


def test_an_exception_with_identifiers_in_its_text_and_locals_is_logged_without_them(
    sync_env: SyncEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    response = crash(sync_env)
    assert response.status_code == 500
    body = response.json()
    assert (
        body["error"] == "internal_error" and body["request_id"] == response.headers["x-request-id"]
    )
    assert identifiers_in(response.text) == []
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("internal")]
    assert line == f"internal error ValueError on GET /v1/test/crash request={body['request_id']}"
    assert identifiers_in(caplog.text) == []


def test_the_log_filter_keeps_the_message_and_drops_the_traceback() -> None:
    try:
        raise RuntimeError(f"row for {NAME} {NHS}")
    except RuntimeError:
        import sys

        exc_info: Any = sys.exc_info()
    record = logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, "Exception in %s", ("ASGI application",),
        exc_info,
    )  # fmt: skip
    assert NoPatientData().filter(record)
    formatted = logging.Formatter("%(levelname)s %(message)s").format(record)
    # Hand-worked: the message with its argument, then the exception's type and nothing of it.
    assert formatted == "ERROR Exception in ASGI application (RuntimeError; details withheld)"


def test_the_board_log_file_holds_no_identifier(tmp_path: Path) -> None:
    """The TUI's log file (TEXTUAL_LOG) after referring, moving and noting a person."""
    import asyncio

    import textual.constants

    from d2a_tui.app import D2AApp
    from d2a_tui.app_logging import NOTICE
    from d2a_tui.services.hub import Hub

    log_file = tmp_path / "textual.log"
    hub = Hub.open(str(tmp_path / "d2a.db"), user="nina")
    journey = hub.refer(NHS, NAME, DOB, ward="Ward 7", admitted_on="2026-11-15").card
    hub.add_note(journey.journey_id, f"{NAME} spoke to the OT")

    async def session() -> None:
        app = D2AApp(hub, background_sync=False, poll_interval=3600, tick_interval=3600)
        async with app.run_test(size=(160, 40)) as pilot:
            await pilot.pause()
            for key in ("enter", "escape", "L", "n"):
                await pilot.press(key)
                await pilot.pause()
            await pilot.press(*NHS, "enter")  # a note that quotes the NHS number
            await pilot.pause()
            await pilot.press("slash", *"Logcheck", "enter")  # a filter by surname
            await pilot.pause()
            await pilot.press("escape")
            await pilot.pause()

    previous = textual.constants.LOG_FILE
    textual.constants.LOG_FILE = str(log_file)  # type: ignore[misc]
    try:
        asyncio.run(session())
    finally:
        textual.constants.LOG_FILE = previous  # type: ignore[misc]
        hub.close()
    logged = log_file.read_text(encoding="utf-8") if log_file.exists() else ""
    assert identifiers_in(logged) == []
    assert logged.endswith(NOTICE)  # the file says why it stops, so nobody hunts for the rest


async def test_a_crash_of_the_board_reports_where_but_not_who(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """Textual's crash report shows every frame's locals; the board's shows the type only."""
    from d2a_tui.app import D2AApp
    from d2a_tui.app_logging import WITHHELD
    from d2a_tui.services.hub import Hub

    hub = Hub.open(str(tmp_path / "d2a.db"), user="nina")
    hub.refer(NHS, NAME, DOB, ward="Ward 7", admitted_on="2026-11-15")

    def crash() -> None:
        patient = {"nhs_number": NHS, "name": NAME}  # noqa: F841 - a local a traceback would show
        raise ValueError(f"cannot show {NAME} ({NHS})")

    app = D2AApp(hub, background_sync=False, poll_interval=3600, tick_interval=3600)
    with pytest.raises(ValueError):
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            app.call_later(crash)
            await pilot.pause()
    hub.close()
    report = "".join(capfd.readouterr())  # printed as the app exits
    assert "ValueError" in report and WITHHELD[:40] in report and "crash" in report
    assert identifiers_in(report) == []


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The server's real logging set-up (`d2a serve`'s), writing to a buffer; the process's
    logging is put back afterwards."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    libraries = {name: logging.getLogger(name) for name in SERVER_LOGGERS}
    saved_libraries = {name: (list(lg.handlers), lg.propagate) for name, lg in libraries.items()}
    buffer = io.StringIO()
    configure_logging("debug", buffer)
    yield buffer
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, (handlers, propagate) in saved_libraries.items():
        libraries[name].handlers[:] = handlers
        libraries[name].propagate = propagate


def test_every_server_log_line_is_one_json_object_naming_device_and_user_but_no_patient(
    sync_env: SyncEnv, json_log: io.StringIO
) -> None:
    sync_env.user("nina")
    replica = sync_env.replica("nina")
    replica.refer(NHS, NAME, DOB, ward="Ward 7", admitted_on="2026-11-15")
    replica.sync.sync_now(wait=True)

    assert crash(sync_env).status_code == 500

    text_logged = json_log.getvalue()
    assert identifiers_in(text_logged) == []
    lines = [json.loads(line) for line in text_logged.splitlines()]  # each line parses alone
    assert all(isinstance(line, dict) and line["timestamp"] and line["level"] for line in lines)
    requests = [line for line in lines if line["event"] == "request"]
    (push,) = [line for line in requests if line["endpoint"] == "/v1/sync/push"]
    device = replica.sync.login.device_id if replica.sync.login else ""
    # One referral pushed by nina's device: count 1, applied 1, the device by its id's tail.
    assert (push["status"], push["count"], push["applied"]) == (200, 1, 1)
    assert (push["device"], push["user"], push["method"]) == (device[-12:], "nina", "POST")
    assert push["outcomes"] == {"applied": 1} and push["duration_ms"] >= 0
    (crashed,) = [line for line in requests if line["endpoint"] == "/v1/test/crash"]
    assert crashed["status"] == 500 and "device" not in crashed
    assert any(line["event"].startswith("internal error ValueError") for line in lines)
