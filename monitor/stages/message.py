"""Messages people read: alert text from Jinja2 templates, with feed text made harmless per sink.

Feed text is untrusted twice over: it may carry markup (``<script>``, ``onerror``) and it may
carry a chat service's own control syntax (Slack's ``<!channel>``, Discord's ``@everyone``). So
every string that came from a feed is first reduced to plain text by nh3 (ammonia: bleach is
deprecated) and then escaped for the one format it is going to. The escaping is Jinja's
``finalize`` hook: it applies to every ``{{ value }}`` a template prints, while the template's
own literal text stays as the user wrote it. Templates run in Jinja's sandbox, so a config file
cannot reach Python internals through one.

Formats: ``slack`` (mrkdwn: escape exactly ``&``, ``<``, ``>``), ``discord`` (markdown escaped,
mentions broken; the sink also sends ``allowed_mentions: {"parse": []}``), ``telegram`` (the
Bot API's HTML), ``text`` (email and Apprise: plain text).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import nh3
from jinja2.sandbox import SandboxedEnvironment

from monitor.base.errors import SinkError

FORMATS = ("slack", "discord", "telegram", "text")
MAX_SNIPPETS = 3
MAX_DIGEST_ITEMS = 50
MAX_TITLE = 300
MAX_SUMMARY = 600

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029]")
_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n{3,}")
_DISCORD_MARKDOWN = re.compile(r"([\\*_~`|>\[\]#])")
_DISCORD_MENTION = re.compile(r"@(everyone|here)|<(@[!&]?|#)", re.IGNORECASE)


class Link(str):
    """A URL in a template context: escaped as a URL, not as prose (no markdown escaping)."""


def plain(text: object, *, one_line: bool = False, limit: int | None = None) -> str:
    """Feed text as plain text: markup and scripts removed by nh3, entities decoded.

    nh3 leaves entities encoded (``&lt;!channel&gt;``); decoding them is safe because every
    sink escapes for its own format afterwards. Cleaning repeats until nothing changes, so
    double-encoded markup (``&amp;lt;script&amp;gt;``) cannot come back to life as text.
    """
    if text is None:
        return ""
    value = str(text)
    for _ in range(3):
        cleaned = html.unescape(nh3.clean(value, tags=set()))
        if cleaned == value:
            break
        value = cleaned
    value = _CONTROL.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
    if one_line:
        value = _SPACES.sub(" ", value).strip()
    if limit is not None and len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    return value


def escape_slack(value: str) -> str:
    """Slack's rule: escape exactly ``&``, ``<`` and ``>``, and nothing else."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_discord(value: str) -> str:
    """Markdown characters escaped and mentions broken with a zero-width space."""
    link = isinstance(value, Link)
    value = _DISCORD_MENTION.sub(lambda m: m.group(0)[0] + "\u200b" + m.group(0)[1:], value)
    return value if link else _DISCORD_MARKDOWN.sub(r"\\\1", value)


def escape_telegram(value: str) -> str:
    return html.escape(value, quote=True)


ESCAPES: Mapping[str, Callable[[str], str]] = {
    "slack": escape_slack,
    "discord": escape_discord,
    "telegram": escape_telegram,
    "text": lambda value: value,
}


def _finalize(escape: Callable[[str], str]) -> Callable[[Any], str]:
    def finalize(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, Link):
            return escape(Link(value))
        return escape(str(value))

    return finalize


@cache
def environment(fmt: str) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        finalize=_finalize(ESCAPES[fmt]),
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


@cache
def default_template(name: str) -> str:
    return resources.files("monitor.data").joinpath(f"templates/{name}.j2").read_text("utf-8")


# --- the context a template sees -----------------------------------------------------------------


