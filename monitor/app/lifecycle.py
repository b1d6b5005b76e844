"""The daemon's life as a process: signals set flags, the daemon does the rest (uvicorn's way).

SIGTERM and a first SIGINT stop intake and drain (exit 0); a second SIGINT stops waiting for
running work (exit 130); SIGHUP reloads the config. Handlers are removed on the way out, so
a process that goes on after the daemon (tests) gets the default behaviour back.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from monitor.app.daemon import Daemon
from monitor.config import LoadedConfig

INTERRUPTED = 130


async def serve(loaded: LoadedConfig, config_path: Path) -> int:
    """Run the daemon until a signal stops it; returns the process's exit code."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    main = asyncio.current_task()
    assert main is not None

    def interrupt() -> None:
        if stop.is_set():  # a second Ctrl+C: stop waiting for running work
            main.cancel("forced exit")
        stop.set()

    async with Daemon(loaded, config_path=config_path) as daemon:
        reloads: set[asyncio.Task[bool]] = set()

        def reload() -> None:
            task = loop.create_task(daemon.reload())
            reloads.add(task)
            task.add_done_callback(reloads.discard)

        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, interrupt)
        loop.add_signal_handler(signal.SIGHUP, reload)
        try:
            await daemon.run(stop)
        except asyncio.CancelledError:
            return INTERRUPTED
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
    return 0
