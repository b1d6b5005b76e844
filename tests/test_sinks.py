"""Chat, email and Apprise sinks against real local counterparts, fed by a malicious feed.

A feed item whose title carries a CRLF + ``Bcc:`` header, a ``<script>``, Slack's ``<!channel>``,
Discord's ``@everyone`` and a user mention goes through the whole daemon to a loopback chat
server (Slack, Discord and Telegram formats) and a real SMTP server (aiosmtpd): nothing arrives
live, and no secret reaches the logs.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from monitor.base.errors import SinkError
from monitor.base.settings import EmailSinkSpec
from monitor.base.types import Alert, AlertKind
from monitor.config import load_config
from monitor.stages.message import Renderer, escape_discord, escape_slack, plain
from monitor.stages.sinks import EmailSink
from monitor.store import Store
from tests.configs import rule
from tests.conftest import FakeClock, FeedServer, Receiver, run_once

EVIL_ITEM = (
    "<item><title>Belarus &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; "
    "&lt;!channel&gt; @everyone &lt;@U123&gt;&#13;&#10;Bcc: victim@example.org</title>"
    "<link>https://evil.example/a?x=1&amp;y=2</link><guid>evil-1</guid>"
    "<description>&lt;p&gt;Minsk &lt;script&gt;alert(2)&lt;/script&gt;"
    "&lt;img src=x onerror=alert(3)&gt; Belarus &lt;!here&gt; @here "
    "[click](https://phish.example)&lt;/p&gt;</description></item>"
)
EVIL_FEED = (
    '<?xml version="1.0"?><rss version="2.0"><channel><title>Evil</title>'
    f"{EVIL_ITEM}</channel></rss>"
).encode()

SLACK_TOKEN = "T0001/B0001/slacktokensecret"
DISCORD_TOKEN = "4242/discordtokensecret"
TELEGRAM_TOKEN = "123456:telegramtokensecret"
SECRETS = ("slacktokensecret", "discordtokensecret", "telegramtokensecret", "smtppasswordsecret")


@dataclass
class ChatServer:
    """Slack, Discord and Telegram endpoints on 127.0.0.1, answering as the real ones do."""

    posts: dict[str, list[Any]] = field(default_factory=dict)
    runner: web.AppRunner | None = None
    base: str = ""
    telegram_answers: list[web.Response] = field(default_factory=list)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/services/{token:.*}", self._slack)
        app.router.add_post("/api/webhooks/{token:.*}", self._discord)
        app.router.add_post("/bot{token}/sendMessage", self._telegram)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.base = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def record(self, kind: str, request: web.Request, body: Any) -> None:
        self.posts.setdefault(kind, []).append({"path": request.path_qs, "json": body})

    async def _slack(self, request: web.Request) -> web.Response:
        self.record("slack", request, await request.json())
        return web.Response(text="ok")

    async def _discord(self, request: web.Request) -> web.Response:
        self.record("discord", request, await request.json())
        return web.json_response({"id": "1", "content": "..."})

    async def _telegram(self, request: web.Request) -> web.Response:
        self.record("telegram", request, await request.json())
        if self.telegram_answers:
            return self.telegram_answers.pop(0)
        return web.json_response({"ok": True, "result": {"message_id": 1}})


@pytest.fixture
async def chat() -> AsyncIterator[ChatServer]:
    server = ChatServer()
    await server.start()
    yield server
    await server.stop()


@dataclass
class Mailbox:
    """What a real SMTP server (aiosmtpd, on 127.0.0.1) received."""

    port: int
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox(free_port())
    controller = Controller(mailbox, hostname="127.0.0.1", port=mailbox.port)
    controller.start()
    yield mailbox
    controller.stop()


async def test_a_malicious_feed_arrives_inert_in_slack_discord_telegram_and_email(
    write_config,
    tmp_path: Path,
    feeds: FeedServer,
    chat: ChatServer,
    smtp: Mailbox,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = feeds.set("evil.xml", EVIL_FEED)
    config = write_config(
        defaults={"backfill": "all"},
        feeds=[{"url": url, "name": "Evil <b>Feed</b> @everyone"}],
        rules=[rule("belarus", "Belarus*", name="Belarus")],
        sinks={
            "slack": {"type": "slack", "url": f"{chat.base}/services/{SLACK_TOKEN}"},
            "discord": {"type": "discord", "url": f"{chat.base}/api/webhooks/{DISCORD_TOKEN}"},
            "telegram": {
                "type": "telegram",
                "token": TELEGRAM_TOKEN,
                "chat_id": "-1001234",
                "api_url": chat.base,
            },
            "mail": {
                "type": "email",
                "host": "127.0.0.1",
                "port": smtp.port,
                "security": "none",
                "from": "newsmon <newsmon@example.org>",
                "to": "desk@example.org",
            },
        },
    )
    async with asyncio.timeout(30):
        summary = await run_once(config, clock)
    assert summary.deliveries == {"delivered": 4}

    [slack] = chat.posts["slack"]
    text = slack["json"]["text"]
    assert slack["json"]["link_names"] is False
    for live in ("<!channel>", "<!here>", "<@U123>", "<script", "onerror"):
        assert live not in text
    assert "&lt;@U123&gt;" in text  # shown as text
    # The only markup left is the article link newsmon made itself.
    assert re.findall(r"<[^>]*>", text) == [
        "<https://evil.example/a?x=1&amp;y=2|Belarus @everyone &lt;@U123&gt; "
        "Bcc: victim@example.org>"
    ]

    [discord] = chat.posts["discord"]
    assert discord["path"].endswith("?wait=true")
    assert discord["json"]["allowed_mentions"] == {"parse": []}
    content = discord["json"]["content"]
    for live in ("@everyone", "@here", "<@U123>", "<script", "onerror"):
        assert live not in content
    assert "@\u200beveryone" in content
    assert "\nhttps://evil.example/a?x=1&y=2\n" in content  # a link stays a working link

    [telegram] = chat.posts["telegram"]
    assert telegram["path"] == f"/bot{TELEGRAM_TOKEN}/sendMessage"
    assert telegram["json"]["parse_mode"] == "HTML"
    assert telegram["json"]["chat_id"] == "-1001234"
    message = telegram["json"]["text"]
    tags = {t.split()[0] for t in re.findall(r"</?([a-z]+[^>]*)>", message)}
    assert tags <= {"b", "i", "a", "blockquote"}
    assert "<script" not in message
    assert "&lt;@U123&gt;" in message

    [(recipients, raw)] = smtp.messages
    assert recipients == ["desk@example.org"]
    mail = message_from_bytes(raw, policy=policy.default)
    assert isinstance(mail, EmailMessage)
    assert mail.get_all("Bcc") is None
    assert mail["To"] == "desk@example.org"
    assert "\n" not in mail["Subject"]
    assert "\r" not in mail["Subject"]
    assert mail["Subject"].startswith("[newsmon] Belarus: Belarus")
    assert "Bcc: victim@example.org" in mail["Subject"]  # as words in the subject, not a header
    body = mail.get_content()
    assert mail.get_content_type() == "text/plain"
    for live in ("<script", "onerror", "<p>", "<img"):
        assert live not in body
    assert "https://evil.example/a?x=1&y=2" in body
    assert mail["Message-ID"].startswith("<msg_")

    logged = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in logged.out + logged.err


async def test_chat_errors_never_carry_the_token(
    write_config, tmp_path: Path, feeds: FeedServer, clock: FakeClock, capsys
) -> None:
    """A Telegram API that cannot be reached: the stored error and the logs hide the token."""
    url = feeds.set("evil.xml", EVIL_FEED)
    closed = f"http://127.0.0.1:{free_port()}"
    config = write_config(
        f"state: sqlite:///{tmp_path / 's.db'}\ndefaults: {{backfill: all, allow_private: true}}\n"
        f"feeds: [{{url: '{url}'}}]\nrules: [{{id: b, query: 'Belarus'}}]\n"
        f"sinks:\n  tg: {{type: telegram, token: '{TELEGRAM_TOKEN}', chat_id: 1, "
        f"api_url: '{closed}'}}\n"
    )
    summary = await run_once(config, clock)
    assert summary.deliveries == {"retry": 1}
    store = await Store.open(load_config(config).settings.state, clock)
    try:
        [pending] = await store.list_alerts(state="pending")
    finally:
        await store.close()
    assert pending["last_error"]
    assert "telegramtokensecret" not in pending["last_error"]
    logged = capsys.readouterr()
    assert "telegramtokensecret" not in logged.out + logged.err


async def test_telegram_flood_control_wait_is_honoured(chat: ChatServer) -> None:
    """Telegram's 429 carries its wait in the JSON body, not always in a header."""
    from aiohttp import ClientSession

    from monitor.base.settings import TelegramSinkSpec
    from monitor.stages.sinks import TelegramSink

    chat.telegram_answers.append(
        web.json_response(
            {"ok": False, "error_code": 429, "parameters": {"retry_after": 17}}, status=429
        )
    )
    spec = TelegramSinkSpec.model_validate(
        {"type": "telegram", "token": TELEGRAM_TOKEN, "chat_id": 5, "api_url": chat.base}
    )
    async with ClientSession() as session:
        sink = TelegramSink("tg", spec, session)
        with pytest.raises(SinkError) as info:
            await sink.deliver(evil_alert("Belarus"))
        assert info.value.retry_after == 17
        assert "telegramtokensecret" not in str(info.value)
        await sink.deliver(evil_alert("Belarus"))
    assert [p["json"]["chat_id"] for p in chat.posts["telegram"]] == [5, 5]