def _when(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return plain(value, one_line=True, limit=40)
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _link(value: object) -> Link | None:
    if not isinstance(value, str) or not value.lower().startswith(("http://", "https://")):
        return None  # a javascript: or data: "link" from a feed is no link
    return Link(_SPACES.sub("", value).replace('"', "%22"))


def item_context(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """One alert's fields as plain text, for templates (the payload stays the source of truth)."""
    article = data.get("article") or {}
    feed = article.get("feed") or {}
    rule = data.get("rule") or {}
    hits = data.get("hits") or []
    matched = list(dict.fromkeys(plain(h.get("text"), one_line=True, limit=80) for h in hits))
    diff = data.get("diff") or {}
    return {
        "type": kind,
        "title": plain(article.get("title"), one_line=True, limit=MAX_TITLE) or "(no title)",
        "url": _link(article.get("url")),
        "feed": plain(feed.get("name"), one_line=True, limit=100),
        "feed_url": _link(feed.get("url")),
        "published": _when(article.get("published")),
        "summary": plain(article.get("summary"), limit=MAX_SUMMARY),
        "language": plain(article.get("language"), one_line=True, limit=35),
        "author": plain(article.get("author"), one_line=True, limit=100),
        "rule": plain(rule.get("name") or rule.get("id"), one_line=True, limit=100),
        "rule_id": plain(rule.get("id"), one_line=True, limit=100),
        "terms": [plain(t, one_line=True, limit=80) for t in data.get("terms") or []],
        "matched": [m for m in matched if m][:10],
        "snippets": [
            plain(h.get("snippet"), one_line=True, limit=300)
            for h in hits[:MAX_SNIPPETS]
            if h.get("snippet")
        ],
        "changed": [plain(f, one_line=True, limit=40) for f in diff.get("fields") or []],
        "also": list(
            dict.fromkeys(
                plain(r.get("feed"), one_line=True, limit=100)
                for r in data.get("also_reported_by") or []
            )
        )[:10],
    }


def context(payload: Mapping[str, Any]) -> dict[str, Any]:
    """What a template sees for an alert or a digest payload."""
    kind = str(payload.get("type", ""))
    data = payload.get("data") or {}
    if kind != "digest":
        return item_context(kind, data)
    items = data.get("items") or []
    shown = [item_context(str(i.get("type", "")), i) for i in items[:MAX_DIGEST_ITEMS]]
    return {
        "type": "digest",
        "count": len(items),
        "items": shown,
        "more": len(items) - len(shown),
        "since": _when(data.get("since")),
        "until": _when(data.get("until")),
    }


# --- rendering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Renderer:
    """Text for one sink: its format, its templates (or the defaults) and its length limit."""

    fmt: str
    template: str | None = None
    digest_template: str | None = None
    limit: int = 4000

    def render(self, payload: Mapping[str, Any]) -> str:
        ctx = context(payload)
        digest = ctx["type"] == "digest"
        source = self.digest_template if digest else self.template
        if source is None:
            source = default_template(f"{self.fmt}.{'digest' if digest else 'alert'}")
        return self._cut(render(self.fmt, source, ctx))

    def _cut(self, text: str) -> str:
        text = _BLANK_LINES.sub("\n\n", text).strip()
        if len(text) <= self.limit:
            return text
        if self.fmt == "telegram":  # a cut could split a tag: send plain text instead
            text = plain(text)
        return text[: self.limit - 1].rstrip() + "…"


def render(fmt: str, source: str, ctx: Mapping[str, Any]) -> str:
    """Render ``source`` in the sandbox; a broken template fails the delivery (dead, replayable)."""
    try:
        return environment(fmt).from_string(source).render(ctx)
    except jinja2.TemplateError as e:
        raise SinkError(f"template error: {e}", permanent=True) from e


def render_subject(source: str | None, payload: Mapping[str, Any], limit: int = 200) -> str:
    """A one-line subject or title: line breaks from a feed can never reach a header."""
    text = render("text", source or default_template("text.subject"), context(payload))
    return plain(text, one_line=True, limit=limit)
