"""The idle lock's time and a replica's retention, as read from the config file and the
environment, capped by the locality's flow file; a bad value is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from d2a_tui.config import ConfigError, Settings


def settings_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(config, encoding="utf-8")
    monkeypatch.setenv("D2A_CONFIG", str(path))
    return Settings.load(database_url="sqlite:///x.db")


def test_defaults_lock_after_ten_minutes_and_keep_fourteen_days(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_with(tmp_path, monkeypatch, "")
    assert (settings.lock_after, settings.keep_closed_days) == (600.0, 14)


def test_the_users_time_and_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings_with(tmp_path, monkeypatch, 'lock_after = "1h"').lock_after == 3600.0
    assert settings_with(tmp_path, monkeypatch, 'lock_after = "off"').lock_after is None
    assert settings_with(tmp_path, monkeypatch, "keep_closed_days = 3").keep_closed_days == 3


def test_the_localitys_maximum_caps_the_users_time_and_overrides_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = tmp_path / "flow.toml"
    flow.write_text('[security]\nlock_after_max = "15m"\n', encoding="utf-8")
    monkeypatch.setenv("D2A_FLOW", str(flow))
    assert settings_with(tmp_path, monkeypatch, 'lock_after = "1h"').lock_after == 900.0
    assert settings_with(tmp_path, monkeypatch, 'lock_after = "5m"').lock_after == 300.0
    assert settings_with(tmp_path, monkeypatch, 'lock_after = "off"').lock_after == 900.0


@pytest.mark.parametrize(
    ("config", "words"),
    [('lock_after = "soon"', "lock_after"), ('keep_closed_days = "many"', "keep_closed_days")],
)
def test_a_bad_value_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: str, words: str
) -> None:
    with pytest.raises(ConfigError, match=words):
        settings_with(tmp_path, monkeypatch, config)
