"""What a feed update tells the log: one ``feed.updated`` line per poll, and the changes of state an
operator should see once (relocated, disabled, failing, identified differently)."""

from __future__ import annotations

import structlog

from monitor.base.settings import PollPolicy
from monitor.base.types import (
    FeedForUpdate,
    FeedUpdateIntent,
    IdentityMode,
    PollStatus,
    UpdateResult,
)

log = structlog.get_logger("newsmon.feed")

_CHAIN_REASON = {
    IdentityMode.GUID: "GUIDs repeat across entries or change between fetches",
    IdentityMode.LINK: "links repeat across different entries",
}


async def log_update(result: UpdateResult, seconds: float) -> None:
    fields = {
        "status": result.status,
        "new": result.new,
        "updated": result.updated,
        "matched": result.matched,
        "alerts": result.alerts,
        "ms": round(seconds * 1000),
    }
    if result.error:
        await log.awarning("feed.updated", **fields, error=result.error)
    else:
        await log.ainfo("feed.updated", **fields)


async def announce(feed: FeedForUpdate, intent: FeedUpdateIntent, policy: PollPolicy) -> None:
    """Log the changes of state an operator should see once, not on every poll."""
    if intent.relocation is not None:
        await log.awarning(
            "feed.relocated",
            fetch_from=intent.relocation.url,
            was=feed.fetch_url,
            reason=intent.relocation.source,
            hint="the config keeps the old URL as the feed's identity; update it when ready",
        )
    if intent.status is PollStatus.GONE:
        await log.aerror("feed.disabled", reason=intent.error)
    elif intent.failing and feed.consecutive_failures < policy.failing_after:
        await log.aerror(
            "feed.failing",
            failures=feed.consecutive_failures + 1,
            retry_in=round((intent.next_poll_at - intent.attempted_at).total_seconds()),
        )


async def announce_identity(was: IdentityMode, now: IdentityMode) -> None:
    how = {IdentityMode.LINK: "their links", IdentityMode.HASH: "their text"}[now]
    await log.awarning(
        "feed.identity",
        was=was,
        now=now,
        reason=f"the feed's {_CHAIN_REASON[was]}: entries are told apart by {how}",
    )
