"""`shown`, the one function that turns text from people and other systems into what a screen or
a terminal line shows: its invariants, over any text at all."""

from __future__ import annotations

import json
import unicodedata

from hypothesis import example, given
from hypothesis import strategies as st

from d2a_tui.domain.display import json_shown, shown, terminal_text
from tests.hostile import CORPUS, raw_in

# Categories a terminal acts on or that hide or reorder text: controls, format characters
# (bidirectional controls, zero-width), surrogates, private use, unassigned, line/paragraph
# separators.
UNSAFE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
any_text = st.text(st.characters(codec=None)) | st.sampled_from(CORPUS)


def unsafe(text: str, allowed: str = "") -> list[str]:
    return [c for c in text if unicodedata.category(c) in UNSAFE and c not in allowed]


@given(any_text)
def test_shown_leaves_nothing_a_terminal_acts_on_and_one_character_stands_for_one(
    text: str,
) -> None:
    out = shown(text)
    assert unsafe(out) == [] and raw_in(out) == []
    assert len(out) == len(text)  # every character is still there, to be read in its place
    assert shown(out) == out


@given(any_text)
def test_printable_text_is_shown_as_it_is(text: str) -> None:
    kept = "".join(c for c in text if unicodedata.category(c) not in UNSAFE)
    assert shown(kept) == kept


@given(any_text)
def test_shown_over_several_lines_keeps_the_line_breaks_and_nothing_else(text: str) -> None:
    out = shown(text, lines=True)
    assert unsafe(out, allowed="\n") == []
    assert out.split("\n") == [shown(part) for part in text.split("\n")]


@given(any_text)
@example("a,b\r\nc\r")
def test_a_listing_keeps_its_layout_and_loses_every_control(text: str) -> None:
    out = terminal_text(text)
    assert raw_in(out) == []
    assert unsafe(out, allowed="\n\t\f\r") == []
    assert out.count("\n") == text.count("\n") and out.count("\t") == text.count("\t")


@given(st.recursive(
    st.none() | st.booleans() | st.integers() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
))  # fmt: skip
def test_json_keeps_the_same_data_with_nothing_raw(value: object) -> None:
    document = json.dumps(value, ensure_ascii=False, indent=2)
    out = json_shown(document)
    assert json.loads(out) == value
    assert unsafe(out, allowed="\n") == [] and raw_in(out) == []


def test_the_stand_ins_are_readable() -> None:
    assert shown("Hal\x1b[31m red\x1b[0m") == "Hal␛[31m red␛[0m"
    assert shown("bell\x07 bs\x08 del\x7f nul\x00") == "bell␇ bs␈ del␡ nul␀"
    assert shown("c1\x9b31m \u202eevil\u202c zw\u200bj") == "c1�31m �evil� zw�j"
    assert shown("tab\there\nnext") == "tab here␤next"
    assert shown("Zoë 山田 \u00a0nbsp") == "Zoë 山田 \u00a0nbsp"
