"""The Hub and the services it builds over the store: capacity, offers, hand-over, finding,
printing. The screens and the CLI call these; reports and sync sit below them."""
