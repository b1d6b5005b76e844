"""Rules and groups from the config data, parsed and checked, each problem at its position.

This works on the raw data (not only on validated settings) so that a config with a bad key and
a bad query reports both in one pass.
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.base.errors import Position, Problem
from monitor.base.text import WORD, fold
from monitor.config.yamldoc import Document, PathKey
from monitor.stages.rules import QueryError, RuleDefinition, lint_query, parse_query
from monitor.stages.rules.nodes import FAMILY, And, Node, Not, Or, Word, iter_terms, needs_a_hit
from monitor.stages.rules.overrides import WordOverrides


@dataclass(frozen=True)
class FamilyTerm:
    """A plain word of a rule (matched with its family), and where it is written."""

    rule_id: str
    word: str
    source: str
    languages: tuple[str, ...]
    position: Position


TEXT_FIELDS = ("title", "summary", "content")


def query_position(doc: Document, path: PathKey, offset: int) -> Position:
    """Where character ``offset`` of the query string at ``path`` is in the file."""
    start = doc.position(path)
    scalar = doc.scalars.get(path)
    if scalar is None or "\n" in scalar.raw or "${" in scalar.raw:
        return start
    if scalar.style is None:
        return Position(start.file, start.line, start.col + offset)
    if scalar.style == "'" and "''" not in scalar.raw:
        return Position(start.file, start.line, start.col + 1 + offset)
    if scalar.style == '"' and "\\" not in scalar.raw:
        return Position(start.file, start.line, start.col + 1 + offset)
    return start


@dataclass
class _Groups:
    """Resolves ``@name`` to the group's tree, parsing groups on first use, refusing cycles."""

    doc: Document
    problems: list[Problem]
    raw: Mapping[str, Any]
    trees: dict[str, Node] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    stack: list[str] = field(default_factory=list)

    def resolve(self, name: str, offset: int) -> Node:
        if name in self.trees:
            return self.trees[name]
        if name not in self.raw or not isinstance(self.raw[name], str):
            close = difflib.get_close_matches(name, [str(k) for k in self.raw], n=1)
            hint = f" (did you mean @{close[0]}?)" if close else ""
            raise QueryError(f"unknown group @{name}{hint}", offset)
        if name in self.stack:
            cycle = " -> ".join(f"@{n}" for n in [*self.stack[self.stack.index(name) :], name])
            raise QueryError(f"groups refer to each other in a cycle: {cycle}", offset)
        if name in self.failed:
            raise QueryError(f"group @{name} has errors (see its definition)", offset)
        self.stack.append(name)
        try:
            tree = parse_query(self.raw[name], self.resolve, check=False)
        except QueryError as e:
            self.failed.add(name)
            where = query_position(self.doc, ("groups", name), e.offset)
            self.problems.append(Problem(f"group @{name}: {e.message}", where))
            raise QueryError(f"group @{name} has errors (see its definition)", offset) from None
        finally:
            self.stack.pop()
        self.trees[name] = tree
        return tree

    def term_ids(self) -> set[int]:
        """The terms that come from groups (the same objects wherever a group is used)."""
        return {id(term) for tree in self.trees.values() for term, _ in iter_terms(tree)}

    def places(self) -> dict[int, Position]:
        """Where each term of each group is written."""
        out: dict[int, Position] = {}
        for name, tree in self.trees.items():
            for term, _ in iter_terms(tree):
                out.setdefault(id(term), query_position(self.doc, ("groups", name), term.offset))
        return out

    def check_all(self) -> None:
        for name in self.raw:
            if isinstance(name, str) and name not in self.trees and name not in self.failed:
                with contextlib.suppress(QueryError):  # recorded at the group's own position
                    self.resolve(name, 0)


