"""The view objects, for the screens, the CLI and the services: they live in the domain
(`d2a_tui.domain.views`) so that storage, which builds them, imports nothing but the domain."""

from d2a_tui.domain.views import Card, Change, JourneyView, TimelineEntry

__all__ = ["Card", "Change", "JourneyView", "TimelineEntry"]
