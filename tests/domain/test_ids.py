"""Event and mutation ids (UUIDv7): valid, unique, in order of making, and cheap on the wire.

A night's push carries hundreds of ids from one device; each used to be 74 random bits that gzip
could not shrink. They now carry a per-process counter and tag in those bits (RFC 9562 §6.2)."""

from __future__ import annotations

import gzip
import itertools
import json
import os
import re
import subprocess
import sys
import uuid

from hypothesis import given
from hypothesis import strategies as st

from d2a_tui.domain.ids import uuid7
from d2a_tui.sync.protocol import UUID_PATTERN

PROBE = "from d2a_tui.domain.ids import uuid7; print(uuid7(0))"


@given(st.lists(st.integers(min_value=0, max_value=(1 << 48) - 1), min_size=1, max_size=50))
def test_every_id_is_a_valid_uuid7_that_keeps_its_millisecond(stamps: list[int]) -> None:
    for ms in stamps:
        made = uuid7(ms)
        parsed = uuid.UUID(made)
        assert re.fullmatch(UUID_PATTERN, made)
        assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
        assert parsed.int >> 80 == ms


def test_ids_made_in_one_millisecond_are_distinct_and_in_the_order_made() -> None:
    made = [uuid7(1_700_000_000_000) for _ in range(20_000)]
    assert len(set(made)) == len(made)
    # The counter may wrap once in 2**32 ids; away from that, order of making is sort order.
    rising = sum(a < b for a, b in itertools.pairwise(made))
    assert rising >= len(made) - 2


def test_two_processes_and_a_forked_child_make_different_ids() -> None:
    def fresh() -> str:
        run = subprocess.run(
            [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True
        )
        return run.stdout.strip()

    # Same millisecond (0) in each: only the counter and the tag can tell them apart.
    assert len({fresh(), fresh(), uuid7(0)}) == 3
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # the child: one id, then out without running the parent's clean-up
        os.write(writing, uuid7(0).encode())
        os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    theirs = os.read(reading, 64).decode()
    os.close(reading)
    mine = uuid7(0)
    assert theirs != mine
    # The child drew its own tag, not a copy of the parent's.
    assert theirs[14:28] != mine[14:28]


def test_the_short_form_people_type_differs_from_one_id_to_the_next() -> None:
    # Offers, ADT items and devices are shown and typed by their last 8 characters.
    made = [uuid7() for _ in range(5_000)]
    assert len({made_id[-8:] for made_id in made}) == len(made)


def test_a_batch_of_ids_gzips_to_a_few_bytes_each() -> None:
    # A night's work: 500 ids, one every 37 s (hours apart end to end), as a push lists them.
    start = 1_790_000_000_000
    made = [uuid7(start + n * 37_000) for n in range(500)]
    per_id = len(gzip.compress(json.dumps(made).encode())) / len(made)
    # 74 random bits each cost ~18 B here; the counter and tag leave the clock's few digits.
    assert per_id <= 9.0
