"""How the commands draw tables and progress (rich), on a terminal and through a pipe.

On a terminal a table is aligned to the window, its states coloured and its long URLs shortened
in the middle (the host and the end of the path are what tell feeds apart). Through a pipe it is
plain text: the same columns, aligned, never cut or wrapped, no colour and no escape codes, so
that ``grep`` and ``awk`` see every URL whole. Rich decides what a terminal is (``FORCE_COLOR``
and ``NO_COLOR`` are honoured; ``COLUMNS`` sets the width). Progress goes to standard error, on
a terminal only: nothing of it reaches a log file or a pipe.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from rich.console import Console
from rich.file_proxy import FileProxy
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

# Colours by state, shared by feeds, alerts, sinks and status.
STYLES = {
    "ok": "green",
    "enabled": "green",
    "delivered": "green",
    "warning": "yellow",
    "pending": "yellow",
    "never_polled": "cyan",
    "digested": "blue",
    "error": "red",
    "failing": "bold red",
    "dead": "bold red",
    "disabled": "magenta",
    "removed": "dim",
    "discarded": "dim",
    "live": "green",
    "gone": "dim",
}
PLAIN_WIDTH = 100_000  # through a pipe nothing is wrapped
MIN_URL = 24
GAP = 2  # between two columns of a terminal table


def console(stderr: bool = False) -> Console:
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


@dataclass(frozen=True)
class Column:
    header: str
    url: bool = False  # shortened in the middle to fit a terminal
    right: bool = False
    state: bool = False  # coloured by STYLES
    wrap: bool = False  # free text: may wrap on a terminal
    flex: bool = False  # a name: cut with an ellipsis when the window is narrow
    time: bool = False  # a datetime: relative on a terminal ("3m ago"), exact through a pipe


def shorten_url(url: str, width: int) -> str:
    """``url`` in at most ``width`` characters: the scheme and host, an ellipsis, the end."""
    if len(url) <= width:
        return url
    scheme, sep, rest = url.partition("://")
    head = scheme + sep + rest.split("/", 1)[0]
    keep = width - 1
    if len(head) + 6 > keep:
        return url[: keep - 8] + "…" + url[-8:] if keep > 16 else url[:keep] + "…"
    return head + "…" + url[-(keep - len(head)) :]


def print_table(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> None:
    """Rows under their headers: rich on a terminal, plain aligned text through a pipe."""
    out = console()
    terminal = out.is_terminal
    now = datetime.now(UTC)
    cells = [
        [_text(column, value, now, terminal) for column, value in zip(columns, row, strict=True)]
        for row in rows
    ]
    if not terminal:
        _print_plain(columns, cells)
        return
    table = Table(box=None, padding=(0, GAP, 0, 0), pad_edge=False, header_style="bold")
    widths = _widths(columns, cells)
    url_width = _url_width(columns, widths, out.width)
    for column, width in zip(columns, widths, strict=True):
        table.add_column(
            column.header,
            justify="right" if column.right else "left",
            no_wrap=not column.wrap,
            overflow="fold" if column.wrap else "ellipsis",
            # Only the URLs and free text give way to a narrow window.
            min_width=None if column.url or column.wrap or column.flex else width,
            max_width=url_width if column.url else None,
        )
    for row in cells:
        table.add_row(*(_cell(c, v, url_width) for c, v in zip(columns, row, strict=True)))
    out.print(table)


def _text(column: Column, value: Any, now: datetime, terminal: bool) -> str:
    if value is None:
        return "-" if column.time else ""
    if column.time:
        return ago(value, now) if terminal else exact(value)
    return str(value)


def exact(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def ago(value: datetime, now: datetime) -> str:
    """``value`` relative to ``now`` in its largest unit: ``42s ago``, ``in 5m``, ``3d ago``."""
    seconds = (value - now).total_seconds()
    size = abs(seconds)
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if size >= length:
            text = f"{int(size // length)}{unit}"
            break
    else:
        text = f"{int(size)}s"
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _cell(column: Column, value: str, url_width: int) -> Text:
    if column.url:
        return Text(shorten_url(value, url_width))
    if column.state:
        return Text(value, style=STYLES.get(value.split(" ")[0], ""))
    return Text(value)


def _widths(columns: Sequence[Column], cells: Sequence[Sequence[str]]) -> list[int]:
    return [max([len(c.header), *(len(row[i]) for row in cells)]) for i, c in enumerate(columns)]


def _url_width(columns: Sequence[Column], widths: Sequence[int], width: int) -> int:
    """What is left of the window for each URL column once the other columns are laid out
    (names and free text counted at a third of their width: they give way)."""
    urls = [i for i, c in enumerate(columns) if c.url]
    if not urls:
        return width
    others = sum(w // 3 if columns[i].wrap else w for i, w in enumerate(widths) if i not in urls)
    gaps = GAP * (len(columns) - 1)
    return max(MIN_URL, (width - others - gaps) // len(urls))


def _print_plain(columns: Sequence[Column], cells: Sequence[Sequence[str]]) -> None:
    widths = _widths(columns, cells)

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if c.right else v.ljust(w)
            for c, v, w in zip(columns, values, widths, strict=True)
        ]
        return "  ".join(parts).rstrip()

    print(line([c.header for c in columns]))
    for row in cells:
        print(line(row))


def styled(text: str, state: str) -> str:
    """``text`` in the colour of ``state`` on a terminal (rich markup), else as it is."""
    out = console()
    style = STYLES.get(state)
    if not out.is_terminal or not style:
        return text
    return f"[{style}]{text}[/]"


def literal(text: str) -> str:
    """``text`` as it is, in a line printed with markup (a URL may hold brackets)."""
    return escape(text) if console().is_terminal else text


def print_lines(lines: Sequence[str], markup: bool = False) -> None:
    """Free text below a table (notes, hints); markup only from :func:`styled`."""
    out = console()
    if not out.is_terminal:
        for text in lines:
            print(text)
        return
    for text in lines:
        out.print(text, markup=markup, overflow="fold")


ProgressFn = Callable[[int, int], None]


@contextlib.contextmanager
def progress(label: str, *, log_level: str | None = None) -> Iterator[ProgressFn | None]:
    """A progress bar on standard error while the block runs, or None off a terminal.

    The yielded function takes ``(done, total)``. With ``log_level`` the structured log is sent
    through the bar's console, so that log lines scroll above the bar instead of tearing it.
    """
    err = console(stderr=True)
    if not err.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task(label, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        if log_level is not None:
            from monitor.app.log import configure_logging

            stream: TextIO = FileProxy(err, sys.stderr)  # type: ignore[assignment]
            configure_logging(json=False, level=log_level, stream=stream)
        yield update
