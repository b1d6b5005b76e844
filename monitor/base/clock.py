"""Time as newsmon reads it: one injectable clock, aware UTC datetimes everywhere.

Code that needs "now" takes a :data:`Clock` (tests pass a fake one that they move by hand);
only the process's entry points pass :func:`utcnow`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)
