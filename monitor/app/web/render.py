"""The dashboard's templates (Jinja2, autoescaped) and the filters that turn stored values into
safe text: highlighted snippets, times, redacted secrets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jinja2
from markupsafe import Markup, escape
from pydantic import SecretStr

from monitor.base.clock import utcnow
from monitor.config import LoadedConfig
from monitor.config.secrets import CREDENTIAL_HEADER

MAX_SNIPPETS = 4  # per field
SECRET_QUERY = re.compile(r"(?i)(token|key|secret|password|sig|auth)[^=&]*=[^&]*")


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor.app.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(when=when, ago=ago, redact=redact_url, mark=mark, href=href)
    return env


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def ago(value: datetime | None, now: datetime | None = None) -> str:
    if value is None:
        return "-"
    seconds = int(((now or utcnow()) - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            text = f"{seconds // size}{unit}"
            break
    else:
        text = f"{seconds}s"
    return f"in {text}" if future else f"{text} ago"


def href(url: str | None) -> str | None:
    """A link out only to http(s): a feed's ``javascript:`` or ``data:`` link is no link."""
    if url and urlsplit(url.strip()).scheme.lower() in ("http", "https"):
        return url.strip()
    return None


def redact_url(url: str | None) -> str:
    """A URL with its credentials and secret-looking query values hidden; a sink URL whose
    path is its token (Slack, Discord) keeps only scheme and host."""
    if not url:
        return ""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username or parts.password:
        host = f"***@{host}"
    query = SECRET_QUERY.sub(lambda m: f"{m.group(1)}=***", parts.query)
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def mark(text: str, spans: Iterable[tuple[int, int]], width: int = 60) -> Markup:
    """The words around each group of nearby spans of ``text``, the spans marked; escaped.
    At most :data:`MAX_SNIPPETS` groups, joined by line breaks."""
    ordered = sorted((max(0, s), min(len(text), e)) for s, e in spans if e > s)
    if not ordered:
        return Markup(escape(text[: width * 2]))
    groups: list[list[tuple[int, int]]] = []
    for span in ordered:
        if groups and span[0] - groups[-1][-1][1] < width * 2:
            if span[0] >= groups[-1][-1][1]:
                groups[-1].append(span)
        else:
            groups.append([span])
    return Markup("<br>").join(_snippet(text, g, width) for g in groups[:MAX_SNIPPETS])


def _snippet(text: str, spans: list[tuple[int, int]], width: int) -> Markup:
    left = max(0, spans[0][0] - width)
    right = min(len(text), spans[-1][1] + width)
    if left > 0 and (space := text.find(" ", left, spans[0][0])) != -1:
        left = space + 1
    if right < len(text) and (space := text.rfind(" ", spans[-1][1], right)) != -1:
        right = space
    out, at = [], left
    for start, end in spans:
        out += [str(escape(text[at:start])), f"<mark>{escape(text[start:end])}</mark>"]
        at = end
    out.append(str(escape(text[at:right])))
    body = " ".join("".join(out).split())
    return Markup(f"{'…' if left else ''}{body}{'…' if right < len(text) else ''}")


def hit_snippets(article: Mapping[str, Any], hits: Iterable[Mapping[str, Any]]) -> list[Markup]:
    """One highlighted snippet per field that has hits, from the stored article's text."""
    by_field: dict[str, list[tuple[int, int]]] = {}
    for hit in hits:
        by_field.setdefault(str(hit.get("field")), []).append(
            (int(hit.get("start", 0)), int(hit.get("end", 0)))
        )
    return [
        mark(str(article.get(name) or ""), spans)
        for name, spans in by_field.items()
        if article.get(name)
    ]


def config_secrets(loaded: LoadedConfig) -> tuple[str, ...]:
    """Every secret value of the config: the sinks' secrets, URLs that are tokens, credential
    headers, ``http.token``, the state URL's password; the longest first."""
    found: set[str] = set()

    def collect(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.add(value.get_secret_value())
        elif isinstance(value, tuple | list):
            for item in value:
                collect(item)

    settings = loaded.settings
    for spec in settings.sinks.values():
        for name in type(spec).model_fields:
            collect(getattr(spec, name))
        headers = getattr(spec, "headers", {})
        found.update(v for k, v in headers.items() if CREDENTIAL_HEADER.search(k))
    collect(settings.http.token)
    password = urlsplit(settings.state).password
    if password:
        found.add(password)
    return tuple(sorted((s for s in found if len(s) >= 4), key=len, reverse=True))