def _items(doc: Document, key: str) -> list[tuple[int, dict[str, Any]]]:
    value = doc.data.get(key)
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _parse(
    doc: Document,
    groups: _Groups,
    problems: list[Problem],
    rule_id: str,
    path: PathKey,
    text: str,
    *,
    check: bool,
    places: dict[int, Position] | None = None,
) -> Node | None:
    """Parse one query string; ``places`` gets where each of its own terms is written."""
    try:
        tree = parse_query(text, groups.resolve, check=check)
    except QueryError as e:
        label = ".".join(str(p) for p in path[2:])
        where = query_position(doc, path, e.offset)
        problems.append(Problem(f"rule {rule_id!r}: {label}: {e.message}", where))
        return None
    if places is not None:
        from_groups = groups.term_ids()
        for term, _ in iter_terms(tree):
            if id(term) not in from_groups:
                places[id(term)] = query_position(doc, path, term.offset)
    for message, offset in lint_query(tree):
        problems.append(
            Problem(
                f"rule {rule_id!r}: {message}",
                query_position(doc, path, offset),
                severity="warning",
            )
        )
    return tree


def _structured(
    doc: Document,
    groups: _Groups,
    problems: list[Problem],
    rule_id: str,
    i: int,
    rule: dict[str, Any],
    places: dict[int, Position],
) -> Node | None:
    parts: dict[str, list[Node]] = {}
    ok = True
    for key in ("all", "any", "none"):
        items = rule.get(key)
        if not isinstance(items, list):
            continue
        parts[key] = []
        for j, text in enumerate(items):
            if not isinstance(text, str):
                continue  # reported by validation
            tree = _parse(
                doc,
                groups,
                problems,
                rule_id,
                ("rules", i, key, j),
                text,
                check=False,
                places=places,
            )
            if tree is None:
                ok = False
            else:
                parts[key].append(tree)
    if not ok:
        return None
    tree = _combined(parts)
    if tree is None:
        return None
    if not needs_a_hit(tree):
        problems.append(
            Problem(
                f"rule {rule_id!r}: all:/any: give no positive term; the rule would match articles "
                "that contain none of its words",
                doc.position(("rules", i)),
            )
        )
        return None
    return tree


def _combined(parts: dict[str, list[Node]]) -> Node | None:
    """``all:`` AND (any of ``any:``) AND NOT (any of ``none:``)."""
    children: list[Node] = list(parts.get("all", []))
    if parts.get("any"):
        children.append(parts["any"][0] if len(parts["any"]) == 1 else Or(tuple(parts["any"])))
    if parts.get("none"):
        none = parts["none"]
        children.append(Not(none[0] if len(none) == 1 else Or(tuple(none))))
    if not children:
        return None
    return children[0] if len(children) == 1 else And(tuple(children))


def check_rules(
    doc: Document, problems: list[Problem], family_terms: list[FamilyTerm] | None = None
) -> list[RuleDefinition]:
    """Parse every group and rule found in the data; report each problem at its position.
    ``family_terms`` gets each rule's plain words and where they are written."""
    raw_groups = doc.data.get("groups")
    groups = _Groups(doc, problems, raw_groups if isinstance(raw_groups, dict) else {})
    groups.check_all()
    places: dict[int, Position] = {}
    definitions = []
    for i, rule in _items(doc, "rules"):
        rule_id = rule["id"] if isinstance(rule.get("id"), str) else f"#{i}"
        if isinstance(rule.get("query"), str):
            query = _parse(
                doc,
                groups,
                problems,
                rule_id,
                ("rules", i, "query"),
                rule["query"],
                check=True,
                places=places,
            )
        elif any(isinstance(rule.get(k), list) for k in ("all", "any", "none")):
            query = _structured(doc, groups, problems, rule_id, i, rule, places)
        else:
            query = None
        exclude = None
        if isinstance(rule.get("exclude"), str):
            exclude = _parse(
                doc,
                groups,
                problems,
                rule_id,
                ("rules", i, "exclude"),
                rule["exclude"],
                check=False,
            )
        if query is not None:
            definitions.append(_definition(rule_id, query, exclude, rule))
    if family_terms is not None:
        places.update(groups.places())
        family_terms.extend(_family_terms(definitions, places))
    return definitions


