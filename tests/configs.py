"""Test configs built from Python values: one helper writes every end-to-end test's YAML.

``write_config(tmp_path, feeds=[url, ...], rules=[rule("belarus", "Belarus*")],
sinks={"hook": webhook(receiver.url)})`` writes ``newsmon.yaml`` with a SQLite state in
``tmp_path`` and ``defaults: {allow_private: true, full_text: never}`` (loopback feeds, whose
entries link to hosts that do not exist here: the full-text tests set ``full_text`` themselves),
which ``defaults=`` extends or overrides; any other top-level section is a keyword (``http=``,
``digests=``...). Tests of the config loader itself (positions of errors, YAML quirks) write
their YAML text on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

# The secret every webhook sink in the tests signs with, unless a test says otherwise.
WEBHOOK_SECRET = "whsec_dGVzdHMtc2lnbi1ldmVyeS13ZWJob29rLXdpdGgtdGhpcw=="
LOOPBACK = {"allow_private": True, "full_text": "never"}


def rule(id: str, query: str, **options: Any) -> dict[str, Any]:
    """One rule: ``rule("sanksi", "sanksi", notify_updates=True)``."""
    return {"id": id, "query": query, **options}


def webhook(url: str, secret: str = WEBHOOK_SECRET, **options: Any) -> dict[str, Any]:
    """A webhook sink with a signing secret."""
    return {"type": "webhook", "url": url, "secret": secret, **options}


def config_text(
    *,
    state: str,
    feeds: Iterable[str | Mapping[str, Any]] = (),
    rules: Iterable[Mapping[str, Any]] = (),
    sinks: Mapping[str, Mapping[str, Any]] | None = None,
    defaults: Mapping[str, Any] | None = None,
    **sections: Any,
) -> str:
    """The YAML of a config; a feed given as a string is its URL."""
    document: dict[str, Any] = {"state": state, "defaults": {**LOOPBACK, **(defaults or {})}}
    document.update(sections)
    document["feeds"] = [{"url": f} if isinstance(f, str) else dict(f) for f in feeds]
    if rules:
        document["rules"] = [dict(r) for r in rules]
    if sinks:
        document["sinks"] = {name: dict(spec) for name, spec in sinks.items()}
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def write_config(
    directory: Path,
    *,
    state: str | Path | None = None,
    name: str = "newsmon.yaml",
    **config: Any,
) -> Path:
    """Write :func:`config_text` to ``directory/name``; ``state`` defaults to SQLite beside it
    (a path is a SQLite file)."""
    if state is None:
        state = directory / "state.db"
    url = f"sqlite:///{state}" if isinstance(state, Path) else state
    path = directory / name
    path.write_text(config_text(state=url, **config), encoding="utf-8")
    path.chmod(0o600)  # configs hold secrets: newsmon refuses them readable by others
    return path
