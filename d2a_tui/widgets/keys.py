"""Keys take effect in the order they were typed, however fast they arrive.

A terminal delivers keys in bursts (over SSH, from anyone who types fast). Textual hands each key
to the focused widget's own queue and carries on with the next, so a key is "done" at different
moments depending on who handles it: an `Input` inserts a letter in its own handler at once,
while its editing keys (Backspace, End, Ctrl+U, Enter are bindings) and the screen's Tab run only
after the key has travelled up to the app, behind the letters typed after them. And a key that
moves the focus (`/` on the board, Tab in a form) or opens a dialog takes effect after the keys
typed after it have already been sent to the old place.

Two parts put that right without changing what any key does:

- `TextInput`, the only text box d2a uses, runs every binding a key has on its screen (its own
  editing keys first, then its screen's: Tab, Escape, a picker's arrows) in its own key handler,
  in the same turn as a typed letter. A key that reaches it after an earlier key moved on from it
  (Tab, Enter) is passed on to where keys go now. It never selects its text on focus, so what is
  typed after Tab adds to the field rather than replacing it.
- `KeyOrder`, mixed into the app, runs a key meant for a screen with nothing focused (the board's
  `/`, `n`, `a`...) at once, in the app's own turn, before it looks at the next key; and while a
  screen is being opened (or a dialog's Enter is being answered) it holds the keys typed meanwhile
  and gives them, in order, to wherever they go once it is ready.
"""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App
from textual.widgets import Input

if TYPE_CHECKING:
    from textual.binding import ActiveBinding
    from textual.screen import Screen
    from textual.timer import Timer

HOLD_CHECK = 0.01  # seconds between looks at whether held keys can go on
HOLD_LONGEST = 2.0  # after this, held keys go on whatever the screen is doing: never lost

FOCUS_MOVES = frozenset({"app.focus_next", "app.focus_previous", "focus_next", "focus_previous"})


def binding_for(screen: Screen[Any], key: str) -> ActiveBinding | None:
    """The binding a key would run on `screen` (focused widget first, as Textual looks), if any
    and if enabled; priority bindings are the app's own business and are left to it."""
    active = screen.active_bindings.get(key)
    if active is None or not active.enabled or active.binding.priority:
        return None
    return active


class TextInput(Input):
    """An `Input` whose every key takes effect in the order typed (see the module's words)."""

    def __init__(self, *args: Any, select_on_focus: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, select_on_focus=select_on_focus, **kwargs)
        self._answering = False  # Enter was pressed: keys after it wait for the answer

    async def _on_key(self, event: events.Key) -> None:
        # (Input's own handler runs after this one unless we prevent it: it inserts letters.)
        app = self.app
        if self._answering or app.focused is not self:
            # Typed after a key that moved on from this box (Tab, Enter, a dialog closing), and
            # queued here before that key took effect: it belongs where keys go now.
            event.stop()
            event.prevent_default()
            await pass_key_on(app, again(event))
            return
        if event.is_printable:
            return  # Input inserts it, now
        if binding_for(self.screen, event.key) is None:
            return  # unbound: Textual's own handling, as for any widget
        event.stop()
        event.prevent_default()
        await run_bindings(app, self.screen, event.key)

    async def action_submit(self) -> None:
        # The answer (`Submitted`) is handled by the screen in its own turn; keys typed after
        # Enter wait until it has been, then go wherever the answer left the focus.
        await super().action_submit()
        if isinstance(self.app, KeyOrder):
            self._answering = True
            self.app.hold_keys(until_answered=self)

    def answered(self) -> None:
        self._answering = False


async def run_bindings(app: App[Any], screen: Screen[Any], key: str) -> bool:
    """Run `key`'s bindings as Textual does (`App._check_bindings`): from the focused widget up,
    each until one runs. An action that skips (the box's own `down` scrolls nothing, so it
    raises SkipAction) hands the key to the next binding up: a picker's arrows."""
    for namespace, bindings in screen._modal_binding_chain:
        for binding in bindings.key_to_bindings.get(key, ()):
            if not binding.priority and await app.run_action(binding.action, namespace):
                return True
    return False


def again(event: events.Key) -> events.Key:
    """The same key, fresh: the one this box stopped cannot be handled again."""
    fresh = events.Key(event.key, event.character)
    fresh._set_forwarded()
    return fresh


async def pass_key_on(app: App[Any], event: events.Key) -> None:
    if isinstance(app, KeyOrder):
        await app.deliver_key(event)
    elif app.focused is not None:
        app.focused.post_message(event)
    else:
        app.screen.post_message(event)


