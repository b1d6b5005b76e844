"""Secrets stay secret: a config file that holds one must not be readable by others.

A *literal* secret is one written in the file itself: a webhook ``secret``, a Slack or Discord
webhook ``url`` (its path is the token), a Telegram ``token``, an email ``password``, Apprise
``urls``, a sink header that carries a credential, a password in the ``state`` URL. Written as
``${VAR}``, ``${file:...}`` or ``${credential:...}`` it lives elsewhere. A file holding a
literal secret and readable by others is refused by ``newsmon run`` and reported by
``newsmon check``, with the ``chmod`` that fixes it; a ``${file:...}`` target readable by
others is a warning only (mounted secret volumes are often 0644). Messages name the setting
and its place, never the value.
"""

from __future__ import annotations

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


def secret_problems(config: Path | str) -> list[Problem]:
    """Errors for literal secrets in a file others can read; warnings for ``${file:...}``
    targets others can read. The main config file holds every secret (sinks and state are
    not includable)."""
    path = Path(config)
    doc, _ = load_document(path)
    if not isinstance(doc.data, dict):
        return []
    problems = []
    exposed = readable_by_others(path)
    for where, what in _secrets(doc):
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
        headers = spec.get("headers")
        if isinstance(headers, dict):
            for header in headers:
                if CREDENTIAL_HEADER.search(str(header)):
                    yield ("sinks", name, "headers", header), f"sink {name!r}: header {header}"
