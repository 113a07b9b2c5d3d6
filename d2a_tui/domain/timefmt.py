"""How long something has lasted, said the way the hub says it: "3d 4h", "45m"."""

from datetime import timedelta


def humanise(duration: timedelta) -> str:
    minutes = max(int(duration.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days >= 14:
        return f"{days}d"
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes:02d}m" if hours < 10 else f"{hours}h"
    return f"{minutes}m"


def as_typed(duration: timedelta) -> str:
    """A duration the way a flow file and a person write it, and `parse_duration` reads it
    back: "1d", "4h", "1d12h", "30m" (never "1 day, 0:00:00")."""
    minutes = max(int(duration.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [
        f"{value}{unit}" for value, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if value
    ]
    return "".join(parts) or "0m"
