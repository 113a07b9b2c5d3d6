"""d2a: a keyboard-driven terminal system for Discharge to Assess transfer of care hubs.

The packages, each importing only those below it (pyproject.toml's layers contract checks it):

    cli/        the `d2a` command: main and its table of sub-commands, one module per area
    app.py      the Textual app (app.tcss its styles); web/ serves the board to a browser
    screens/    the board and every other screen
    widgets/    the parts screens are made of
    services/   the Hub (services.hub), the one facade the screens and the CLI call, and what
                it builds: capacity, offers, handover, finding, printing; seed/ beside it
    reports/    figures over the event log; sync/ the server and a replica's client;
                interop/ other systems (ADT, spreadsheets, FHIR, the sitrep return)
    storage/    the database: the event log, the journeys, their views
    domain/     the rules, with no database, UI or network

config.py (the settings) and app_logging.py (what the board's logs leave out) serve them all.
"""

__version__ = "0.1.0"
