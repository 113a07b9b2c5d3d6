"""Storage: the tables, the engine, and the command handlers that append events."""
