"""How strong a new passphrase must be, as the NCSC advises: long enough, and not one of the
passwords every guessing list starts with. No rules about symbols or capitals (they make
passwords people write down, not strong ones); three random words pass easily.

The passphrase is what stands between a lost laptop's encrypted replica and its finder, who can
guess offline against the key file as fast as their hardware allows: each guess costs one scrypt
derivation (about a tenth of a second here), so a phrase of 12 characters or more that is not on
a list is out of reach, and a four-digit one is not.
"""

from __future__ import annotations

import re

MIN_LENGTH = 12

# The start of every guessing list (the most common passwords in published breach data), and
# the words of this service that a person at a hub would reach for. Compared after lower-casing
# and dropping what people add to meet rules: spaces, punctuation and trailing digits.
_COMMON_TEXT = """
    123456 123456789 12345678 12345 qwerty 1234567 111111 1234567890 123123 abc123 1234 password
    iloveyou 1q2w3e4r 000000 qwerty123 zaq12wsx dragon sunshine princess letmein 654321 monkey
    1qaz2wsx 123321 qwertyuiop superman asdfghjkl football baseball welcome admin login passw0rd
    master hello freedom whatever trustno1 starwars shadow michael charlie jennifer jordan
    liverpool arsenal chelsea manchester manchesterunited everton soccer hockey killer batman
    access mustang 696969 lovely 7777777 888888 121212 aaaaaa donald ashley bailey qazwsx
    ninja azerty solo loveme flower hottie football1 computer summer winter spring autumn
    secret changeme default letmein1 welcome1 passwordpassword iloveyouiloveyou qwertyqwerty
    abcdefghijkl abcdef abcd1234 asdf1234 qwer1234 zxcvbnm zxcvbnmasdfghjkl qwertyuiopasdf
    pa55word p4ssw0rd p455w0rd letmeinnow opensesame blink182 pokemon maggie buster tigger
    nhs nhsnhs nhspassword hospital discharge dischargetoassess d2a d2ad2a passphrase
    mypassphrase mypassword thisismypassword thisismypassphrase nightshift dayshift
"""
COMMON = frozenset(_COMMON_TEXT.split())


def weakness(secret: str) -> str | None:
    """Why `secret` is too weak to protect a replica, in words for a person; None if it will do."""
    if len(secret) < MIN_LENGTH:
        return (
            f"a passphrase needs at least {MIN_LENGTH} characters (this one has {len(secret)}): "
            "three random words make a strong one"
        )
    core = re.sub(r"[\W_]+", "", secret.lower())
    if core.rstrip("0123456789") in COMMON or core in COMMON:
        return "that passphrase is one of the first any guesser tries: choose three random words"
    if len(set(core)) < 4:
        return "that passphrase repeats too few characters: choose three random words"
    return None