def evil_alert(title: str) -> Alert:
    payload = {
        "type": "article.matched",
        "timestamp": "2026-11-25T12:00:00Z",
        "data": {
            "version": 1,
            "article": {"title": title, "url": "https://a.example/1", "feed": {"name": "F"}},
            "rule": {"id": "r", "name": "R"},
            "terms": ["x"],
            "hits": [],
        },
    }
    return Alert("msg_evil", "mail", "r", AlertKind.MATCHED, payload, 1, datetime.now(UTC))


async def test_email_headers_cannot_be_injected_even_from_a_raw_payload(smtp: Mailbox) -> None:
    """CR, LF and the Unicode line separators in a title give one Subject line and no Bcc."""
    spec = EmailSinkSpec.model_validate(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": smtp.port,
            "security": "none",
            "from": "n@example.org",
            "to": ["desk@example.org"],
        }
    )
    sink = EmailSink("mail", spec)
    async with asyncio.timeout(10):
        await sink.deliver(evil_alert("Hi\r\nBcc: a@evil.example\n\rX: y\u2028Cc: b@evil.example"))
    [(recipients, raw)] = smtp.messages
    assert recipients == ["desk@example.org"]
    mail = message_from_bytes(raw, policy=policy.default)
    assert mail.get_all("Bcc") is None
    assert mail.get_all("Cc") is None
    assert mail.get_all("X") is None
    assert mail["Subject"] == "[newsmon] R: Hi Bcc: a@evil.example X: y Cc: b@evil.example"


