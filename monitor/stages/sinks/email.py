"""The ``email`` sink: one mail per alert over SMTP (aiosmtplib), text/plain.

The message is built with :class:`email.message.EmailMessage`, which refuses a line break in a
header value, and the subject is made one line before that: a feed title with ``\\r\\nBcc:``
can neither add a header nor break the send. ``Message-ID`` is derived from the alert id, so a
repeated delivery is recognisably the same mail.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from monitor.base.errors import SinkError
from monitor.base.settings import EmailSinkSpec
from monitor.base.types import Alert
from monitor.stages.message import Renderer, render_subject
from monitor.stages.sinks.http import receipt, redact

MAX_TEXT = 100_000


@dataclass
class EmailSink:
    name: str
    spec: EmailSinkSpec
    renderer: Renderer = field(init=False)

    def __post_init__(self) -> None:
        self.renderer = Renderer(
            "text", self.spec.template, self.spec.digest_template, limit=MAX_TEXT
        )

    def message(self, alert: Alert) -> EmailMessage:
        domain = parseaddr(self.spec.sender)[1].rpartition("@")[2] or "newsmon.invalid"
        msg = EmailMessage()
        msg["Subject"] = render_subject(self.spec.subject, alert.payload)
        msg["From"] = self.spec.sender
        msg["To"] = ", ".join(self.spec.to)
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = f"<{alert.id}@{domain}>"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to alerts
        msg.set_content(self.renderer.render(alert.payload))
        return msg

    async def deliver(self, alert: Alert) -> None:
        spec = self.spec
        password = spec.password.get_secret_value() if spec.password else None
        try:
            async with asyncio.timeout(spec.timeout):
                _, answer = await aiosmtplib.send(
                    self.message(alert),
                    hostname=spec.host,
                    port=spec.smtp_port,
                    username=spec.username,
                    password=password,
                    use_tls=spec.security == "tls",
                    start_tls=spec.security == "starttls",
                    timeout=spec.timeout,
                )
        except TimeoutError as e:
            raise SinkError(f"no answer within {spec.timeout:g}s") from e
        except (aiosmtplib.SMTPException, OSError) as e:
            raise SinkError(redact(f"{type(e).__name__}: {e}", [password or ""])) from e
        receipt.set(f"SMTP: {answer}")
