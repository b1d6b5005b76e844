"""The JSON Schema of ``newsmon.yaml`` and its included files, generated from the config models.

Editors with the YAML language server (VS Code, Neovim, JetBrains) validate and complete a
file whose first line is ``# yaml-language-server: $schema=newsmon.schema.json``. The schema
says what the loader accepts as written: durations as ``30s`` or seconds, sizes as ``10MiB``,
one address or a list, ``include:``, and ``${VAR}``, ``${VAR:-default}``, ``${file:...}`` and
``${credential:...}`` wherever a value is a scalar (the loader interpolates before it
validates). What the schema cannot say (cross references, query syntax) ``newsmon check`` does.

The shipped copy is ``monitor/data/newsmon.schema.json``; ``python -m monitor.config.schema``
rewrites it, and a test checks that it is what the models generate.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.base.settings import Settings

SCHEMA_FILE = "newsmon.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
# A scalar the loader interpolates: the value is only known once it has been.
INTERPOLATION = {
    "type": "string",
    "pattern": r"\$\{[^}]+\}",
    "description": "${VAR}, ${VAR:-default}, ${file:path} or ${credential:name}, interpolated",
}
INTERPOLATED = {"$ref": "#/$defs/Interpolated"}
INCLUDE = {
    "description": "files (or glob patterns) beside this one whose feeds, rules, groups and"
    " words join this file's",
    "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
}
_SCALAR_TYPES = {"number", "integer", "boolean", "null"}
_STRING_RULES = {"pattern", "format", "enum", "const", "minLength", "maxLength"}
_META = {"title", "description", "default", "examples"}


def config_schema() -> dict[str, Any]:
    schema = Settings.model_json_schema(mode="validation")
    schema["properties"] = {"include": INCLUDE, **schema["properties"]}
    schema = _interpolatable(schema)
    schema["$defs"]["Interpolated"] = INTERPOLATION
    return {
        "$schema": DIALECT,
        "title": "newsmon configuration (newsmon.yaml and the files it includes)",
        **{k: v for k, v in schema.items() if k != "title"},
    }


def render_schema() -> str:
    return json.dumps(config_schema(), indent=2, ensure_ascii=False) + "\n"


def shipped_schema() -> str:
    return resources.files("monitor.data").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")


def _is_scalar(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    if kind in _SCALAR_TYPES or "enum" in node or "const" in node:
        return True
    return kind == "string" and bool(_STRING_RULES & node.keys())


def _interpolatable(node: Any) -> Any:
    """``node`` with an interpolation accepted wherever a constrained scalar is."""
    if not isinstance(node, dict):
        return node
    out = {key: _children(key, value) for key, value in node.items()}
    for union in ("anyOf", "oneOf"):
        if union in out and any(_is_scalar(m) for m in node[union] if isinstance(m, dict)):
            out[union] = [*out[union], INTERPOLATED]
            return out
    if _is_scalar(node):
        meta = {k: v for k, v in node.items() if k in _META}
        rule = {k: v for k, v in node.items() if k not in _META}
        return {**meta, "anyOf": [rule, INTERPOLATED]}
    return out


def _children(key: str, value: Any) -> Any:
    if key in ("properties", "patternProperties", "$defs") and isinstance(value, dict):
        return {name: _interpolatable(sub) for name, sub in value.items()}
    if key in ("items", "additionalProperties", "propertyNames") and isinstance(value, dict):
        return _interpolatable(value)
    if key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
        return [_interpolatable(sub) for sub in value]
    return value


if __name__ == "__main__":
    target = Path(__file__).parent.parent / "data" / SCHEMA_FILE
    target.write_text(render_schema(), encoding="utf-8")
    print(f"wrote {target}")  # noqa: T201 (a maintainer's command)
