"""`d2a adt listen`: an MLLP listener, as hospital integration engines expect one.

Framing is python-hl7's (`hl7.mllp`): each message arrives as <VT> message <FS><CR>, and each gets
its ACK on the same connection once its transaction has committed. Messages are applied one at a
time in arrival order by a single database thread, whatever the number of connections, so a feed's
order is kept and two copies of one message cannot race. A frame cut short by a dropped connection
is discarded unapplied (the sender resends it, having no ACK). Nothing identifying a patient is
logged: a line per message gives the ACK code, the message type and its control id.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from hl7.mllp import HL7StreamReader, HL7StreamWriter, InvalidBlockError, start_hl7_server

from d2a_tui.interop.adt import AdtFeed, Outcome
from d2a_tui.interop.hl7v2 import ack

log = logging.getLogger("d2a.adt")
MAX_MESSAGE_BYTES = 1_000_000


def decode(block: bytes) -> str:
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("latin-1")  # many PAS systems send ISO 8859-1


class MllpListener:
    MAX_BATCH = 200

    def __init__(
        self, feed: AdtFeed, on_outcome: Callable[[Outcome, str], None] | None = None
    ) -> None:
        self.feed = feed
        self.on_outcome = on_outcome
        self._inbox: queue.Queue[tuple[str, asyncio.Future[tuple[Outcome, bytes]]] | None] = (
            queue.Queue()
        )
        self._worker = threading.Thread(target=self._work, name="adt-db", daemon=True)
        self.server: asyncio.Server | None = None

    async def start(self, host: str, port: int) -> int:
        self._loop = asyncio.get_running_loop()
        self._worker.start()
        self.server = await start_hl7_server(
            self._connection, host=host, port=port, limit=MAX_MESSAGE_BYTES
        )
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
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

    async def _connection(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    block = await reader.readblock()
                except asyncio.IncompleteReadError:
                    return  # the connection closed, perhaps mid-frame: nothing of it is applied
                except (InvalidBlockError, ValueError):
                    # Bytes outside a frame, or a frame over the limit: say so and carry on.
                    writer.writeblock(ack("", "AR", "not an MLLP frame", datetime.now(UTC)))
                    await writer.drain()
                    continue
                text = decode(block)
                future: asyncio.Future[tuple[Outcome, bytes]] = loop.create_future()
                self._inbox.put((text, future))
                outcome, reply = await future
                writer.writeblock(reply)
                await writer.drain()
                log.info("%s %s", outcome.code, summary(text))
                if self.on_outcome is not None:
                    self.on_outcome(outcome, text)
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()


def _settle(future: asyncio.Future[tuple[Outcome, bytes]], result: tuple[Outcome, bytes]) -> None:
    if not future.done():
        future.set_result(result)


def summary(text: str) -> str:
    """`ADT^A01 MSG0001`: the message type and control id, never anything about the patient."""
    fields = text.split("\r", 1)[0].split("\n", 1)[0].split("|")
    return f"{fields[8] if len(fields) > 8 else '?'} {fields[9] if len(fields) > 9 else '?'}"
