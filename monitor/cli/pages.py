"""How ``newsmon test-rules --full-text`` shows what the extractor kept of each page."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.flow.pages import PageOutcome


def page_json(page: PageOutcome | None) -> dict[str, Any] | None:
    if page is None:
        return None
    return {"url": page.url, "kind": page.kind, "reason": page.reason, "text": page.text}


def print_page(page: PageOutcome | None) -> None:
    """The kept text, indented (its paragraphs wrapped), or why the feed's text stays."""
    if page is None:
        print("   no article page: the entry has no link")
        return
    if page.text is None:
        print(f"   page fell back ({page.kind}): {page.reason}; the feed's text is matched")
        return
    words = len(page.text.split())
    print(f"   page text kept by the extractor ({words} words):")
    for paragraph in page.text.splitlines():
        if paragraph.strip():
            print(textwrap.fill(paragraph, 96, initial_indent="     ", subsequent_indent="     "))
