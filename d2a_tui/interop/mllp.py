"""`d2a adt listen`: an MLLP listener, as hospital integration engines expect one.

Each message arrives as <VT> message <FS><CR> (read leniently, see `framing.py`) and gets exactly
one ACK on the same connection once its transaction has committed. Messages are applied one at a
time in arrival order by a single database thread, whatever the number of connections, so a feed's
order is kept and two copies of one message cannot race. A frame cut short by a dropped connection
is discarded unapplied (the sender resends it, having no ACK).

Limits, so that one sender cannot starve the others: at most `max_connections` at once (a
connection over the cap is closed at once, before anything is read); a frame over `max_message`
bytes is refused once with AR, its control id in MSA-2; the unfinished frames of all connections
together hold at most `max_buffered` bytes (the connection that would pass it is closed, its
frame unapplied); an unfinished frame left idle `frame_timeout` seconds closes its connection.

Nothing identifying a patient is logged: a line per message gives the ACK code, the message type
and its control id.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from d2a_tui.interop.adt import AdtFeed
from d2a_tui.interop.adt_triggers import Outcome
from d2a_tui.interop.framing import Framer
from d2a_tui.interop.hl7v2 import ack, split_messages

log = logging.getLogger("d2a.adt")
MAX_MESSAGE_BYTES = 1_000_000
MAX_CONNECTIONS = 32
MAX_BUFFERED_BYTES = 16_000_000
FRAME_TIMEOUT = 60.0
_READ = 65536

# MSH-18 character sets (HL7 table 0211) as Python codecs. "8859/1" and plain ASCII are read as
# Windows-1252: Windows systems that say either send its curly quotes (0x92 is ’), which Latin-1
# would turn into control characters. A character set the sender names wrongly, or not at all,
# is read as UTF-8 when it is valid UTF-8, else as Windows-1252: never refused, since a sender
# cannot change the bytes it resends.
_CHARSETS = {
    "ASCII": "cp1252", "8859/1": "cp1252", "8859/2": "iso8859-2", "8859/15": "iso8859-15",
    "UNICODE UTF-8": "utf-8", "UTF-8": "utf-8", "UNICODE": "utf-8", "ISO IR6": "cp1252",
    "ISO IR100": "cp1252",
}  # fmt: skip


def _charset(block: bytes) -> str | None:
    header = re.split(rb"[\r\n]", block.lstrip(b"\x0b\r\n "), maxsplit=1)[0]
    if len(header) < 8 or not header.startswith(b"MSH"):
        return None
    fields = header.split(header[3:4])
    if len(fields) < 18:
        return None
    first = fields[17].split(header[5:6])[0].strip().decode("ascii", "replace").upper()
    return _CHARSETS.get(first)


def decode(block: bytes) -> str:
    """A message's text, by its MSH-18 character set, falling back to Windows-1252."""
    named = _charset(block)
    for codec in (named, "utf-8") if named != "cp1252" else (named,):
        if codec is None:
            continue
        try:
            return block.decode(codec)
        except UnicodeDecodeError:
            continue
    # cp1252 leaves five bytes undefined: those become U+FFFD rather than a refusal.
    return block.decode("cp1252", errors="replace")


