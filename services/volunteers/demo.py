"""Demo data: the 3502 community's 爱心敲门 team (placeholder, filled in below)."""


def load(ctx) -> None:
    """Load the demo data (idempotent)."""
