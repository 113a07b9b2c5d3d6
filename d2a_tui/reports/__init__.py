"""Reports: the national discharge sitrep, lengths of stay, flow, capacity against demand.

Everything here is computed from the event log (through the summaries in `summary.py`), so a
figure is right "as at" any past date. Nothing here imports Textual.
"""
