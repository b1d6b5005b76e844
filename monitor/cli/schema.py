"""``newsmon schema``: the config's JSON Schema for editors; ``--write`` puts it by the config."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from monitor.cli.common import OK
from monitor.config.schema import SCHEMA_FILE, shipped_schema

HEADER = f"# yaml-language-server: $schema={SCHEMA_FILE}"


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    schema = commands.add_parser(
        "schema", parents=[common], help="the config's JSON Schema, for editors"
    )
    schema.add_argument(
        "--write",
        nargs="?",
        const="",
        metavar="PATH",
        help=f"write it to PATH (a file or a directory; default: {SCHEMA_FILE} beside the config)",
    )
    schema.set_defaults(func=cmd_schema)


def cmd_schema(args: argparse.Namespace) -> int:
    text = shipped_schema()
    if args.write is None:
        print(text, end="")
        return OK
    target = Path(args.write) if args.write else Path(args.config).parent
    if target.is_dir():
        target = target / SCHEMA_FILE
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}; start each YAML file beside it with:\n{HEADER}")
    return OK
