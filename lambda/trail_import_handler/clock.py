"""The handler's one clock, read only to know when waiting must give up."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, UTC."""
    return datetime.now(UTC)
