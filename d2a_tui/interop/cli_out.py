from typing import Any


def add_export_commands(sub: Any) -> None:
    pass


def extend_report_command(sub: Any) -> None:
    pass
