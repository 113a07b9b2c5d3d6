"""Identifiers: random UUIDv4 for journeys and patients (their prefixes are typed by people, so
they must spread), time-ordered UUIDv7 for events and mutations (they sort by creation)."""

import itertools
import os
import random
import time
import uuid
from collections.abc import Iterator

_TAG_BITS = 42  # rand_a's 12 bits and the top 30 of rand_b
_COUNTER_BITS = 32  # the id's last 8 characters, which people type and read as its short form


class _Minting:
    """This process's share of the UUIDv7 random bits (RFC 9562 §6.2): a random tag fixed for
    the process, then a counter that starts anywhere and steps by one.

    Why not all random: a night's push carries hundreds of ids from one device, and 74 random
    bits each are ~9 bytes gzip cannot shrink (a third of a mutation's bytes on the wire). With a
    fixed tag and a stepping counter, consecutive ids share all but a few characters. The counter
    is last because the last 8 characters are the short id people type (an offer, an ADT item,
    a device in the logs): within a process they never repeat, and between processes they are
    as spread as random ones. Unique all the same: within a process, (millisecond, counter)
    never repeats; between processes, the 42-bit tag and the counter's random start differ, and
    a forked child draws both anew."""

    def __init__(self) -> None:
        self.draw()
        os.register_at_fork(after_in_child=self.draw)

    def draw(self) -> None:
        self.tag = int.from_bytes(os.urandom(6), "big") >> (48 - _TAG_BITS)
        start = int.from_bytes(os.urandom(4), "big")
        self.counter: Iterator[int] = itertools.count(start)  # next() is atomic in CPython


_minting = _Minting()


def new_journey_id(rng: random.Random | None = None) -> str:
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def uuid7(unix_ms: int | None = None, rng: random.Random | None = None) -> str:
    """RFC 9562 UUIDv7: 48 bits of milliseconds, then 74 bits: from `rng` when given (seeded
    data), else this process's counter and tag (see `_Minting`)."""
    ms = int(time.time() * 1000) if unix_ms is None else unix_ms
    if rng is not None:
        rand = rng.getrandbits(74)
    else:
        count = next(_minting.counter) & ((1 << _COUNTER_BITS) - 1)
        rand = (_minting.tag << _COUNTER_BITS) | count
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
