"""What a feed says of its own rhythm: RSS ``<ttl>`` and the syndication module's
``sy:updatePeriod``/``sy:updateFrequency``. Pure."""

from __future__ import annotations

_PERIODS = {
    "hourly": 3600.0,
    "daily": 86400.0,
    "weekly": 604800.0,
    "monthly": 2629800.0,
    "yearly": 31557600.0,
}


def publisher_interval(
    ttl: str | None, update_period: str | None, update_frequency: str | None
) -> float | None:
    """Seconds from RSS ``<ttl>`` (minutes) and ``sy:updatePeriod``/``sy:updateFrequency``.

    When a feed gives both, the longer wins: either way the publisher asks for no more.
    Unreadable or non-positive values are ignored.
    """
    found = []
    try:
        minutes = float(ttl) if ttl else 0.0
    except ValueError:
        minutes = 0.0
    if minutes > 0:
        found.append(minutes * 60)
    period = _PERIODS.get((update_period or "").strip().lower())
    if period is not None:
        try:
            frequency = float(update_frequency) if update_frequency else 1.0
        except ValueError:
            frequency = 1.0
        found.append(period / frequency if frequency > 0 else float(period))
    return max(found) if found else None
