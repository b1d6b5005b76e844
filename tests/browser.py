"""Debian's Chromium, headless, driven by Playwright's Python package (never its own download).

Without a browser the browser tests skip, with the reason, on a developer's machine only: in
CI (``NEWSMON_TEST_PG_REQUIRED`` set) a missing browser fails them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path(os.environ.get("NEWSMON_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def need_browser() -> None:
    """Skip (or, in CI, fail) when Chromium or Playwright is missing."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"no browser at {CHROMIUM} (apt-get install -y chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -e '.[dev]')"
    if missing is None:
        return
    if os.environ.get("NEWSMON_TEST_PG_REQUIRED"):
        pytest.fail(f"browser tests must run in CI: {missing}")
    pytest.skip(missing)


@dataclass
class Watch:
    """What a page did that a safe page must not: dialogs opened, console errors, requests
    to anywhere but the dashboard."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)


@asynccontextmanager
async def browser_page(origin: str, **context: Any) -> AsyncIterator[tuple[Any, Watch]]:
    from playwright.async_api import async_playwright

    watch = Watch()
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context.setdefault("viewport", {"width": 1280, "height": 900})
            ctx = await browser.new_context(**context)
            page = await ctx.new_page()

            async def dialog(d: Any) -> None:
                watch.dialogs.append(d.message)
                await d.dismiss()

            page.on("dialog", dialog)
            page.on("console", lambda m: watch.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: watch.errors.append(str(e)))
            page.on(
                "request",
                lambda r: None if r.url.startswith(origin) else watch.elsewhere.append(r.url),
            )
            yield page, watch
        finally:
            await browser.close()
