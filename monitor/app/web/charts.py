"""Charts as SVG drawn on the server: a picture in the page, no script, nothing to fetch.

Server-side SVG needs no JavaScript (so the page keeps a script-free Content-Security-Policy),
no vendored library and no build step, and works offline; a bar chart of counts is a few
rectangles. Every label is escaped: rule ids and sink names come from the config.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup


def bar_chart(
    bars: Sequence[tuple[str, int]],
    *,
    title: str,
    width: int = 640,
    height: int = 120,
    every: int = 0,
) -> Markup:
    """Bars of ``(label, value)``, left to right, with the largest value on the axis; every
    ``every``-th label is written under its bar (0: about eight in all)."""
    top = max((value for _, value in bars), default=0)
    n = max(1, len(bars))
    plot_h = height - 18
    step = (width - 40) / n
    every = every or max(1, n // 8)
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<text class="axis" x="0" y="10">{top}</text>',
        f'<line class="base" x1="36" y1="{plot_h}" x2="{width}" y2="{plot_h}"/>',
    ]
    for i, (label, value) in enumerate(bars):
        x = 38 + i * step
        h = 0 if top == 0 else round(value / top * (plot_h - 12), 1)
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{plot_h - h:.1f}" width="{max(1.0, step - 1):.1f}" '
            f'height="{h}"><title>{escape(label)}: {value}</title></rect>'
        )
        if i % every == 0:
            parts.append(f'<text class="axis" x="{x:.1f}" y="{height - 4}">{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
