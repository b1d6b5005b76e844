"""The config's JSON Schema: what the models generate, shipped, and right about real files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from monitor.config.schema import config_schema, render_schema, shipped_schema
from tests.test_cli import newsmon

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(shipped_schema())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def errors(validator: jsonschema.Draft202012Validator, text: str) -> list[str]:
    return [
        f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(yaml.safe_load(text))
    ]


def test_the_shipped_schema_is_what_the_models_generate() -> None:
    """After a change to the config models: python -m monitor.config.schema"""
    assert shipped_schema() == render_schema()
    assert config_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("name", ["config/newsmon.yaml", "config/rules.yaml"])
def test_the_shipped_config_files_validate(validator, name: str) -> None:
    text = (ROOT / name).read_text(encoding="utf-8")
    assert errors(validator, text) == []
    assert text.startswith("# yaml-language-server: $schema=")


def test_every_yaml_example_in_the_readme_validates(validator) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", readme, re.S)
    assert len(blocks) >= 4
    for block in blocks:
        assert errors(validator, block) == [], block


def test_interpolations_and_written_units_are_accepted(validator) -> None:
    text = """\
include: [rules.yaml, "feeds/*.yaml"]
defaults:
  interval: ${NEWSMON_INTERVAL:-10m}
  max_body: 10MiB
  failing_after: ${FAILING_AFTER}
  backfill: all
  retention: {entries: 90d, counts: 1w}
feeds:
  - url: https://news.example.com/rss
    interval: 1h30m
    allow_private: ${PRIVATE}
sinks:
  hook:
    type: webhook
    url: ${file:hook-url}
    secret: ${credential:hook-secret}
    rate: 20/m
  mail:
    type: email
    host: smtp.example.com
    from: newsmon@example.com
    to: desk@example.com
"""
    assert errors(validator, text) == []


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("defaults:\n  interval: soon\n", "defaults.interval"),
        ("feeds:\n  - url: https://a.example/f\n    colour: red\n", "feeds.0"),
        ("defaults:\n  failing_after: many\n", "defaults.failing_after"),
        ("sinks:\n  x:\n    type: carrier-pigeon\n", "sinks.x"),
        ("rules:\n  - query: 'a'\n", "rules.0"),
        ("stat: sqlite:///x.db\n", ""),
    ],
)
def test_a_bad_config_is_rejected_where_it_is_wrong(validator, text: str, where: str) -> None:
    found = errors(validator, text)
    assert found
    assert any(e.split(":")[0] == where for e in found), found


async def test_schema_prints_and_writes_beside_the_config(tmp_path: Path, write_config) -> None:
    code, out, _ = await newsmon("schema")
    assert code == 0
    assert out == shipped_schema()
    config = write_config("feeds: []\n")
    code, out, _ = await newsmon("schema", "--write", "--config", str(config))
    assert code == 0
    written = tmp_path / "newsmon.schema.json"
    assert written.read_text(encoding="utf-8") == shipped_schema()
    assert out.splitlines()[-1] == "# yaml-language-server: $schema=newsmon.schema.json"
    code, _, _ = await newsmon("schema", "--write", str(tmp_path / "other.json"))
    assert json.loads((tmp_path / "other.json").read_text())["title"].startswith("newsmon")
