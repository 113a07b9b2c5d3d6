"""Storage: SQLModel tables, the engine, and the command handlers that append events."""
