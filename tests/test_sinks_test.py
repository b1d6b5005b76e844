"""``newsmon sinks test NAME``: the sample alert through a real sink to a loopback receiver,
and the receiver's answer printed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from aiohttp import web

from tests.conftest import WEBHOOK_SECRET, Receiver
from tests.test_cli import newsmon


@pytest.fixture
async def chat() -> AsyncIterator[tuple[str, list[dict]]]:
    """A Slack-like receiver on 127.0.0.1 that answers 400 ``invalid_payload``."""
    got: list[dict] = []

    async def hook(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.Response(status=400, text="invalid_payload")

    app = web.Application()
    app.router.add_post("/services/T1/B1/secret-token", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}/services/T1/B1/secret-token", got
    await runner.cleanup()


def _config(write_config, tmp_path: Path, receiver: Receiver, chat_url: str) -> Path:
    return write_config(
        f"state: sqlite:///{tmp_path / 's.db'}\n"
        "feeds:\n  - url: http://127.0.0.1:9/f.xml\n"
        "rules:\n  - id: football\n    query: 'timnas'\n    sinks: [hook]\n"
        "  - id: belarus\n    query: 'Lukashenko'\n    sinks: [hook]\n"
        f"sinks:\n  hook:\n    type: webhook\n    url: {receiver.url}\n"
        f"    secret: {WEBHOOK_SECRET}\n"
        f"  chat:\n    type: slack\n    url: {chat_url}\n"
    )


async def test_the_sample_goes_through_a_webhook_signed_as_a_real_alert(
    write_config, tmp_path: Path, receiver: Receiver, chat
) -> None:
    config = _config(write_config, tmp_path, receiver, chat[0])
    code, out, err = await newsmon("sinks", "test", "hook", "--config", str(config))
    assert code == 0, err
    [delivery] = receiver.deliveries  # verified as Standard Webhooks by the fixture
    lines = out.splitlines()
    assert lines[0] == f"hook (webhook): sent {delivery.id}, delivered"
    assert (
        lines[1]
        == "  alert: rule belarus, 'Belarusia dan Rusia Tanggapi Ancaman Politik Eksternal'"
    )
    assert lines[2] == "  answer: HTTP 204 No Content"
    payload = delivery.json
    assert payload["type"] == "article.matched"
    assert payload["data"]["rule"]["id"] == "belarus"  # the first of the sink's rules that matches
    assert {hit["text"] for hit in payload["data"]["hits"]} == {"Lukashenko"}
    schema = json.loads(
        resources.files("monitor.data").joinpath("webhook-payload.schema.json").read_text()
    )
    jsonschema.validate(payload, schema)

    code, out, _ = await newsmon("sinks", "test", "hook", "--json", "--config", str(config))
    report = json.loads(out)
    assert report["delivered"] is True
    assert report["id"] != delivery.id  # a new id each time: receivers' dedupe shows it again
    assert len(receiver.deliveries) == 2


async def test_a_refusal_is_shown_with_the_receivers_answer_and_exit_1(
    write_config, tmp_path: Path, receiver: Receiver, chat
) -> None:
    url, got = chat
    config = _config(write_config, tmp_path, receiver, url)
    code, out, _ = await newsmon("sinks", "test", "chat", "--config", str(config))
    assert code == 1
    lines = out.splitlines()
    assert lines[0].endswith(", failed: HTTP 400")
    assert lines[1].startswith("  alert: rule newsmon-sinks-test, ")  # no rule of its own matched
    assert lines[2] == "  answer: HTTP 400 Bad Request: invalid_payload"
    assert "secret-token" not in out
    [message] = got
    assert "Belarusia dan Rusia" in message["text"]  # rendered by the slack sink's template

    code, _, err = await newsmon("sinks", "test", "nope", "--config", str(config))
    assert (code, err.strip()) == (1, f"no sink 'nope' in {config}")