class MllpListener:
    MAX_BATCH = 200

    def __init__(
        self,
        feed: AdtFeed,
        on_outcome: Callable[[Outcome, str], None] | None = None,
        *,
        max_connections: int = MAX_CONNECTIONS,
        max_message: int = MAX_MESSAGE_BYTES,
        max_buffered: int = MAX_BUFFERED_BYTES,
        frame_timeout: float = FRAME_TIMEOUT,
    ) -> None:
        self.feed = feed
        self.on_outcome = on_outcome
        self.max_connections = max_connections
        self.max_message = max_message
        self.max_buffered = max_buffered
        self.frame_timeout = frame_timeout
        self._inbox: queue.Queue[tuple[str, asyncio.Future[tuple[Outcome, bytes]]] | None] = (
            queue.Queue()
        )
        self._worker = threading.Thread(target=self._work, name="adt-db", daemon=True)
        self._framers: set[Framer] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None
        self.refused_connections = 0

    async def start(self, host: str, port: int) -> int:
        self._loop = asyncio.get_running_loop()
        self._worker.start()
        self.server = await asyncio.start_server(self._accept, host=host, port=port)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.server is not None:
            await self.server.wait_closed()
        self._inbox.put(None)
        await asyncio.to_thread(self._worker.join)

    def _work(self) -> None:
        """The one database thread: takes what has arrived, applies it in one transaction, then
        answers each message's future (whose ACK the connection then sends)."""
        while True:
            first = self._inbox.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < self.MAX_BATCH:
                try:
                    item = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._inbox.put(None)
                    break
                batch.append(item)
            try:
                results = self.feed.handle_many([text for text, _ in batch])
            except Exception as error:  # never leave a sender without an answer
                log.error("ADT batch failed: %s", type(error).__name__)
                now = datetime.now(UTC)
                results = [
                    (
                        Outcome("AE", "internal error; nothing saved"),
                        ack(t, "AE", "internal error", now),
                    )
                    for t, _ in batch
                ]
            for (_, future), result in zip(batch, results, strict=True):
                self._loop.call_soon_threadsafe(_settle, future, result)

    def _buffered(self) -> int:
        return sum(framer.pending for framer in self._framers)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._framers) >= self.max_connections:
            self.refused_connections += 1
            log.warning("ADT connection refused: %d connections open", len(self._framers))
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        framer = Framer(self.max_message)
        self._framers.add(framer)
        try:
            await self._connection(framer, reader, writer)
        except (ConnectionError, asyncio.CancelledError, TimeoutError):
            pass
        finally:
            self._framers.discard(framer)
            self._tasks.discard(task)
            if framer.skipped or framer.broken:
                log.info(
                    "ADT connection: %d run(s) of bytes outside a frame skipped, "
                    "%d unfinished frame(s) discarded",
                    framer.skipped, framer.broken,
                )  # fmt: skip
            writer.close()

    async def _connection(
        self, framer: Framer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        loop = asyncio.get_running_loop()
        while True:
            # Between messages a connection may idle for hours; in the middle of one, not.
            timeout = self.frame_timeout if framer.in_frame else None
            data = await asyncio.wait_for(reader.read(_READ), timeout)
            if not data:
                return  # closed, perhaps mid-frame: nothing of an unfinished frame is applied
            frames = framer.feed(data)
            if self._buffered() > self.max_buffered:
                log.warning("ADT connection closed: unfinished frames over the memory limit")
                return
            for frame in frames:
                if frame.oversize:
                    text = decode(frame.data)
                    outcome = Outcome(
                        "AR", f"message of {frame.size:,} bytes is over the limit of "
                        f"{self.max_message:,}",
                    )  # fmt: skip
                    reply = ack(text, "AR", outcome.detail, datetime.now(UTC))
                    self._answered(outcome, text)
                else:
                    text = decode(frame.data)
                    if text.lstrip("\r\n ")[:3] in ("FHS", "BHS"):
                        reply = await self._batch(text)
                    else:
                        future: asyncio.Future[tuple[Outcome, bytes]] = loop.create_future()
                        self._inbox.put((text, future))
                        outcome, reply = await future
                        self._answered(outcome, text)
                writer.write(b"\x0b" + reply + b"\x1c\r")
                await writer.drain()

    def _answered(self, outcome: Outcome, text: str) -> None:
        log.info("%s %s", outcome.code, summary(text))
        if self.on_outcome is not None:
            self.on_outcome(outcome, text)

    async def _batch(self, text: str) -> bytes:
        """An HL7 batch in one frame: each message applied in order, and one reply frame holding
        each message's ACK in a batch envelope (BHS, the ACKs, BTS with their count)."""
        loop = asyncio.get_running_loop()
        replies = []
        for message in split_messages(text):
            future: asyncio.Future[tuple[Outcome, bytes]] = loop.create_future()
            self._inbox.put((message, future))
            outcome, reply = await future
            self._answered(outcome, message)
            replies.append(reply.decode("utf-8"))
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        body = "\r".join([f"BHS|^~\\&|D2A||||{stamp}", *replies, f"BTS|{len(replies)}"])
        return body.encode("utf-8")


def _settle(future: asyncio.Future[tuple[Outcome, bytes]], result: tuple[Outcome, bytes]) -> None:
    if not future.done():
        future.set_result(result)


def summary(text: str) -> str:
    """`ADT^A01 MSG0001`: the message type and control id, never anything about the patient."""
    header = text.lstrip("\x0b\r\n ").split("\r", 1)[0].split("\n", 1)[0]
    fields = header.split(header[3] if len(header) > 3 else "|")
    kind = fields[8][:40] if len(fields) > 8 else "?"
    control = fields[9][:40] if len(fields) > 9 else "?"
    return f"{kind} {control}"
