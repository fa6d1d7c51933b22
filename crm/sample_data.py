"""Sample data for a demo install (filled in below)."""


def fill(language, owner):
    """Add about 60 leads with their contact history over the last 90 days."""
    raise NotImplementedError
