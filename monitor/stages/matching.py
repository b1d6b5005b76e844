"""Which rules alert for a decided entry, with what payload: the match stage. Pure.

A new entry alerts every rule it matches (the store drops an alert for a story the rule
already alerted on). An edit alerts a rule that did not match before as new, and a rule that
already alerted on the story only if it asks for ``notify_updates`` (an ``article.updated``
with the diff); other edits are silent. A rule that matches an entry recorded without alert
(the first sync) does not alert when that entry is edited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.base.settings import FeedPolicy, RuleSpec
from monitor.base.types import AlertDraft, ChangeKind, EntryChange, EntryWrite, ParsedEntry
from monitor.stages.alerts import article_data, matched_payload
from monitor.stages.articles import article_from_entry
from monitor.stages.facts import sketch_of
from monitor.stages.rules import Article, RuleSet


@dataclass(frozen=True)
class Matcher:
    """The compiled rules, their specs by id, and the sinks each rule delivers to."""

    rules: RuleSet
    specs: Mapping[str, RuleSpec]
    sinks: Mapping[str, tuple[str, ...]]

    def plan(
        self,
        change: EntryChange,
        feed: FeedPolicy,
        alerted: Mapping[int, set[str]],
        now: datetime,
        *,
        shared_link: bool = False,
    ) -> EntryWrite:
        """The entry to write with its matches and alerts. ``alerted``: the rules that already
        matched each edited entry's story; ``shared_link``: other entries of the document
        share the entry's link, so it identifies no story."""
        entry = change.entry
        sketch = sketch_of(entry) if change.kind is ChangeKind.NEW else None
        write = EntryWrite(change, sketch=sketch, link_is_identity=not shared_link)
        if not change.alert:
            return write
        text = article_of(entry, feed)
        found = self.rules.match(text)
        if not found:
            return write
        before, story_alerted = self._before_edit(change, feed, alerted)
        article = article_data(feed, change)
        matches, alerts = [], []
        for match in found:
            rule = self.specs[match.rule_id]
            diff = None
            if rule.id in story_alerted:
                if not rule.notify_updates:
                    continue
                diff = change.diff
            elif rule.id in before:
                continue  # it matched before the edit too, when it was recorded without alert
            payload = matched_payload(
                article, text, rule, match, now, revision=change.revision, diff=diff
            )
            matches.append((rule.id, payload["data"]["hits"]))
            alerts += [
                AlertDraft(None, sink, rule.id, payload["type"], payload)
                for sink in self.sinks[rule.id]
            ]
        return replace(write, matches=tuple(matches), alerts=tuple(alerts))

    def _before_edit(
        self, change: EntryChange, feed: FeedPolicy, alerted: Mapping[int, set[str]]
    ) -> tuple[set[str], set[str]]:
        """For a material edit: the rules the entry matched before it, and the rules that
        already alerted on its story."""
        stored = change.stored
        if not change.material or stored is None or stored.text is None:
            return set(), set()
        title, summary, content = stored.text
        old = replace(change.entry, title=title, summary=summary, content=content)
        before = {m.rule_id for m in self.rules.match(article_of(old, feed))}
        return before, alerted.get(stored.story_id or 0, set())


def article_of(entry: ParsedEntry, feed: FeedPolicy) -> Article:
    """The matcher's view of an entry of ``feed``."""
    return article_from_entry(entry, feed=feed.label, feed_url=feed.url, tags=feed.tags)
