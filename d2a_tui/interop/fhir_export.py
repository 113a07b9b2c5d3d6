from typing import Any


def export_bundle(hub: Any, *, journey: str | None, since: str | None) -> dict[str, Any]:
    raise NotImplementedError
