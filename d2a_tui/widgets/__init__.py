"""Widgets and the pure models behind them: board columns drawn line by line, card text."""
