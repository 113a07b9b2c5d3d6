"""How long the app's thread is held by any one piece of work: the measure of "never frozen".

Every step the event loop runs (a message handler, a timer's callback, a worker's result
handed back with `call_from_thread`, a render) is one `asyncio` handle; while it runs, no key
is read and nothing is drawn. `LoopWatch` times every handle the app's loop runs and names the
work being done in it (the widget and message, the timer, the callback), so a test can say
which handler took longer than it may.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from textual.app import App
from textual.message_pump import MessagePump
from textual.timer import Timer


@dataclass
class LoopWatch:
    longest: list[tuple[float, str]] = field(default_factory=list)
    doing: dict[int, str] = field(default_factory=dict)  # id(task) -> what it is doing now
    seen: dict[int, list[str]] = field(default_factory=dict)  # id(task) -> begun in this step
    counting: bool = False

    def over(self, seconds: float) -> list[tuple[float, str]]:
        return sorted((item for item in self.longest if item[0] > seconds), reverse=True)


@contextmanager
def watch_loop(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopWatch]:
    watch = LoopWatch()

    def label(what: str) -> Callable[[], None]:
        task = asyncio.current_task()
        key = id(task)
        before = watch.doing.get(key)
        watch.doing[key] = what
        watch.seen.setdefault(key, []).append(what)

        def restore() -> None:
            if before is None:
                watch.doing.pop(key, None)
            else:
                watch.doing[key] = before

        return restore

    original_dispatch = MessagePump._dispatch_message

    async def dispatch(self: MessagePump, message: Any) -> None:
        restore = label(f"{type(self).__name__} handling {type(message).__name__}")
        try:
            await original_dispatch(self, message)
        finally:
            restore()

    original_tick = Timer._tick

    async def tick(self: Timer, *, next_timer: float, count: int) -> None:
        callback = getattr(self._callback, "__qualname__", repr(self._callback))
        restore = label(f"timer {callback}")
        try:
            await original_tick(self, next_timer=next_timer, count=count)
        finally:
            restore()

    original_call_from_thread = App.call_from_thread

    def call_from_thread(
        self: App[Any], callback: Callable[..., Any], *args: Any, **kw: Any
    ) -> Any:
        name = getattr(callback, "__qualname__", None) or repr(getattr(callback, "func", callback))

        def labelled() -> Any:
            restore = label(f"from a worker: {name}")
            try:
                return callback(*args, **kw)
            finally:
                restore()

        return original_call_from_thread(self, labelled)

    original_run = asyncio.events.Handle._run

    def run(handle: asyncio.events.Handle) -> None:
        if not watch.counting:
            original_run(handle)
            return
        task = getattr(handle._callback, "__self__", None)
        key = id(task)
        resumed = watch.doing.get(key)  # what the step takes up again, after an await
        watch.seen[key] = []
        # The thread's own CPU time: what the work cost, whatever else the machine was doing
        # (a shared test machine may not schedule the process for a while, which is no work of
        # the board's).
        started = time.thread_time()
        original_run(handle)
        took = time.thread_time() - started
        begun = watch.seen.pop(key, [])
        if took > 0.02:
            parts = ([f"resuming {resumed}"] if resumed else []) + begun[:6]
            if len(begun) > 6:
                parts.append(f"... {len(begun) - 6} more")
            what = "; ".join(parts) or repr(handle._callback)[:120]
            watch.longest.append((took, what))

    monkeypatch.setattr(MessagePump, "_dispatch_message", dispatch)
    monkeypatch.setattr(Timer, "_tick", tick)
    monkeypatch.setattr(App, "call_from_thread", call_from_thread)
    monkeypatch.setattr(asyncio.events.Handle, "_run", run)
    yield watch
