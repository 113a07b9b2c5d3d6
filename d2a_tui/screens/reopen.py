"""Reopening a closed journey from its timeline (`o`): someone discharged last week is back.

The column is picked from the flow's open columns (the first one, where referrals land, is
offered first); the reopen is one Hub command through the app's command runner, on the version
the user is looking at, so a journey someone else reopened meanwhile is not reopened twice.
"""

from __future__ import annotations

from typing import Any

from d2a_tui.screens.pickers import Choice, ChoiceScreen


def ask_and_reopen(screen: Any) -> None:
    view = screen.view
    if view is None:
        return
    card = view.card
    app = screen.app
    if card.closed_at is None:
        app.notify("The journey is open: nothing to reopen", severity="warning", timeout=4)
        return
    flow = app.hub.flow
    choices = [Choice(column.id, column.name) for column in flow.open_columns]

    def chosen(to: str | None) -> None:
        if to is None:
            return
        change = app.command(lambda: app.hub.reopen(card.journey_id, to, base_version=card.version))
        if change is not None:
            screen.load()
            app.notify(f"Reopened into {flow.column(to).name}", timeout=4)

    app.push_screen(ChoiceScreen("Reopen the journey into…", choices), chosen)
