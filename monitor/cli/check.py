"""``newsmon check``: validate the config, its rules and sinks; every problem at file:line:col."""

from __future__ import annotations

import argparse
from typing import Any

from monitor.cli.common import OK, PROBLEM, load, plural, print_json, problem_dict


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    check = commands.add_parser("check", parents=[common], help="validate the config and rules")
    check.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    settings = loaded.settings
    if args.json:
        print_json(
            {
                "ok": True,
                "feeds": len(settings.feeds),
                "rules": len(settings.rules),
                "sinks": len(settings.sinks),
                "problems": [problem_dict(p) for p in loaded.warnings],
            }
        )
        return OK
    for warning in loaded.warnings:
        print(warning)
    counts = ", ".join(
        plural(n, word)
        for n, word in (
            (len(settings.feeds), "feed"),
            (len(settings.rules), "rule"),
            (len(settings.sinks), "sink"),
        )
    )
    print(f"{args.config}: OK ({counts})")
    return OK
