"""Secrets stay secret: a config file that holds one must not be readable by others.

A *literal* secret is one written in the file itself: a webhook ``secret``, a Slack or Discord
webhook ``url`` (its path is the token), a Telegram ``token``, an email ``password``, Apprise
``urls``, a sink's or feed's header that carries a credential (also in ``defaults.headers``), a
feed's ``auth`` password or token, a password in the ``state`` URL or in ``defaults.proxy``.
Feeds may be in included files: those are checked too. Written as
``${VAR}``, ``${file:...}`` or ``${credential:...}`` it lives elsewhere. A file holding a
literal secret and readable by others is refused by ``newsmon run`` and reported by
``newsmon check``, with the ``chmod`` that fixes it; a ``${file:...}`` target readable by
others is a warning only (mounted secret volumes are often 0644). Messages name the setting
and its place, never the value.
"""

from __future__ import annotations

import glob
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.base.errors import Problem
from monitor.config.yamldoc import Document, PathKey, load_document

# The settings of each sink type that are secrets.
SECRET_KEYS = {
    "webhook": ("secret",),
    "slack": ("url",),
    "discord": ("url",),
    "telegram": ("token",),
    "email": ("password",),
    "apprise": ("urls",),
}
CREDENTIAL_HEADER = re.compile(r"auth|token|key|secret|cookie|signature", re.IGNORECASE)
FILE_REFERENCE = re.compile(r"\$\{file:([^}]*)\}")


def readable_by_others(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False


def _needs_reading(path: Path) -> bool:
    """Whether a config others cannot read may still hold a problem: a ``${file:...}`` target,
    or included files (which may hold feeds' secrets and be readable by others)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return True  # let the full check report what it can
    return "${file:" in text or "include" in text


def secret_problems(config: Path | str) -> list[Problem]:
    """Errors for literal secrets in a file others can read; warnings for ``${file:...}``
    targets others can read. The main config file holds the sinks', state's and defaults'
    secrets; feeds' secrets may also be in the files it includes."""
    path = Path(config)
    exposed = readable_by_others(path)
    if not exposed and not _needs_reading(path):
        return []  # nothing to find: no need to read the YAML again (100,000 feeds: seconds)
    doc, _ = load_document(path)
    if not isinstance(doc.data, dict):
        return []
    problems = _file_problems(path, doc, _secrets(doc))
    for included in _included_files(doc, path):
        sub, _ = load_document(included)
        if isinstance(sub.data, dict):
            problems += _file_problems(included, sub, _feed_secrets(sub.data))
    return problems


def _included_files(doc: Document, path: Path) -> list[Path]:
    includes = doc.data.get("include", [])
    includes = [includes] if isinstance(includes, str) else includes
    if not isinstance(includes, list):
        return []
    found = (glob.glob(str(path.parent / p)) for p in includes if isinstance(p, str))
    return sorted({Path(name) for names in found for name in names})


def _file_problems(
    path: Path, doc: Document, secrets: Iterator[tuple[PathKey, str]]
) -> list[Problem]:
    problems = []
    exposed = readable_by_others(path)
    for where, what in secrets:
        raw = doc.scalars.get(where)
        text = raw.raw if raw is not None else ""
        for target in FILE_REFERENCE.findall(text):
            file = (path.parent / target).resolve()
            if readable_by_others(file):
                problems.append(
                    Problem(
                        f"{what} is read from {file}, which others can read "
                        f"(chmod o-rwx {file} if it is not a mounted secret)",
                        doc.position(where),
                        "warning",
                    )
                )
        if exposed and "${" not in text:
            problems.append(
                Problem(
                    f"{what} is written in this file, which others can read: "
                    f"chmod o-rwx {path} (or move it to ${{VAR}}, ${{file:...}} or "
                    "${credential:...})",
                    doc.position(where),
                )
            )
    return problems


def _secrets(doc: Document) -> Iterator[tuple[PathKey, str]]:
    """Each secret scalar's path, and how to name it in a message."""
    data: dict[str, Any] = doc.data
    state = data.get("state")
    if isinstance(state, str) and urlsplit(state).password:
        yield ("state",), "the state URL's password"
    http = data.get("http")
    if isinstance(http, dict) and http.get("token") is not None:
        yield ("http", "token"), "http.token"
    defaults = data.get("defaults")
    if isinstance(defaults, dict):
        proxy = defaults.get("proxy")
        if isinstance(proxy, str) and urlsplit(proxy).password:
            yield ("defaults", "proxy"), "the proxy URL's password"
        yield from _headers(defaults, ("defaults",), "defaults:")
    yield from _feed_secrets(data)
    sinks = data.get("sinks")
    if not isinstance(sinks, dict):
        return
    for name, spec in sinks.items():
        if not isinstance(spec, dict):
            continue
        for key in SECRET_KEYS.get(str(spec.get("type")), ()):
            value = spec.get(key)
            if isinstance(value, list):
                for i in range(len(value)):
                    yield ("sinks", name, key, i), f"sink {name!r}: {key}"
            elif value is not None:
                yield ("sinks", name, key), f"sink {name!r}: {key}"
        yield from _headers(spec, ("sinks", name), f"sink {name!r}:")


def _feed_secrets(data: dict[str, Any]) -> Iterator[tuple[PathKey, str]]:
    """The secrets of each feed: its ``auth`` password or token, its credential headers."""
    feeds = data.get("feeds")
    if not isinstance(feeds, list):
        return
    for i, feed in enumerate(feeds):
        if not isinstance(feed, dict):
            continue
        url = feed.get("url")
        host = urlsplit(url).hostname if isinstance(url, str) else None
        label = f"feed {feed.get('name') or host or i + 1!r}:"
        auth = feed.get("auth")
        if isinstance(auth, dict):
            for key in ("password", "token"):
                if auth.get(key) is not None:
                    yield ("feeds", i, "auth", key), f"{label} auth {key}"
        yield from _headers(feed, ("feeds", i), label)


def _headers(spec: dict[str, Any], where: PathKey, label: str) -> Iterator[tuple[PathKey, str]]:
    headers = spec.get("headers")
    if isinstance(headers, dict):
        for header in headers:
            if CREDENTIAL_HEADER.search(str(header)):
                yield (*where, "headers", header), f"{label} header {header}"