async def test_an_unreachable_smtp_server_is_a_retryable_failure() -> None:
    spec = EmailSinkSpec.model_validate(
        {
            "type": "email",
            "host": "127.0.0.1",
            "port": free_port(),
            "security": "none",
            "from": "n@example.org",
            "to": "desk@example.org",
            "password": "smtppasswordsecret",
            "username": "n",
            "timeout": "2s",
        }
    )
    with pytest.raises(SinkError) as info:
        async with asyncio.timeout(10):
            await EmailSink("mail", spec).deliver(evil_alert("t"))
    assert not info.value.permanent
    assert "smtppasswordsecret" not in str(info.value)


async def test_apprise_delivers_through_its_json_plugin(
    write_config, tmp_path: Path, feeds: FeedServer, receiver: Receiver, clock: FakeClock
) -> None:
    """Apprise (optional extra) as the catch-all: its json:// plugin posts to a loopback URL."""
    pytest.importorskip("apprise")
    receiver.unsigned = True  # Apprise posts its own JSON, not a Standard Webhook
    url = feeds.set("evil.xml", EVIL_FEED)
    target = receiver.url.replace("http://", "json://")
    config = write_config(
        f"state: sqlite:///{tmp_path / 's.db'}\ndefaults: {{backfill: all, allow_private: true}}\n"
        f"feeds: [{{url: '{url}'}}]\nrules: [{{id: b, name: Belarus, query: 'Belarus'}}]\n"
        f"sinks:\n  any: {{type: apprise, urls: '{target}'}}\n"
    )
    async with asyncio.timeout(30):
        summary = await run_once(config, clock)
    assert summary.deliveries == {"delivered": 1}
    [delivery] = receiver.deliveries
    body = json.loads(delivery.body)
    assert body["title"].startswith("[newsmon] Belarus: Belarus")
    assert "<script" not in body["message"]
    assert "https://evil.example/a?x=1&y=2" in body["message"]


