"""Demo data (filled in below)."""


def load(ctx) -> None:
    """Placeholder."""
