"""Screens and widgets get what they need of the app from the screen base (`HostApp`), never by
importing the app module, even for types: the app imports the screens, one way only."""

from __future__ import annotations

from tests.test_layers import PACKAGE, imported_modules, modules_under


def test_no_screen_or_widget_imports_the_app_module() -> None:
    problems = [
        f"{path.relative_to(PACKAGE.parent)} imports d2a_tui.app"
        for folder in ("screens", "widgets")
        for path in modules_under(folder)
        if "d2a_tui.app" in imported_modules(path)
    ]
    assert problems == []