# --- formats, one function at a time ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("<script>alert(1)</script>Hi &amp; bye", "Hi & bye"),
        ("&amp;lt;script&amp;gt;x&amp;lt;/script&amp;gt;y", "y"),  # double-encoded markup
        ('<img src=x onerror="alert(1)">t', "t"),
        ("a < b > c", "a < b > c"),
        ("&lt;!channel&gt;", ""),  # markup once decoded is markup: cleaned again
        ("&lt;@U123&gt; a &lt; b", "<@U123> a < b"),  # text now; each sink escapes it
        ("one\r\ntwo\x01three", "one\ntwo three"),
    ],
)
def test_feed_text_becomes_plain_text(raw: str, text: str) -> None:
    assert plain(raw) == text


def test_slack_escapes_exactly_three_characters() -> None:
    assert escape_slack("<!channel> & <@U1> *b* _i_ 'q' \"d\"") == (
        "&lt;!channel&gt; &amp; &lt;@U1&gt; *b* _i_ 'q' \"d\""
    )


def test_discord_breaks_mentions_and_escapes_markdown() -> None:
    escaped = escape_discord("@everyone @here <@123> <@&9> <#5> **b** [x](https://p.example)")
    assert "@everyone" not in escaped
    assert "@here" not in escaped
    assert "<@123>" not in escaped
    assert "<@&9>" not in escaped
    assert "<#5>" not in escaped
    assert "\\*\\*b\\*\\*" in escaped
    assert "\\[x\\]" in escaped


def test_a_template_cannot_escape_the_sandbox() -> None:
    """A template that reaches for Python internals fails the delivery (dead, not a crash)."""
    payload = evil_alert("t").payload
    with pytest.raises(SinkError) as info:
        Renderer("text", template="{{ ''.__class__.__mro__[1].__subclasses__() }}").render(payload)
    assert info.value.permanent


def test_a_custom_template_prints_escaped_values_and_literal_markup() -> None:
    """The template's own text stays as written; values from the feed are escaped."""
    payload = evil_alert("<@U1> & co").payload
    text = Renderer("slack", template="<!here> {{ title }} ({{ rule }})").render(payload)
    assert text == "<!here> &lt;@U1&gt; &amp; co (R)"


def test_updated_and_digest_payloads_have_default_texts() -> None:
    alert = evil_alert("Sanksi baru").payload
    updated = {**alert, "type": "article.updated"}
    updated["data"] = {**alert["data"], "diff": {"fields": ["title"]}}
    for fmt in ("slack", "discord", "telegram", "text"):
        text = Renderer(fmt).render(updated)
        assert "Updated" in text
        assert "Changed: title" in text
        digest = {
            "type": "digest",
            "data": {"since": None, "items": [{"type": "article.matched", **alert["data"]}] * 3},
        }
        assert "3 alerts" in Renderer(fmt).render(digest)
