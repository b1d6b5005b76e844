"""How each rule term is understood: its normal form, its word family, its fuzziness.

``newsmon test-rules --explain`` prints this so that surprises are visible while a rule is
written: for a plain word, how its family is built in Indonesian and English, a sample of the
words it finds and of near words it deliberately does not (``menanggapi`` finds
menanggapinya and ditanggapi, not menganggap, which a stemmer would have made its family);
``sanksi~1`` also allows ``saksi``. The samples come from a vocabulary (wordfreq), loaded only
by the commands that explain.
"""

from __future__ import annotations

from typing import Any

from monitor.stages.rules.language import STEMMED
from monitor.stages.rules.model import RuleDefinition
from monitor.stages.rules.nodes import (
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
from monitor.stages.rules.overrides import NO_OVERRIDES, WordOverrides

_MODES = {
    FAMILY: "word family (the word and the words built on it)",
    "exact": "exact form",
    "case": "exact, case-sensitive",
}


def _families(term: Word, overrides: WordOverrides) -> dict[str, dict[str, Any]]:
    from monitor.stages.rules.vocabulary import describe_family  # wordfreq: the CLI only

    name = term.source[:1].isupper()  # Lukashenko: no sample made with verb affixes
    return {
        language: describe_family(term.word, language, overrides, name=name) for language in STEMMED
    }


def explain_term(term: Term, overrides: WordOverrides = NO_OVERRIDES) -> dict[str, Any]:
    """A description of one term as the matcher uses it."""
    if isinstance(term, Word):
        info: dict[str, Any] = {"kind": _MODES[term.mode], "normal": term.word}
        if term.mode == FAMILY:
            info["families"] = _families(term, overrides)
        return info
    if isinstance(term, Phrase):
        info = {"kind": "phrase, " + _MODES[term.mode], "normal": " ".join(term.words)}
        if term.mode == FAMILY:
            info["kind"] = "phrase, each word with its family"
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


def explain_tree(
    tree: Node, overrides: WordOverrides = NO_OVERRIDES, *, negated: bool = False
) -> list[dict[str, Any]]:
    rows = []
    for term, positive in iter_terms(tree):
        rows.append(
            {
                "term": term.source,
                "counts": "must not occur" if positive == negated else "positive",
                **explain_term(term, overrides),
            }
        )
    return rows


def explain_rule(
    definition: RuleDefinition, overrides: WordOverrides = NO_OVERRIDES
) -> list[dict[str, Any]]:
    rows = explain_tree(definition.query, overrides)
    if definition.exclude is not None:
        rows += [
            {**row, "counts": "excludes"} for row in explain_tree(definition.exclude, overrides)
        ]
    return rows


def format_explanation(
    definition: RuleDefinition, overrides: WordOverrides = NO_OVERRIDES
) -> list[str]:
    lines = [
        f"rule {definition.id}: fields {', '.join(definition.fields)}"
        + (f"; languages {', '.join(definition.languages)}" if definition.languages else "")
    ]
    for row in explain_rule(definition, overrides):
        lines.append(f"  {row['term']:<24} {row['counts']:<14} {row['kind']}: {row['normal']}")
        for language, family in row.get("families", {}).items():
            lines.append(f"      {language}: {family['built']}")
            finds = ", ".join(family["finds"]) or "(no other word in the vocabulary)"
            lines.append(f"          finds {finds}")
            if family["not"]:
                lines.append(f"          not   {', '.join(family['not'])}")
    return lines
