"""Benchmark: articles matched per second against 1,000 and 10,000 rules, on one core.

Articles are generated, deterministic and Indonesian-like: about 300 words each, drawn with a
Zipf distribution over 40,000 pseudo-roots, a quarter of them with me-/di-/ber-/-kan/-nya
affixes, some reduplicated (kata-kata, kata2), sentence capitals, punctuation, curly quotes.
About one word in fifteen is part of a name (a person, a company, a place), drawn with a Zipf
distribution from 100,000 names, a third of them two words long: names are an open class, far
larger than the common vocabulary, and most of them are seldom in the news.

Rules are what watch lists hold: mostly names (``Wirasena``, ``"Budi Santoso"``, ``Belarus*``),
then content words from outside the 1,000 most common words, phrases, prefixes of six letters
or more, and Boolean combinations of these; 15% of the terms occur in no article. Terms that
the stemmer folds into one of the 1,000 most common words are left out, as a writer who looks
at ``test-rules --explain`` would (with random pseudo-roots, ``kewoca`` stems to the
ubiquitous ``woca``). An earlier version drew every term uniformly from the vocabulary ranks
500 to 40,000: 10,000 rules then held a sixth of that small vocabulary, a few of them stemmed
into the commonest words, and every article matched, with 26 hits on average. The figures of
the two generators are not comparable.

    python bench/matching.py [--articles 3000] [--rules 1000 10000] [--seed 7]
        [--before REF] [--rounds 5]

``--before REF`` also loads the matcher as it was at git commit REF (its rules package, from
``git show``) and times the two back to back, alternating, on the same articles and rules: on a
shared, noisy machine only a comparison made at the same moment means anything. Each round is
one pass over the articles with caches warm (the first pass, which learns every word, is timed
apart as "cold"); the report gives medians and the ratio after/before.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from types import ModuleType
from typing import Any

from monitor.stages.rules import Article, RuleDefinition, RuleSet, parse_query
from monitor.stages.rules.language import stemmer

CONSONANTS = "bcdfghjklmnprstwy"
VOWELS = "aeiou"
PREFIXES = ["me", "mem", "men", "meng", "di", "ber", "ter", "pe", "ke"]
SUFFIXES = ["kan", "an", "i", "nya", "lah"]
NAME_ENDINGS = ["o", "a", "us", "wo", "sena", "ton", "ov", "ez"]
COMMON = 1_000  # the most common words: no watch rule is about these


def pseudo_root(rng: random.Random) -> str:
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.randint(2, 4)))


def vocabulary(rng: random.Random, size: int = 40_000) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < size:
        words[pseudo_root(rng)] = None
    return list(words)


def names(rng: random.Random, vocab: list[str], size: int = 100_000) -> list[str]:
    """Capitalised names, a third of them two words long. No part is a word of ``vocab`` or
    loses an affix to the stemmer, as most names in the news: Prabowo, Jakarta, Minsk."""
    indonesian = stemmer("id")
    assert indonesian is not None
    taken = set(vocab)
    found: dict[str, None] = {}
    while len(found) < size:
        parts = [
            pseudo_root(rng) + rng.choice(NAME_ENDINGS) for _ in range(1 + (rng.random() < 1 / 3))
        ]
        if taken.isdisjoint(parts) and indonesian.stemWords(parts) == parts:
            found[" ".join(part.capitalize() for part in parts)] = None
    return list(found)


class Corpus:
    """The words and names articles are drawn from, with their Zipf weights."""

    def __init__(self, rng: random.Random) -> None:
        self.vocab = vocabulary(rng)
        self.names = names(rng, self.vocab)
        self.word_weights = list(
            accumulate(1 / (rank + 1) ** 1.05 for rank in range(len(self.vocab)))
        )
        self.name_weights = list(accumulate(1 / (rank + 1) for rank in range(len(self.names))))

    def article(self, rng: random.Random, words: int = 300) -> Article:
        out: list[str] = []
        roots = iter(rng.choices(self.vocab, cum_weights=self.word_weights, k=words))
        while len(out) < words:
            if rng.random() < 0.05:  # with the two-word names, about one word in fifteen
                out += rng.choices(self.names, cum_weights=self.name_weights)[0].split()
                continue
            root = next(roots)
            roll = rng.random()
            word = root
            if roll < 0.12:
                word = rng.choice(PREFIXES) + root
            elif roll < 0.25:
                word = root + rng.choice(SUFFIXES)
            elif roll < 0.26:
                word = f"{root}-{root}"
            elif roll < 0.265:
                word = f"{root}2"
            if not out or out[-1].endswith("."):
                word = word.capitalize()
            if rng.random() < 0.08:
                word += rng.choice([".", ",", ".", "’s", "”"])
            out.append(word)
        text = " ".join(out)
        return Article(
            title=" ".join(out[:10]), summary=" ".join(out[10:40]), content=text, language="id"
        )


def make_rules(rng: random.Random, corpus: Corpus, count: int) -> list[RuleDefinition]:
    """Rules in the shapes users write, over the terms watch lists hold (see the docstring)."""
    return [
        RuleDefinition(rule_id, parse_query(query))
        for rule_id, query in make_queries(rng, corpus, count)
    ]


def make_queries(rng: random.Random, corpus: Corpus, count: int) -> list[tuple[str, str]]:
    """``(rule id, query)`` in the shapes users write (see :func:`make_rules`)."""
    indonesian = stemmer("id")
    assert indonesian is not None
    common = set(corpus.vocab[:COMMON])
    common.update(indonesian.stemWords(corpus.vocab[:COMMON]))
    stems = indonesian.stemWords(corpus.vocab[COMMON:])
    content = [
        w for w, stem in zip(corpus.vocab[COMMON:], stems, strict=True) if stem not in common
    ]
    long_words = [w for w in content if len(w) >= 6] + [
        n for n in corpus.names if " " not in n and len(n) >= 6
    ]

    def absent() -> str:
        return pseudo_root(rng) + "xq"

    def name() -> str:
        found = rng.choice(corpus.names) if rng.random() > 0.15 else absent().capitalize()
        return f'"{found}"' if " " in found else found

    def word() -> str:
        return rng.choice(content) if rng.random() > 0.15 else absent()

    def term() -> str:
        return name() if rng.random() < 0.6 else word()

    rules = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.45:
            query = name()
        elif roll < 0.60:
            query = word()
        elif roll < 0.70:
            query = '"' + " ".join(word() for _ in range(rng.randint(2, 3))) + '"'
        elif roll < 0.78:
            query = (rng.choice(long_words) if rng.random() > 0.15 else absent()) + "*"
        elif roll < 0.95:
            query = f"({term()} OR {term()}) AND {term()}"
        else:
            query = f"{term()} NEAR/5 {term()} AND NOT {word()}"
        rules.append((f"rule-{i}", query))
    return rules


def load_before(ref: str) -> ModuleType:
    """The rules package as it was at ``ref``, importable as ``rules_before`` (its modules'
    imports of each other rewritten; what they import from elsewhere is today's)."""
    root = Path(tempfile.mkdtemp(prefix="newsmon-bench-"))
    package = root / "rules_before"
    package.mkdir()
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", ref, "monitor/stages/rules/"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in names:
        if not name.endswith(".py"):
            continue
        source = subprocess.run(
            ["git", "show", f"{ref}:{name}"], check=True, capture_output=True, text=True
        ).stdout
        source = source.replace("monitor.stages.rules.", "rules_before.")
        (package / Path(name).name).write_text(
            source.replace("monitor.stages.rules", "rules_before")
        )
    sys.path.insert(0, str(root))
    return importlib.import_module("rules_before")


class Matcher:
    """One matcher version: how to build its rule set from query strings."""

    def __init__(self, name: str, package: ModuleType | None) -> None:
        self.name = name
        if package is None:
            self.build: Callable[[list[tuple[str, str]]], Any] = lambda queries: RuleSet.build(
                RuleDefinition(i, parse_query(q)) for i, q in queries
            )
            self.article: Callable[..., Any] = Article
        else:
            # the package's own exports, whichever modules they live in at that commit
            self.build = lambda queries: package.RuleSet.build(
                package.RuleDefinition(i, package.parse_query(q)) for i, q in queries
            )
            self.article = package.Article


def run_pass(ruleset: Any, articles: list[Any]) -> tuple[float, int, int]:
    matched = hits = 0
    started = time.perf_counter()
    for item in articles:
        found = ruleset.match(item)
        matched += bool(found)
        hits += sum(len(m.hits) for m in found)
    return len(articles) / (time.perf_counter() - started), matched, hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--rules", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--before", metavar="REF", help="also time the matcher at this commit")
    parser.add_argument("--rounds", type=int, default=5, help="warm passes per matcher")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    corpus = Corpus(rng)
    matchers = [Matcher("after", None)]
    if args.before:
        matchers.insert(0, Matcher(f"before ({args.before})", load_before(args.before)))
    texts = [corpus.article(rng) for _ in range(args.articles)]
    words = sum(len(a.content.split()) for a in texts) / len(texts)
    print(f"{len(texts)} articles, {words:.0f} words each on average, language id, one core")
    for count in args.rules:
        queries = make_queries(random.Random(args.seed + count), corpus, count)
        built = []
        for matcher in matchers:
            articles = [
                matcher.article(title=a.title, summary=a.summary, content=a.content, language="id")
                for a in texts
            ]
            gc.collect()
            tracemalloc.start()
            started = time.perf_counter()
            ruleset = matcher.build(queries)
            ruleset.match(articles[0])  # builds the Indonesian family or stem index
            build = time.perf_counter() - started
            held = tracemalloc.get_traced_memory()[0] / 2**20
            tracemalloc.stop()
            cold, matched, hits = run_pass(ruleset, articles)
            built.append((matcher, ruleset, articles, build, held, cold, matched, hits))
        rates: dict[str, list[float]] = {m.name: [] for m in matchers}
        for _ in range(args.rounds):  # alternating, so that both see the same noise
            for matcher, ruleset, articles, *_ in built:
                rates[matcher.name].append(run_pass(ruleset, articles)[0])
        for matcher, _, articles, build, held, cold, matched, hits in built:
            median = statistics.median(rates[matcher.name])
            print(
                f"{count:>6} rules, {matcher.name:<22} {median:7.0f} articles/s (median of "
                f"{args.rounds}; cold {cold:5.0f})  build {build * 1000:5.0f} ms  index "
                f"{held:5.1f} MiB  matched {matched / len(articles):.0%}  "
                f"hits/article {hits / len(articles):.1f}"
            )
        if len(built) == 2:
            ratio = statistics.median(rates["after"]) / statistics.median(rates[matchers[0].name])
            print(f"{count:>6} rules, after/before: {ratio:.2f}")


if __name__ == "__main__":
    main()