def _family_terms(
    definitions: list[RuleDefinition], places: dict[int, Position]
) -> list[FamilyTerm]:
    """Each rule's plain positive words (word families), with where they are written."""
    found = []
    for definition in definitions:
        for term, positive in iter_terms(definition.query):
            if positive and isinstance(term, Word) and term.mode == FAMILY:
                where = places.get(id(term))
                if where is not None:
                    found.append(
                        FamilyTerm(
                            definition.id, term.word, term.source, definition.languages, where
                        )
                    )
    return found


def check_words(doc: Document, problems: list[Problem]) -> WordOverrides:
    """The ``words:`` section: each entry one word; join and split lists of two or more
    words; a word in one join list at most, and never joined and split."""
    section = doc.data.get("words")
    if not isinstance(section, dict):
        return WordOverrides()  # absent, or reported by validation
    keep = section.get("keep")
    kept = [
        w
        for j, value in enumerate(keep if isinstance(keep, list) else [])
        if (w := _one_word(doc, problems, ("words", "keep", j), value))
    ]
    joined = _word_lists(doc, problems, section, "join")
    split = _word_lists(doc, problems, section, "split")
    _check_joins_and_splits(doc, problems, joined, split)
    return WordOverrides(
        keep=frozenset(kept),
        join=tuple(g for g, _ in joined),
        split=tuple(g for g, _ in split),
    )


_WordList = tuple[frozenset[str], PathKey]


def _one_word(doc: Document, problems: list[Problem], path: PathKey, value: object) -> str | None:
    """The one word ``value`` at ``path`` holds, folded; a problem when it is not one word."""
    if not isinstance(value, str):
        return None  # reported by validation
    words = WORD.findall(fold(value))
    if len(words) != 1 or words[0] != fold(value).strip():
        problems.append(
            Problem(
                f"words.{path[1]}: {value!r} is not one word (write each word of a family "
                "on its own)",
                doc.position(path),
            )
        )
        return None
    return str(words[0])


def _word_lists(
    doc: Document, problems: list[Problem], section: dict[str, Any], kind: str
) -> list[_WordList]:
    """The ``join`` or ``split`` lists of the section, each of two different words or more."""
    lists: list[_WordList] = []
    groups = section.get(kind)
    for j, group in enumerate(groups if isinstance(groups, list) else []):
        if not isinstance(group, list):
            continue  # reported by validation
        members = [
            w
            for k, value in enumerate(group)
            if (w := _one_word(doc, problems, ("words", kind, j, k), value))
        ]
        if len(members) != len(group):
            continue
        if len(set(members)) < 2:
            problems.append(
                Problem(
                    f"words.{kind}: a {kind} list needs two different words or more",
                    doc.position(("words", kind, j)),
                )
            )
            continue
        lists.append((frozenset(members), ("words", kind, j)))
    return lists


def _check_joins_and_splits(
    doc: Document, problems: list[Problem], joined: list[_WordList], split: list[_WordList]
) -> None:
    """A word is in one join list at most, and two words are never both joined and split."""
    seen: dict[str, PathKey] = {}
    for group, path in joined:
        for word in sorted(group):
            if word in seen:
                problems.append(
                    Problem(
                        f"words.join: {word!r} is in two join lists (put the words of one family "
                        "in one list)",
                        doc.position(path),
                    )
                )
            seen.setdefault(word, path)
    for group, path in split:
        for other, other_path in joined:
            both = sorted(group & other)
            if len(both) >= 2:
                problems.append(
                    Problem(
                        f"words.split: {both[0]!r} and {both[1]!r} are also joined (at "
                        f"{doc.position(other_path)})",
                        doc.position(path),
                    )
                )


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _definition(
    rule_id: str, query: Node, exclude: Node | None, rule: dict[str, Any]
) -> RuleDefinition:
    fields: list[str] = []
    for name in _strings(rule.get("fields")) or TEXT_FIELDS:
        fields += list(TEXT_FIELDS) if name == "text" else [name]
    return RuleDefinition(
        id=rule_id,
        query=query,
        exclude=exclude,
        fields=tuple(dict.fromkeys(fields)),
        languages=tuple(code.lower() for code in _strings(rule.get("lang"))),
        sources=_strings(rule.get("sources")),
        exclude_sources=_strings(rule.get("exclude_sources")),
    )
