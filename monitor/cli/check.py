"""``newsmon check``: validate the config, its rules and sinks; every problem at file:line:col."""

from __future__ import annotations

import argparse
from typing import Any

from monitor.base.errors import Problem, StoreError
from monitor.cli.common import OK, PROBLEM, load, plural, print_json, problem_dict
from monitor.config import LoadedConfig
from monitor.config.secrets import secret_problems

FAMILY_LANGUAGES = ("id", "en")  # the languages whose families check looks at


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    check = commands.add_parser("check", parents=[common], help="validate the config and rules")
    check.set_defaults(func=cmd_check)


def cmd_check(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    settings = loaded.settings
    state_error = _state_problem(settings.state)
    if state_error is not None:
        if args.json:
            problem = {"file": args.config, "line": None, "col": None, "severity": "error"}
            print_json({"ok": False, "problems": [{**problem, "message": state_error}]})
        else:
            print(f"{args.config}: {state_error}")
        return PROBLEM
    secrets = secret_problems(args.config)
    warnings = sorted([*loaded.warnings, *family_warnings(loaded), *secrets], key=_order)
    ok = not any(problem.severity == "error" for problem in secrets)
    if args.json:
        print_json(
            {
                "ok": ok,
                "feeds": len(settings.feeds),
                "rules": len(settings.rules),
                "sinks": len(settings.sinks),
                "problems": [problem_dict(p) for p in warnings],
            }
        )
        return OK if ok else PROBLEM
    for warning in warnings:
        print(warning)
    if not ok:
        return PROBLEM
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


def _state_problem(state: str) -> str | None:
    """What is wrong with ``state:`` before any connection: not a URL, or its driver missing."""
    from monitor.store.engine import database_url

    try:
        database_url(state)
    except StoreError as e:
        return str(e)
    return None


def family_warnings(loaded: LoadedConfig) -> list[Problem]:
    """A warning for each rule word whose family brings in frequent words of their own
    (``adil`` finds pengadilan), at the word's place in its file."""
    if not loaded.family_terms:
        return []
    from monitor.stages.rules.vocabulary import family_warning  # wordfreq: this command only

    out = []
    seen = set()
    overrides = loaded.rules.overrides
    for term in loaded.family_terms:
        where = (term.word, term.position)
        if where in seen:
            continue
        seen.add(where)
        languages = [code for code in term.languages or FAMILY_LANGUAGES if code in ("id", "en")]
        message = family_warning(term.word, languages, overrides)
        if message:
            out.append(Problem(f"rule {term.rule_id!r}: {message}", term.position, "warning"))
    return out


def _order(problem: Problem) -> tuple[str, int, int]:
    where = problem.position
    return (where.file, where.line, where.col) if where else ("", 0, 0)
