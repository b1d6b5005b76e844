"""``newsmon sinks test NAME``: the seed article through a sink, exactly as an alert would go.

The sample is a real alert payload: the bundled seed article (Belarus and sanctions, in
Indonesian) matched by the first of the sink's rules that matches it, else by a stand-in rule
(``newsmon-sinks-test``), rendered and signed by the sink's own code. Its id is new at each
test, so a receiver that drops repeated ids still shows it. Nothing is written to the store.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from importlib import resources
from typing import Any

from monitor.base.clock import utcnow
from monitor.base.errors import SinkError
from monitor.base.settings import FeedPolicy, FeedSpec, RuleSpec, sink_names_for
from monitor.base.types import Alert, AlertKind, ChangeKind, EntryChange
from monitor.config import LoadedConfig
from monitor.stages.alerts import article_data, matched_payload
from monitor.stages.matching import article_of
from monitor.stages.parse import parse_feed
from monitor.stages.rules import RuleDefinition, RuleSet, parse_query
from monitor.stages.sinks import build_sink
from monitor.stages.sinks.http import make_sink_session, receipt

SEED_URL = "https://www.tagar.id/rss/internasional"
STAND_IN = RuleSpec(id="newsmon-sinks-test", name="newsmon sinks test", query="Belarus*")


def sample_alert(loaded: LoadedConfig, sink: str, now: datetime) -> Alert:
    body = resources.files("monitor.data").joinpath("seed-feed.xml").read_bytes()
    feed = parse_feed(body, SEED_URL, {})
    entry = feed.entries[0]
    policy = FeedPolicy.resolve(loaded.settings, FeedSpec(url=SEED_URL, name=feed.title))
    text = article_of(entry, policy)
    wanted = {r.id for r in loaded.settings.rules if sink in sink_names_for(r, loaded.settings)}
    found = [m for m in loaded.rules.match(text) if m.rule_id in wanted]
    if found:
        match = found[0]
        rule = next(r for r in loaded.settings.rules if r.id == match.rule_id)
    else:
        assert STAND_IN.query is not None
        stand_in = RuleSet.build([RuleDefinition(STAND_IN.id, parse_query(STAND_IN.query))])
        match, rule = stand_in.match(text)[0], STAND_IN
    change = EntryChange(ChangeKind.NEW, "sample", entry, entry.link, "", alert=True)
    payload = matched_payload(article_data(policy, change), text, rule, match, now)
    return Alert(f"msg_test_{uuid.uuid4().hex}", sink, rule.id, AlertKind.MATCHED, payload, 1, now)


async def send_sample(loaded: LoadedConfig, name: str) -> dict[str, Any]:
    """Send the sample; what the receiver answered, and whether it counts as delivered."""
    alert = sample_alert(loaded, name, utcnow())
    session = make_sink_session()
    report: dict[str, Any] = {
        "sink": name,
        "type": loaded.settings.sinks[name].type,
        "id": alert.id,
        "rule": alert.rule_id,
        "title": alert.payload["data"]["article"]["title"],
    }
    receipt.set(None)
    try:
        await build_sink(name, loaded.settings.sinks[name], session).deliver(alert)
    except SinkError as e:
        report.update(delivered=False, error=str(e))
    else:
        report.update(delivered=True, error=None)
    finally:
        await session.close()
    report["answer"] = receipt.get()
    return report
