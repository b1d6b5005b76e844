"""Reloading the config: noticing an edit, reading it, and refusing a broken one.

The files are polled on the clock (path, mtime, size, inode) rather than watched with inotify:
a few stat() calls a second cost nothing, and polling also works on network filesystems and
bind mounts. An edit is read once the files stayed the same for one more tick (an editor's
truncate-then-write is not read half-way). A config that does not load is refused with every
problem logged, and the daemon keeps its last good config.
"""

from __future__ import annotations

import asyncio
import glob
import os
from pathlib import Path

import structlog

from monitor.base.errors import ConfigError
from monitor.base.settings import Settings
from monitor.config import LoadedConfig, load_config

log = structlog.get_logger("newsmon")

WATCH_INTERVAL = 0.5
# Settings a running daemon cannot change: its store, its node identity, its HTTP pool and
# proxies. (``defaults.user_agent`` reaches each fetch through the feeds' policies: a reload
# applies it.)
RESTART_SETTINGS = (
    "state",
    "node_id",
    "defaults.concurrency",
    "defaults.per_host",
    "defaults.proxy",
    "defaults.no_proxy",
    "http.listen",
    "nodes",
)
Signature = tuple[tuple[str, int, int, int], ...]


def config_signature(config: LoadedConfig) -> Signature:
    """What the config files look like on disk (path, mtime, size, inode): a change means edit."""
    paths = {str(p) for p in config.files}
    for pattern in config.include_patterns:
        paths.update(glob.glob(pattern))
    signature = []
    for path in sorted(paths):
        try:
            st = os.stat(path)
        except OSError:
            signature.append((path, -1, -1, -1))
            continue
        signature.append((path, st.st_mtime_ns, st.st_size, st.st_ino))
    return tuple(signature)


def restart_needed(old: Settings, new: Settings) -> list[str]:
    """The settings that changed but only take effect at the next start."""
    return [name for name in RESTART_SETTINGS if _setting(new, name) != _setting(old, name)]


def _setting(settings: Settings, dotted: str) -> object:
    value: object = settings
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


class ConfigWatcher:
    """The config file and what it looked like when last read."""

    def __init__(self, path: Path, config: LoadedConfig) -> None:
        self.path = path
        self.watched = config_signature(config)
        self._changed: Signature | None = None
        self.rejected: list[str] = []  # the last rejected load's problems

    def edited(self, config: LoadedConfig) -> bool:
        """True once an edit has settled: the files changed, then stayed so for one tick."""
        current = config_signature(config)
        if current == self.watched:
            self._changed = None
            return False
        if current == self._changed:
            self.watched, self._changed = current, None
            return True
        self._changed = current
        return False

    async def load(self, current: LoadedConfig) -> LoadedConfig | None:
        """The config as the files say now, or None (logged) if it does not load."""
        seen = config_signature(current)  # what this attempt read, taken before reading
        try:
            new = await asyncio.to_thread(load_config, self.path)
        except ConfigError as e:
            # The watcher need not try the same broken files again (a SIGHUP with an edit
            # would otherwise be rejected twice); the next edit is a change again.
            self.watched, self._changed = seen, None
            self.rejected = [str(p) for p in e.problems]  # file:line:col: message, each
            await log.aerror("config.rejected", problems=self.rejected)
            return None
        self.watched = config_signature(new)
        for setting in restart_needed(current.settings, new.settings):
            await log.awarning("config.restart_needed", setting=setting)
        for problem in new.warnings:
            await log.awarning("config.warning", problem=str(problem))
        return new
