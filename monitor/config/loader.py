"""Load a config file into :class:`Settings` and a compiled :class:`RuleSet`, or refuse it.

Every problem is collected before refusing (a user fixes a config in one pass, not one error per
run) and each is reported as ``file:line:col: message``, including the ones found by pydantic deep
in the data and the ones found inside a query string.
"""

from __future__ import annotations

import difflib
import glob
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic

from monitor.base import settings as schema
from monitor.base.errors import ConfigError, Position, Problem
from monitor.base.listen import HttpSpec
from monitor.base.settings import FeedPolicy, RuleSpec, Settings, feed_policies, sink_names_for
from monitor.config.rulecheck import FamilyTerm, check_rules, check_words
from monitor.config.yamldoc import Document, PathKey, load_document, merge_positions
from monitor.stages.matching import Matcher
from monitor.stages.rules import RuleSet

INCLUDABLE = ("feeds", "rules", "groups", "words")


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration: the settings, the compiled rules and the files it came from."""

    settings: Settings
    rules: RuleSet
    files: tuple[Path, ...]
    warnings: tuple[Problem, ...] = ()
    include_patterns: tuple[str, ...] = ()
    policies: Mapping[str, FeedPolicy] = field(default_factory=dict)  # by feed URL
    matcher: Matcher = field(default_factory=lambda: Matcher(RuleSet.build([]), {}, {}))
    family_terms: tuple[FamilyTerm, ...] = ()  # plain rule words, where each is written


def _patterns(doc: Document, path: Path) -> tuple[str, ...]:
    """The include patterns as absolute globs, so a reload notices a newly matching file."""
    includes = doc.data.get("include", [])
    includes = [includes] if isinstance(includes, str) else includes
    return tuple(str(path.parent / p) for p in includes if isinstance(p, str))


def load_config(path: Path | str) -> LoadedConfig:
    """Read, include, interpolate, validate and compile; raise :class:`ConfigError` listing all."""
    path = Path(path)
    doc, problems = load_document(path)
    files = [path]
    if problems and doc.data is None:
        raise ConfigError(problems)
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise ConfigError([Problem("the config must be a mapping of keys", doc.position(()))])
    problems += _include(doc, path, files)
    problems += _retire(doc)
    settings = _validate(doc, problems)
    family_terms: list[FamilyTerm] = []
    definitions = check_rules(doc, problems, family_terms)
    overrides = check_words(doc, problems)
    problems += _cross_check(doc)
    problems.sort(key=_order)
    if settings is None or any(p.severity == "error" for p in problems):
        raise ConfigError(problems)
    rules = RuleSet.build(definitions, overrides)
    return LoadedConfig(
        settings,
        rules,
        tuple(files),
        tuple(problems),
        _patterns(doc, path),
        feed_policies(settings),
        Matcher(
            rules,
            {rule.id: rule for rule in settings.rules},
            {rule.id: sink_names_for(rule, settings) for rule in settings.rules},
        ),
        tuple(family_terms),
    )


# Settings that no longer do anything: a warning, and they are dropped before validation.
RETIRED = {
    ("defaults", "deliveries"): "defaults.deliveries is no longer used: each sink's concurrency"
    " (defaults.per_sink) bounds its deliveries",
}


def _retire(doc: Document) -> list[Problem]:
    problems = []
    for (section, key), message in RETIRED.items():
        values = doc.data.get(section)
        if isinstance(values, dict) and key in values:
            problems.append(Problem(message, doc.position((section, key)), severity="warning"))
            doc.data[section] = {k: v for k, v in values.items() if k != key}
    return problems


def _order(problem: Problem) -> tuple[str, int, int]:
    where = problem.position
    return (where.file, where.line, where.col) if where else ("", 0, 0)


def _include(doc: Document, path: Path, files: list[Path]) -> list[Problem]:
    includes = doc.data.get("include", [])
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list):
        return [
            Problem("include: must be a file name or a list of them", doc.position(("include",)))
        ]
    problems: list[Problem] = []
    for i, pattern in enumerate(includes):
        where = doc.position(("include", i))
        if not isinstance(pattern, str):
            problems.append(Problem("include: entries must be file names", where))
            continue
        matches = (
            sorted(glob.glob(str(path.parent / pattern)))
            if glob.has_magic(pattern)
            else [str(path.parent / pattern)]
        )
        if not matches:
            problems.append(Problem(f"include: nothing matches {pattern!r}", where))
        for name in matches:
            problems += _include_file(doc, Path(name), where, files)
    return problems


def _include_file(doc: Document, path: Path, where: Position, files: list[Path]) -> list[Problem]:
    sub, problems = load_document(path)
    files.append(path)
    if sub.data is None:
        return problems or [Problem(f"include: cannot read {path}", where)]
    if not isinstance(sub.data, dict):
        return [*problems, Problem("an included file must be a mapping of keys", sub.position(()))]
    for key, value in sub.data.items():
        if key not in INCLUDABLE:
            allowed = ", ".join(INCLUDABLE)
            problems.append(
                Problem(
                    f"unknown key {key!r} in an included file (allowed: {allowed})",
                    sub.key_positions.get((key,), sub.position(())),
                )
            )
            continue
        if key == "groups":
            problems += _merge_groups(doc, sub, value)
            continue
        if key == "words":
            problems += _merge_words(doc, sub, value)
            continue
        if not isinstance(value, list):
            problems.append(Problem(f"{key}: must be a list", sub.position((key,))))
            continue
        target = doc.data.setdefault(key, [])
        if not isinstance(target, list):
            continue  # reported when the main file is validated
        for j, item in enumerate(value):
            merge_positions(doc, sub, (key, j), (key, len(target)))
            target.append(item)
    return problems


def _merge_groups(doc: Document, sub: Document, groups: object) -> list[Problem]:
    if not isinstance(groups, dict):
        return [Problem("groups: must be a mapping of names to queries", sub.position(("groups",)))]
    target = doc.data.setdefault("groups", {})
    if not isinstance(target, dict):
        return []
    problems = []
    for name, query in groups.items():
        if name in target:
            problems.append(
                Problem(
                    f"group {name!r} is defined twice",
                    sub.key_positions.get(("groups", name), sub.position(("groups",))),
                )
            )
            continue
        merge_positions(doc, sub, ("groups", name), ("groups", name))
        target[name] = query
    return problems


def _merge_words(doc: Document, sub: Document, words: object) -> list[Problem]:
    """An included file's ``words:`` lists are added to the main file's."""
    if not isinstance(words, dict):
        return [Problem("words: must be a mapping (keep, join, split)", sub.position(("words",)))]
    target = doc.data.setdefault("words", {})
    if not isinstance(target, dict):
        return []  # reported when the main file is validated
    problems = []
    for key, items in words.items():
        if not isinstance(items, list):
            where = sub.key_positions.get(("words", key), sub.position(("words",)))
            problems.append(Problem(f"words.{key}: must be a list", where))
            continue
        into = target.setdefault(key, [])
        if not isinstance(into, list):
            continue
        for j, item in enumerate(items):
            merge_positions(doc, sub, ("words", key, j), ("words", key, len(into)))
            into.append(item)
    return problems


def _dotted(path: Iterable[str | int]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


_FIELD_NAMES = sorted(
    {
        name
        for model in (
            Settings,
            schema.Defaults,
            schema.FeedSpec,
            RuleSpec,
            schema.WordsSpec,
            *schema.SINK_TYPES,
            HttpSpec,
        )
        for name in model.model_fields
    }
)


def _validate(doc: Document, problems: list[Problem]) -> Settings | None:
    try:
        return Settings.model_validate(doc.data)
    except pydantic.ValidationError as e:
        for error in e.errors(include_url=False):
            problems.append(_problem_from_pydantic(doc, error))
        return None


def _resolve(doc: Document, loc: tuple[Any, ...]) -> PathKey:
    """The longest real path in ``loc``: pydantic adds union tags that are not in the data."""
    path: PathKey = ()
    for part in loc:
        candidate = (*path, part)
        if candidate in doc.positions or candidate in doc.key_positions:
            path = candidate
    return path


def _problem_from_pydantic(doc: Document, error: Any) -> Problem:
    loc = tuple(error["loc"])
    path = _resolve(doc, loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        key = loc[-1]
        close = difflib.get_close_matches(str(key), _FIELD_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        where = doc.key_positions.get(path, doc.position(path))
        return Problem(f"unknown key {_dotted(path)!r}{hint}", where)
    if kind == "missing":
        missing = loc[-1]
        owner = _dotted(path) or "the config"
        return Problem(f"{owner}: missing required key {missing!r}", doc.position(path))
    scalar = doc.scalars.get(path)
    if kind in ("string_type", "str_type") and scalar is not None and scalar.style is None:
        value = error.get("input")
        if isinstance(value, bool) or value is None or isinstance(value, int | float):
            shown = "null" if value is None else repr(value).lower()
            return Problem(
                f"{_dotted(path)}: YAML read {scalar.raw or '(empty)'!r} as {shown}; "
                f"put it in single quotes ('{scalar.raw}')",
                doc.position(path),
            )
    message = str(error["msg"]).removeprefix("Value error, ")
    query = (*path, "query")
    if message.startswith("a rule needs query") and query in doc.scalars:
        # `query:` with nothing after it: YAML reads null, and the rule would silently be empty.
        return Problem(
            f"{_dotted(query)}: YAML read an empty value as null; write the query in single quotes",
            doc.position(query),
        )
    return Problem(f"{_dotted(path)}: {message}", doc.position(path))


def _items(doc: Document, key: str) -> list[tuple[int, dict[str, Any]]]:
    value = doc.data.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _cross_check(doc: Document) -> list[Problem]:
    problems = []
    sinks = doc.data.get("sinks") if isinstance(doc.data.get("sinks"), dict) else {}
    seen_rules: dict[str, int] = {}
    for i, rule in _items(doc, "rules"):
        rule_id = rule.get("id")
        if isinstance(rule_id, str) and rule_id in seen_rules:
            problems.append(
                Problem(
                    f"rule id {rule_id!r} is used twice (first at rules[{seen_rules[rule_id]}])",
                    doc.position(("rules", i, "id")),
                )
            )
        if isinstance(rule_id, str):
            seen_rules.setdefault(rule_id, i)
        names = rule.get("sinks")
        for j, sink in enumerate(names if isinstance(names, list) else []):
            if isinstance(sink, str) and sink not in sinks:
                known = ", ".join(map(str, sinks)) or "none defined"
                problems.append(
                    Problem(
                        f"rule {rule_id!r}: unknown sink {sink!r} (sinks: {known})",
                        doc.position(("rules", i, "sinks", j)),
                    )
                )
    seen_feeds: dict[str, int] = {}
    for i, feed in _items(doc, "feeds"):
        url = feed.get("url")
        if isinstance(url, str) and url in seen_feeds:
            problems.append(
                Problem(
                    f"feed {url} is listed twice (first at feeds[{seen_feeds[url]}])",
                    doc.position(("feeds", i, "url")),
                )
            )
        if isinstance(url, str):
            seen_feeds.setdefault(url, i)
    if seen_rules and not sinks:
        problems.append(
            Problem(
                "rules are defined but no sinks: alerts would go nowhere",
                doc.position(("rules",)),
                severity="warning",
            )
        )
    return problems
