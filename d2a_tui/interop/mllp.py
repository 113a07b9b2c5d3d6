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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from hl7.mllp import InvalidBlockError, start_hl7_server

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
    def __init__(
        self, feed: AdtFeed, on_outcome: Callable[[Outcome, str], None] | None = None
    ) -> None:
        self.feed = feed
        self.on_outcome = on_outcome
        self._database = ThreadPoolExecutor(max_workers=1, thread_name_prefix="adt-db")
        self.server: asyncio.AbstractServer | None = None

    async def start(self, host: str, port: int) -> int:
        self.server = await start_hl7_server(
            self._connection, host=host, port=port, limit=MAX_MESSAGE_BYTES
        )
        return self.server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self._database.shutdown(wait=True)

    async def _connection(self, reader, writer) -> None:  # type: ignore[no-untyped-def]
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
                outcome, reply = await loop.run_in_executor(self._database, self.feed.handle, text)
                writer.writeblock(reply)
                await writer.drain()
                if self.on_outcome is not None:
                    self.on_outcome(outcome, text)
        except (ConnectionError, asyncio.CancelledError):
            return
        finally:
            writer.close()
