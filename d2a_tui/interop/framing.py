"""MLLP framing as integration engines actually send it: <VT> message <FS><CR>, read leniently.

python-hl7's stream reader splits on FS CR and expects the next byte to be VT, so one frame ended
FS CR LF (common from engines) turned every later frame on the connection into a reject, and a
frame over its limit was answered twice. This reader is a small state machine over the bytes:

- outside a frame, everything up to the next VT is skipped (CR, LF, stray bytes, a lone FS);
- a frame ends at FS, whatever follows it (CR, CR LF, nothing);
- a VT inside an unfinished frame means the sender gave up on that frame and began another: the
  broken one is discarded, never the one after it;
- a frame longer than the limit is not kept: its first bytes are (to answer it once, with its
  control id in MSA-2), the rest is skipped to its FS.
"""

from __future__ import annotations

from dataclasses import dataclass

VT, FS = b"\x0b", b"\x1c"
HEAD_BYTES = 4096  # of a frame over the limit: enough for its MSH, to answer it by control id
_SPACE = b"\r\n\t \x1c"


@dataclass(frozen=True, slots=True)
class Frame:
    data: bytes  # the message; of an oversize frame only its first HEAD_BYTES
    oversize: bool = False
    size: int = 0  # its full size in bytes


class Framer:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._frame: bytearray | None = None  # inside a frame, its bytes so far
        self._head: bytes | None = None  # inside an oversize frame, its first bytes
        self._size = 0
        self.skipped = 0  # runs of stray bytes found outside a frame
        self.broken = 0  # frames abandoned by a new VT before their FS

    @property
    def pending(self) -> int:
        """Bytes held for an unfinished frame."""
        return len(self._frame) if self._frame is not None else 0

    @property
    def in_frame(self) -> bool:
        return self._frame is not None or self._head is not None

    def feed(self, data: bytes) -> list[Frame]:
        frames: list[Frame] = []
        i, n = 0, len(data)
        while i < n:
            if not self.in_frame:
                start = data.find(VT, i)
                if data[i : start if start >= 0 else n].strip(_SPACE):
                    self.skipped += 1
                if start < 0:
                    break
                self._frame, self._head, self._size = bytearray(), None, 0
                i = start + 1
                continue
            end = data.find(FS, i)
            stop = end if end >= 0 else n
            restart = data.find(VT, i, stop)
            if restart >= 0:
                self.broken += 1
                self._frame, self._head = None, None
                i = restart
                continue
            self._add(data[i:stop])
            if end < 0:
                break
            frames.append(self._finish())
            i = end + 1
        return frames

    def _add(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._frame is None:
            return  # oversize: skipping to the FS
        self._frame += chunk
        if len(self._frame) > self.limit:
            self._head = bytes(self._frame[:HEAD_BYTES])
            self._frame = None

    def _finish(self) -> Frame:
        if self._frame is not None:
            frame = Frame(bytes(self._frame), size=self._size)
        else:
            frame = Frame(self._head or b"", oversize=True, size=self._size)
        self._frame, self._head = None, None
        return frame
