"""NHS number validation (modulus 11) and display formatting."""

from d2a_tui.domain.errors import InvalidInput

_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)


class InvalidNhsNumber(InvalidInput):
    pass


def check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits, or None when no check digit can make it valid."""
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, _WEIGHTS, strict=True))
    check = 11 - (total % 11)
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def normalise(raw: str) -> str:
    """Validated ten digits, accepting the spaces and hyphens people type between groups."""
    if not isinstance(raw, str):
        raise InvalidNhsNumber("NHS number must be text")
    digits = raw.replace(" ", "").replace("-", "").strip()
    if not digits:
        raise InvalidNhsNumber("NHS number is empty")
    # ASCII only: str.isdigit() also passes full-width and other scripts' digits, which would
    # pass the check digit and open a second journey under a number no one can type again.
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidNhsNumber(f"NHS number must be digits only, got {len(digits)} characters")
    if len(digits) != 10:
        raise InvalidNhsNumber(f"NHS number must have 10 digits, got {len(digits)}")
    expected = check_digit(digits[:9])
    if expected is None or expected != int(digits[9]):
        raise InvalidNhsNumber("NHS number fails its check digit (modulus 11)")
    return digits


def is_valid(raw: str) -> bool:
    try:
        normalise(raw)
    except InvalidNhsNumber:
        return False
    return True


def format_nhs_number(digits: str) -> str:
    """`9434765919` -> `943 476 5919`, the 3-3-4 grouping used on NHS screens and letters."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


def next_synthetic(after_serial: int) -> tuple[int, str]:
    """The next valid test-range NHS number after `after_serial`, and its serial: unique per serial."""
    serial = after_serial
    while True:
        serial += 1
        first_nine = f"999{serial % 1_000_000:06d}"
        check = check_digit(first_nine)
        if check is not None:
            return serial, f"{first_nine}{check}"
