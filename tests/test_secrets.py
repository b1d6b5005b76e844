"""Secrets stay secret: refused when others can read them, never in any output."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import WEBHOOK_SECRET, FeedServer, Receiver
from tests.test_cli import newsmon

SLACK_TOKEN = "T0SECRET/B0SECRET/slack-path-token-value"
TELEGRAM_TOKEN = "123456:telegram-token-value"
SMTP_PASSWORD = "smtp-password-value"
SECRETS = (WEBHOOK_SECRET, SLACK_TOKEN, TELEGRAM_TOKEN, SMTP_PASSWORD, "slack-path-token-value")


def _config(write_config, tmp_path: Path, feed: str, hook: str, *, literal: bool) -> Path:
    secret = WEBHOOK_SECRET if literal else "${HOOK_SECRET}"
    return write_config(
        f"state: sqlite:///{tmp_path / 's.db'}\n"
        f"defaults:\n  backfill: all\n  allow_private: true\nfeeds:\n  - url: {feed}\n"
        "rules:\n  - id: belarus\n    query: 'Belarus*'\n"
        f"sinks:\n  hook:\n    type: webhook\n    url: {hook}\n    secret: {secret}\n"
        "    retries: []\n"
        "  chat:\n    type: slack\n    url: ${file:slack-url}\n    retries: []\n"
        "  bot:\n    type: telegram\n    token: ${TELEGRAM_TOKEN}\n    chat_id: '42'\n"
        "    api_url: http://127.0.0.1:9\n    retries: []\n"
        "  mail:\n    type: email\n    host: 127.0.0.1\n    port: 9\n    from: n@example.com\n"
        "    to: desk@example.com\n    username: newsmon\n    password: ${SMTP_PASSWORD}\n"
        "    retries: []\n"
    )


async def test_a_literal_secret_readable_by_others_is_refused_with_the_chmod(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    config = _config(write_config, tmp_path, feeds.url("f.xml"), receiver.url, literal=True)
    (tmp_path / "slack-url").write_text("http://127.0.0.1:9/services/x\n")
    (tmp_path / "slack-url").chmod(0o600)
    config.chmod(0o644)
    env = {"TELEGRAM_TOKEN": TELEGRAM_TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD}
    code, out, err = await newsmon("run", "--once", "--config", str(config), env=env)
    assert code == 1
    assert (
        f"{config}:14:13: sink 'hook': secret is written in this file, which others can read: "
        f"chmod o-rwx {config}" in err
    )
    assert "refusing to start" in err
    assert WEBHOOK_SECRET not in out + err
    assert not (tmp_path / "s.db").exists()  # it never started
    code, out, _ = await newsmon("check", "--config", str(config), env=env)
    assert code == 1
    assert f"chmod o-rwx {config}" in out
    assert "OK (" not in out

    config.chmod(0o600)
    code, out, _ = await newsmon("check", "--json", "--config", str(config), env=env)
    assert (code, json.loads(out)["ok"]) == (0, True)


async def test_a_file_reference_readable_by_others_is_a_warning(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver
) -> None:
    config = _config(write_config, tmp_path, feeds.url("f.xml"), receiver.url, literal=False)
    (tmp_path / "slack-url").write_text("http://127.0.0.1:9/services/x\n")
    config.chmod(0o644)  # no literal secret in it: fine
    env = {"HOOK_SECRET": WEBHOOK_SECRET, "TELEGRAM_TOKEN": TELEGRAM_TOKEN, "SMTP_PASSWORD": "x"}
    code, out, _ = await newsmon("check", "--config", str(config), env=env)
    assert code == 0
    assert (
        f"{config}:18:10: warning: sink 'chat': url is read from {tmp_path / 'slack-url'}, "
        "which others can read" in out
    )


async def test_no_secret_appears_in_any_output_of_the_daemon(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, seed_feed: bytes
) -> None:
    """Every sink fails (500, refused connections) with secrets set: the log, the summary and
    the commands' output never carry one."""
    url = feeds.set("f.xml", seed_feed)
    config = _config(write_config, tmp_path, url, receiver.url, literal=True)
    (tmp_path / "slack-url").write_text(f"http://127.0.0.1:9/services/{SLACK_TOKEN}\n")
    (tmp_path / "slack-url").chmod(0o600)
    env = {"TELEGRAM_TOKEN": TELEGRAM_TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD}
    receiver.answer(500)
    outputs = []
    _, out, err = await newsmon(
        "run", "--once", "--json", "--log-level", "debug", "--config", str(config), env=env
    )
    assert json.loads(out)["deliveries"] == {"dead": 4}, err
    outputs += [out, err]
    for command in (["check"], ["sinks"], ["sinks", "--json"], ["alerts"], ["alerts", "--json"],
                    ["status", "--json"], ["sinks", "test", "chat"], ["sinks", "test", "bot"],
                    ["sinks", "test", "mail"], ["feeds", "export"]):  # fmt: skip
        _, out, err = await newsmon(*command, "--config", str(config), env=env)
        outputs += [out, err]
    text = "\n".join(outputs)
    assert "HTTP 500" in text  # the failures are there
    assert "Connect" in text
    for secret in SECRETS:
        assert secret not in text
