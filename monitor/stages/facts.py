"""What an entry's link and text alone give, derived once, where the entry was parsed.

Its canonical link and hashes (identity), the language its text is clearly in and its story
sketch cost more than parsing the entry did (a sketch hashes every three-word shingle). The
parse workers derive them beside parsing (:func:`with_facts`), so that both cores share that
work and the event loop's process looks them up. An entry whose text is no longer the one its
facts came from (a teaser's text replaced by its article page's) has them worked out again
where they are needed: :func:`facts_of` gives only facts that still hold.
"""

from __future__ import annotations

from dataclasses import replace

from monitor.base.types import EntryFacts, ParsedEntry
from monitor.stages.identity import canonical_url, content_hash
from monitor.stages.stories import material_hash, story_sketch
from monitor.stages.textlang import detect_language


def _source(entry: ParsedEntry) -> tuple[str | None, str, str, str]:
    return (entry.link, entry.title, entry.summary, entry.content)


def derive(entry: ParsedEntry) -> EntryFacts:
    return EntryFacts(
        source=_source(entry),
        canonical_url=canonical_url(entry.link) if entry.link else None,
        content_hash=content_hash(entry),
        material_hash=material_hash(entry.title, entry.summary, entry.content),
        detected_language=detect_language(language_text(entry)),
        sketch=entry_sketch(entry),
    )


def with_facts(entry: ParsedEntry) -> ParsedEntry:
    """``entry`` carrying its facts (a parse worker's last step for each entry)."""
    return replace(entry, facts=derive(entry))


def facts_of(entry: ParsedEntry) -> EntryFacts | None:
    """The facts ``entry`` carries, if they were derived from its present link and text."""
    facts = entry.facts
    # The strings are the very objects the facts were derived from (pickling keeps shared
    # references), so the comparison is by identity unless the text was replaced.
    if facts is None or facts.source != _source(entry):
        return None
    return facts


def language_text(entry: ParsedEntry) -> str:
    """The text an entry's language is told from."""
    return f"{entry.title}\n{entry.summary}\n{entry.content}"


def entry_sketch(entry: ParsedEntry) -> tuple[int, ...] | None:
    """The story sketch of an entry: its title and its longer body."""
    body = entry.content if len(entry.content) > len(entry.summary) else entry.summary
    return story_sketch(entry.title, body)


def sketch_of(entry: ParsedEntry) -> tuple[int, ...] | None:
    facts = facts_of(entry)
    return facts.sketch if facts is not None else entry_sketch(entry)


def detected_language_of(entry: ParsedEntry) -> str | None:
    facts = facts_of(entry)
    return facts.detected_language if facts is not None else detect_language(language_text(entry))
