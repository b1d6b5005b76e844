"""How each rule term is understood: its normal form, its stems, its fuzziness.

``newsmon test-rules --explain`` prints this so that surprises are visible while a rule is
written: ``menanggapi`` and ``menganggap`` share the Indonesian stem ``anggap``; ``sanksi~1``
also allows ``saksi``.
"""

from __future__ import annotations

from typing import Any

from monitor.stages.rules.engine import RuleDefinition
from monitor.stages.rules.language import STEMMED, stemmer
from monitor.stages.rules.query import (
    FAMILY,
    Fuzzy,
    Node,
    Phrase,
    Regex,
    Term,
    Wildcard,
    Word,
    iter_terms,
)

_MODES = {
    FAMILY: "word family (stem or exact form)",
    "exact": "exact form",
    "case": "exact, case-sensitive",
}


def _stems(words: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for language in STEMMED:
        found = stemmer(language)
        if found is not None:
            out[language] = " ".join(found.stemWords(list(words)))
    return out


def explain_term(term: Term) -> dict[str, Any]:
    """A description of one term as the matcher uses it."""
    if isinstance(term, Word):
        info: dict[str, Any] = {"kind": _MODES[term.mode], "normal": term.word}
        if term.mode == FAMILY:
            info["stems"] = _stems((term.word,))
        return info
    if isinstance(term, Phrase):
        info = {"kind": "phrase, " + _MODES[term.mode], "normal": " ".join(term.words)}
        if term.mode == FAMILY:
            info["stems"] = _stems(term.words)
        return info
    if isinstance(term, Wildcard):
        kind = "prefix" if term.pattern.endswith("*") else "wildcard (? is one character)"
        return {"kind": kind, "normal": term.pattern}
    if isinstance(term, Fuzzy):
        return {
            "kind": f"up to {term.edits} typo(s), optimal string alignment",
            "normal": term.word,
        }
    assert isinstance(term, Regex)
    return {"kind": "regular expression over the normal text", "normal": term.pattern}


def explain_tree(tree: Node, *, negated: bool = False) -> list[dict[str, Any]]:
    rows = []
    for term, positive in iter_terms(tree):
        rows.append(
            {
                "term": term.source,
                "counts": "must not occur" if positive == negated else "positive",
                **explain_term(term),
            }
        )
    return rows


def explain_rule(definition: RuleDefinition) -> list[dict[str, Any]]:
    rows = explain_tree(definition.query)
    if definition.exclude is not None:
        rows += [{**row, "counts": "excludes"} for row in explain_tree(definition.exclude)]
    return rows


def format_explanation(definition: RuleDefinition) -> list[str]:
    lines = [
        f"rule {definition.id}: fields {', '.join(definition.fields)}"
        + (f"; languages {', '.join(definition.languages)}" if definition.languages else "")
    ]
    for row in explain_rule(definition):
        stems = row.get("stems")
        stem_text = "  stems " + ", ".join(f"{k}={v}" for k, v in stems.items()) if stems else ""
        lines.append(
            f"  {row['term']:<24} {row['counts']:<14} {row['kind']}: {row['normal']}{stem_text}"
        )
    return lines
