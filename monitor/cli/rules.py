"""``newsmon test-rules``: match the rules against feeds, pages or text files, and say why."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from monitor.base.errors import MonitorError
from monitor.cli.common import OK, PROBLEM, load, print_json
from monitor.config import LoadedConfig
from monitor.stages.rules import snippet

MAX_SHOWN_HITS = 8


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    test_rules = commands.add_parser(
        "test-rules", parents=[common], help="match the rules against feeds, pages or text files"
    )
    test_rules.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="a feed file, a feed URL, an HTML or text article file, or -",
    )
    test_rules.add_argument(
        "--explain", action="store_true", help="show how each rule term is normalised and stemmed"
    )
    test_rules.add_argument(
        "--lang", help="match the articles in this language, as a feed's language: setting does"
    )
    test_rules.add_argument(
        "--allow-private",
        action="store_true",
        help="let a URL source be on loopback or a private network",
    )
    test_rules.set_defaults(func=cmd_test_rules)


def cmd_test_rules(args: argparse.Namespace) -> int:
    loaded = load(args)
    if loaded is None:
        return PROBLEM
    return asyncio.run(_test_rules(loaded, args))


async def _test_rules(loaded: LoadedConfig, args: argparse.Namespace) -> int:
    from monitor.cli.sources import entries_from, read_source
    from monitor.stages.articles import article_from_entry, resolve_language, with_language
    from monitor.stages.rules.explain import explain_rule, format_explanation

    rules = loaded.rules
    definitions = {rule.id: rule.definition for rule in rules.rules}
    if args.explain and not args.json:
        for definition in definitions.values():
            print("\n".join(format_explanation(definition)))
        print()
    code = OK
    for name in args.sources:
        try:
            allow_private = args.allow_private or loaded.settings.defaults.allow_private
            entries = entries_from(await read_source(name, allow_private=allow_private))
        except MonitorError as e:
            print(f"newsmon: {e}", file=sys.stderr)
            code = PROBLEM
            continue
        for entry in entries:
            decision = resolve_language(entry, args.lang, loaded.settings.defaults.language)
            entry = with_language(entry, decision)
            language = entry.language
            article = article_from_entry(entry, feed=name)
            found = rules.match(article)
            if args.json:
                matches = []
                for match in found:
                    item: dict[str, Any] = {
                        "rule": match.rule_id,
                        "hits": [h.to_dict() for h in match.hits],
                    }
                    if args.explain:
                        item["explain"] = explain_rule(definitions[match.rule_id])
                    matches.append(item)
                print_json(
                    {
                        "title": entry.title,
                        "url": entry.link,
                        "language": language,
                        "declared_language": entry.declared_language,
                        "detected_language": entry.detected_language,
                        "matches": matches,
                    }
                )
                continue
            print(f"== {entry.title or '(untitled)'}")
            shown = decision.describe() if language else "unknown, no stemming"
            print(f"   {entry.link or name}  [language: {shown}]")
            if not found:
                print("   no rule matched")
            for match in found:
                print(f"   {match.rule_id}")
                if len(match.hits) > MAX_SHOWN_HITS:
                    print(f"     ({len(match.hits)} hits; the first {MAX_SHOWN_HITS} shown)")
                for hit in match.hits[:MAX_SHOWN_HITS]:
                    quote = snippet(article.field(hit.field), hit.start, hit.end, 40)
                    print(
                        f"     {hit.field:<8} {hit.text!r} {hit.start}-{hit.end} "
                        f"<- {hit.term} ({hit.how})  {quote}"
                    )
            print()
    return code
