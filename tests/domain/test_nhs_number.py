import pytest
from hypothesis import given
from hypothesis import strategies as st

from d2a_tui.domain.nhs_number import (
    InvalidNhsNumber,
    check_digit,
    format_nhs_number,
    is_valid,
    next_synthetic,
    normalise,
)


def test_published_example_is_valid_and_formats_3_3_4() -> None:
    # 943 476 5919 is the NHS's own documentation example: 9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 = 299,
    # 299 mod 11 = 2, 11 - 2 = 9, which is the tenth digit.
    assert normalise("943 476 5919") == "9434765919"
    assert format_nhs_number("9434765919") == "943 476 5919"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("9434765918", "check digit"),
        ("943476591", "10 digits, got 9"),
        ("94347659190", "10 digits, got 11"),
        ("94347A5919", "digits only"),
        ("", "empty"),
        # 10 as the check value means no valid number can have these first nine digits.
        ("1000000010", "check digit"),
    ],
)
def test_invalid_numbers_are_refused_with_the_reason(raw: str, problem: str) -> None:
    with pytest.raises(InvalidNhsNumber, match=problem):
        normalise(raw)


def test_check_value_eleven_becomes_zero() -> None:
    # When the weighted sum is a multiple of 11, 11 - 0 = 11 and the check digit is 0.
    nine = next(f"{n:09d}" for n in range(100000000, 100001000) if _mod(f"{n:09d}") == 0)
    assert check_digit(nine) == 0
    assert is_valid(nine + "0")


def _mod(nine: str) -> int:
    return sum(int(d) * w for d, w in zip(nine, range(10, 1, -1), strict=True)) % 11


@given(st.integers(min_value=0, max_value=999_999))
def test_synthetic_numbers_are_valid_unique_and_in_the_test_range(serial: int) -> None:
    next_serial, number = next_synthetic(serial)
    assert number.startswith("999")
    assert is_valid(number)
    after, second = next_synthetic(next_serial)
    assert after > next_serial and second != number


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_any_single_digit_change_of_a_valid_number_is_caught(digits: str) -> None:
    if not is_valid(digits):
        return
    for index in range(10):
        for replacement in "0123456789":
            if replacement != digits[index]:
                changed = digits[:index] + replacement + digits[index + 1 :]
                assert not is_valid(changed)
