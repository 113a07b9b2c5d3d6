"""d2a: a keyboard-driven terminal system for Discharge to Assess transfer of care hubs."""

__version__ = "0.1.0"
