"""Keys as a terminal delivers them: many at once, before the app has handled the first.

`Pilot.press` waits for the app to go idle after every key, which hides any key that takes
effect late. `burst` hands the whole sequence to the app's driver in one go, the way bytes read
from a terminal (or an SSH link) in one read become several key events.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from textual import events
from textual.app import App
from textual.keys import REPLACED_KEYS, _character_to_key, _get_unicode_name_from_key


def key_event(key: str) -> events.Key:
    """The event Textual's terminal parser makes for `key` (a name such as "backspace", or a
    character), as `Pilot.press` makes it."""
    if len(key) == 1 and not key.isalnum():
        key = _character_to_key(key)
    original = REPLACED_KEYS.get(key, key)
    try:
        character: str | None = unicodedata.lookup(_get_unicode_name_from_key(original))
    except KeyError:
        character = key if len(key) == 1 else None
    return events.Key(key, character)


def burst(app: App[object], keys: Iterable[str]) -> None:
    """Send every key to the app at once, without waiting for any to be handled."""
    driver = app._driver
    assert driver is not None
    for key in keys:
        event = key_event(key)
        event.set_sender(app)
        driver.send_message(event)


def typed(text: str) -> list[str]:
    """The keys that type `text`."""
    return list(text)
