"""Plain http:// carries patients' details in the clear: allowed to this machine only, or to
another when the user says `--insecure-http`, and then flagged on the status line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from d2a_tui.domain.errors import D2AError
from d2a_tui.sync.client import (
    SyncClient,
    SyncRefused,
    SyncStatus,
    check_server_url,
    plain_http_warning,
)
from d2a_tui.widgets.sync_status import status_line


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]:8765", "http://127.8.0.2"],
)
def test_plain_http_to_this_machine_is_allowed_without_a_warning(url: str) -> None:
    assert check_server_url(url) == url
    assert plain_http_warning(url) is None


@pytest.mark.parametrize("url", ["http://d2a.hub.example", "http://10.1.2.3:8765"])
def test_plain_http_to_another_machine_is_refused_unless_asked_for(url: str) -> None:
    with pytest.raises(D2AError, match="refusing plain http://"):
        check_server_url(url)
    assert check_server_url(url, insecure_http=True) == url
    assert "unencrypted" in (plain_http_warning(url) or "")


def test_https_is_allowed_and_other_schemes_are_not() -> None:
    assert plain_http_warning("https://d2a.hub.example") is None
    check_server_url("https://d2a.hub.example")
    with pytest.raises(D2AError, match="not a server URL"):
        check_server_url("ftp://d2a.hub.example")


def test_a_client_for_plain_http_elsewhere_refuses_before_sending_anything() -> None:
    client = SyncClient("http://d2a.hub.example:8765", "token")
    try:
        with pytest.raises(SyncRefused, match="refusing plain http://") as refused:
            client.health()
        assert refused.value.reason == "plain_http"
        assert client.traffic.requests == 0
    finally:
        client.close()


def test_the_status_line_flags_plain_http() -> None:
    now = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)
    status = SyncStatus("online", 0, now, 0, server="http://d2a.hub.example", plain_http=True)
    assert "⚠ plain http" in status_line(status, now).plain
    assert "plain http" not in status_line(SyncStatus("online", 0, now, 0), now).plain