class KeyOrder(App[Any]):
    """Mixed into the app (before `App`): keys meant for a screen run in the app's turn, and keys
    typed while a screen opens or a dialog answers are held, then delivered in order."""

    _held: deque[events.Key]
    _hold_timer: Timer | None = None
    _flush_pending = False
    _held_since = 0.0
    _answering: TextInput | None = None
    _hold_screen: object = None

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            await self.deliver_key(event)
            return
        await super().on_event(event)

    async def deliver_key(self, event: events.Key) -> None:
        """One key from the terminal (or passed on by a box it no longer belongs to): now, or
        after the keys held before it."""
        if not hasattr(self, "_held"):
            self._held = deque()
        if self._held or not self._keys_can_go():
            self._held.append(event)
            self._watch_held()
            return
        await self._run_key(event)

    def hold_keys(self, *, until_answered: TextInput | None = None) -> None:
        """Hold keys from now until the screen has settled (a `TextInput`'s Enter answered)."""
        if not hasattr(self, "_held"):
            self._held = deque()
        self._answering = until_answered
        self._hold_screen = None
        self._held_since = time.monotonic()
        self._watch_held()

    def _keys_can_go(self) -> bool:
        if not self.screen_stack:  # starting or closing: nothing to take them yet
            return False
        screen = self.screen
        if not screen.is_mounted:  # a screen being opened: its box is not focused yet
            return False
        return self._answering is None

    async def _run_key(self, event: events.Key) -> None:
        screen = self.screen
        await self._send_key(screen, event)
        if self.screen_stack and self.screen is not screen:
            self.hold_keys()  # it opened or closed a screen: the next keys wait for it

    async def _send_key(self, screen: Screen[Any], event: events.Key) -> None:
        focused = screen.focused
        active = binding_for(screen, event.key)
        # Nothing focused: the key is for the screen's bindings (Textual would send it to the
        # screen's queue and run the binding once it came back up to the app, after the keys
        # behind it had gone to the wrong place). Or Tab from a list or a pick box (the
        # referral's pathway), which moves the focus before the keys typed after it are sent on.
        # Either way it runs here, now.
        runs_here = active is not None and (
            focused is None
            or (
                not isinstance(focused, TextInput)
                and active.node is not focused
                and active.binding.action in FOCUS_MOVES
            )
        )
        if active is not None and runs_here and not self._priority(event):
            await self.run_action(active.binding.action, active.node)
            return
        if event.is_forwarded:  # passed on by a box: to the focused widget or the screen
            (focused or screen).post_message(event)
            return
        await super().on_event(event)

    def _priority(self, event: events.Key) -> bool:
        # A priority binding (ctrl+l locks, from anywhere) is Textual's to run, as always.
        return any(
            binding.priority
            for _, bindings in self.screen._binding_chain
            for binding in bindings.key_to_bindings.get(event.key, ())
        )

    def _watch_held(self) -> None:
        if not self._held_since:
            self._held_since = time.monotonic()
        if self._hold_timer is None and not self._flush_pending:
            self._hold_timer = self.set_timer(HOLD_CHECK, self._release_held)

    async def _release_held(self) -> None:
        self._hold_timer = None
        if not self.screen_stack:
            return  # closing
        waited = time.monotonic() - self._held_since
        if waited < HOLD_LONGEST:
            # A dialog's Enter is answered in the screen's own turn: one more look after it
            # was pressed lets that happen (the dialog closes, or stays with its error shown).
            if self._answering is not None and self._hold_screen is None:
                self._hold_screen = self.screen
                self._hold_timer = self.set_timer(HOLD_CHECK, self._release_held)
                return
            if not self.screen.is_mounted:
                self._hold_timer = self.set_timer(HOLD_CHECK, self._release_held)
                return
        # After what is already queued for the app: a screen's `focus()` in its on_mount is.
        self._flush_pending = True
        self.call_later(self._flush_held)

    async def _flush_held(self) -> None:
        self._flush_pending = False
        if self._answering is not None:
            self._answering.answered()
            self._answering = None
        self._hold_screen = None
        self._held_since = 0.0
        while self._held:
            event = self._held.popleft()
            await self._run_key(event)
            if not self._keys_can_go() or self._hold_timer is not None or self._flush_pending:
                self._watch_held()  # that key opened a screen (or answered a dialog): the rest wait
                return
