from typing import Any


def add_adt_commands(sub: Any) -> None:
    pass
