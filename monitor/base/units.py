"""Durations (``90s``, ``5m``, ``1h30m``, ``3d``) and byte sizes (``10MiB``) as users write them."""

from __future__ import annotations

import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "kib": 1024,
    "mb": 1000**2,
    "mib": 1024**2,
    "gb": 1000**3,
    "gib": 1024**3,
}


def parse_duration(value: object) -> float:
    """Seconds from a number of seconds or a string such as ``"1h30m"``."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like 30s, 5m, 1h, 2d")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("a duration is a number of seconds or a string like 30s, 5m, 1h, 2d")
    text = value.strip().lower()
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if text[pos : match.start()].strip():
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos == 0 or text[pos:].strip():
        raise ValueError(f"{value!r} is not a duration (examples: 30s, 5m, 1h30m, 2d)")
    return total


def parse_size(value: object) -> int:
    """Bytes from a number or a string such as ``"10MiB"``."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str):
        match = _SIZE.fullmatch(value.strip())
        if match:
            return int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    raise ValueError(f"{value!r} is not a size (examples: 512KiB, 10MiB)")


def format_duration(seconds: float) -> str:
    """The shortest exact ``1h30m``-style spelling of a duration."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    parts = []
    rest = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            parts.append(f"{rest // size}{unit}")
            rest %= size
    return "".join(parts) or "0s"


def parse_rate(value: object) -> float:
    """Messages per second from ``"1/s"``, ``"20/m"`` or ``"5/10s"`` (count / duration)."""
    if isinstance(value, str) and "/" in value:
        count, _, per = value.partition("/")
        try:
            n = float(count.strip())
            seconds = parse_duration(per if per.strip()[:1].isdigit() else f"1{per.strip()}")
        except ValueError:
            pass
        else:
            if n > 0 and seconds > 0:
                return n / seconds
    raise ValueError(f"{value!r} is not a rate (examples: 1/s, 20/m, 5/10s)")
