"""Identifiers: random UUIDv4 for journeys and patients (their prefixes are typed by people, so
they must spread), time-ordered UUIDv7 for events and mutations (they sort by creation)."""

import os
import random
import time
import uuid


def new_journey_id(rng: random.Random | None = None) -> str:
    if rng is None:
        return str(uuid.uuid4())
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def uuid7(unix_ms: int | None = None, rng: random.Random | None = None) -> str:
    """RFC 9562 UUIDv7: 48 bits of milliseconds, then random bits."""
    ms = int(time.time() * 1000) if unix_ms is None else unix_ms
    rand = rng.getrandbits(74) if rng is not None else int.from_bytes(os.urandom(10), "big") >> 6
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))
