"""Structured logging: JSON lines when not on a terminal (journald, files), colours when on one."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog

_FIRST = ("timestamp", "level", "event")


def _event_first(
    _logger: object, _name: str, event_dict: structlog.typing.EventDict
) -> structlog.typing.EventDict:
    """Put time, level and event at the front of each line, where eyes and grep look first."""
    head = {key: event_dict.pop(key) for key in _FIRST if key in event_dict}
    return {**head, **event_dict}


def configure_logging(
    *, json: bool | None = None, level: str = "info", stream: TextIO | None = None
) -> None:
    """Configure structlog (and quiet library loggers); ``json=None`` means "unless a terminal"."""
    stream = stream or sys.stderr
    if json is None:
        json = not stream.isatty()
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        else structlog.dev.ConsoleRenderer(colors=stream.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info if json else structlog.dev.set_exc_info,
            _event_first,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(stream),
        cache_logger_on_first_use=False,
    )
    # Libraries log through the standard library; keep their chatter (job runs, migrations) out.
    logging.basicConfig(
        level=logging.WARNING, stream=stream, format="%(levelname)s %(name)s: %(message)s"
    )
    for name in ("apscheduler", "alembic", "aiohttp.access", "apprise", "aiosmtplib"):
        logging.getLogger(name).setLevel(logging.WARNING)
