"""YAML documents that remember where every value came from.

PyYAML's ``compose`` gives a node tree with start marks; we build plain Python values from it
with the *safe* constructor only (``!!python/...`` tags are refused) and keep a map from each
value's path (``("rules", 2, "query")``) to its position, so that a validation error deep in the
data is reported as ``file:line:col``. Duplicate keys, which PyYAML silently collapses, are
refused here.

``${VAR}`` in a string is replaced by the environment variable (``${VAR:-default}`` gives a default,
``${file:PATH}`` reads a file, ``${credential:NAME}`` reads ``$CREDENTIALS_DIRECTORY/NAME`` as
systemd's ``LoadCredential=`` provides it). An unknown variable is an error at its position.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from monitor.base.errors import Position, Problem

PathKey = tuple[str | int, ...]

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_VAR = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class Scalar:
    """How a scalar was written: the raw text and its quoting (None = plain)."""

    raw: str
    style: str | None


@dataclass
class Document:
    """Plain data plus where each piece of it was written."""

    data: Any
    file: str
    positions: dict[PathKey, Position] = field(default_factory=dict)
    key_positions: dict[PathKey, Position] = field(default_factory=dict)
    scalars: dict[PathKey, Scalar] = field(default_factory=dict)

    def position(self, path: PathKey) -> Position:
        """The position of ``path`` or, if it is absent, of its nearest present ancestor."""
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), Position(self.file, 1, 1))


def _position(file: str, mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(file, 1, 1)
    return Position(file, mark.line + 1, mark.column + 1)


def _interpolate(text: str, base: Path) -> str:
    def replace(match: re.Match[str]) -> str:
        expr = match.group(1)
        if expr.startswith("file:"):
            return (base / expr[5:]).read_text(encoding="utf-8").strip()
        if expr.startswith("credential:"):
            directory = os.environ.get("CREDENTIALS_DIRECTORY")
            if not directory:
                raise KeyError(f"${{{expr}}}: CREDENTIALS_DIRECTORY is not set")
            return (Path(directory) / expr[11:]).read_text(encoding="utf-8").strip()
        name, sep, default = expr.partition(":-")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise KeyError(f"${{{expr}}} is not a valid variable reference")
        value = os.environ.get(name)
        if value is None:
            if sep:
                return default
            raise KeyError(f"environment variable {name} is not set (write ${{{name}:-default}})")
        return value

    return _VAR.sub(replace, text)


class _Builder:
    def __init__(self, doc: Document, loader: yaml.SafeLoader, base: Path) -> None:
        self.doc = doc
        self.loader = loader
        self.base = base
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        self.doc.positions[path] = _position(self.doc.file, node.start_mark)
        if isinstance(node, yaml.CollectionNode) and node.tag not in (_MAP, _SEQ):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"could not determine a constructor for the tag {node.tag!r}",
                node.start_mark,
            )
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        self.doc.scalars[path] = Scalar(node.value, node.style or None)  # libyaml: "" is plain
        value = self.loader.construct_object(node, deep=True)
        if isinstance(value, str) and "${" in value:
            try:
                value = _interpolate(value, self.base)
            except (KeyError, OSError) as e:
                message = e.args[0] if isinstance(e, KeyError) else str(e)
                self.problems.append(Problem(message, self.doc.positions[path]))
        return value

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)  # resolve "<<" merge keys as the safe loader does
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool) and key is not None:
                self.problems.append(
                    Problem(
                        "mapping keys must be plain values",
                        _position(self.doc.file, key_node.start_mark),
                    )
                )
                continue
            if key in result:
                self.problems.append(
                    Problem(f"duplicate key {key!r}", _position(self.doc.file, key_node.start_mark))
                )
                continue
            child: PathKey = (*path, key if isinstance(key, str | int) else str(key))
            self.doc.key_positions[child] = _position(self.doc.file, key_node.start_mark)
            result[key] = self.build(value_node, child)
        return result


def load_document(path: Path, display: str | None = None) -> tuple[Document, list[Problem]]:
    """Read one YAML file; return the document and every problem found while reading it."""
    file = display or str(path)
    doc = Document(data=None, file=file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        return doc, [Problem(f"cannot read config: {e.strerror or e}", Position(file, 1, 1))]
    except UnicodeDecodeError as e:
        return doc, [Problem(f"config is not UTF-8 text: {e.reason}", Position(file, 1, 1))]
    try:  # libyaml composes ten times faster; PyYAML's own loader words its errors
        return _load(doc, text, path, getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.MarkedYAMLError:
        return _load(Document(data=None, file=file), text, path, yaml.SafeLoader)


def _load(
    doc: Document, text: str, path: Path, kind: type[yaml.SafeLoader]
) -> tuple[Document, list[Problem]]:
    file = doc.file
    loader = kind(text)
    try:
        node = loader.get_single_node()
        if node is None:
            doc.data = {}
            return doc, []
        builder = _Builder(doc, loader, path.parent)
        doc.data = builder.build(node, ())
        return doc, builder.problems
    except yaml.MarkedYAMLError as e:
        if kind is not yaml.SafeLoader:
            raise
        mark = e.problem_mark or e.context_mark
        message = str(e.problem or e.context or "invalid YAML")
        if e.context and e.context_mark and e.problem:
            message += f" ({e.context} at {_position(file, e.context_mark)})"
        return doc, [Problem(f"YAML syntax error: {message}", _position(file, mark))]
    finally:
        loader.dispose()


def merge_positions(
    target: Document, source: Document, source_prefix: PathKey, target_prefix: PathKey
) -> None:
    """Copy positions under ``source_prefix`` of ``source`` to ``target_prefix`` of ``target``."""
    n = len(source_prefix)
    tables: list[tuple[Mapping[PathKey, Any], dict[PathKey, Any]]] = [
        (source.positions, target.positions),
        (source.key_positions, target.key_positions),
        (source.scalars, target.scalars),
    ]
    for src, dst in tables:
        for key, value in src.items():
            if key[:n] == source_prefix:
                dst[target_prefix + key[n:]] = value
