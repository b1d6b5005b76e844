"""Benchmark: articles matched per second against 1,000 and 10,000 rules, on one core.

Articles are generated, deterministic and Indonesian-like: about 300 words each, drawn with a
Zipf distribution over 40,000 pseudo-roots, a quarter of them with me-/di-/ber-/-kan/-nya
affixes, some reduplicated (kata-kata, kata2), sentence capitals, punctuation, curly quotes.
Rules are what users write: single words (word families, with stemming), phrases, prefixes,
and Boolean combinations, drawn from the same vocabulary (skipping the most common words).

    python bench/matching.py [--articles 3000] [--rules 1000 10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import gc
import random
import time
import tracemalloc

from monitor.rules import Article, RuleDefinition, RuleSet, parse_query

CONSONANTS = "bcdfghjklmnprstwy"
VOWELS = "aeiou"
PREFIXES = ["me", "mem", "men", "meng", "di", "ber", "ter", "pe", "ke"]
SUFFIXES = ["kan", "an", "i", "nya", "lah"]


def pseudo_root(rng: random.Random) -> str:
    return "".join(rng.choice(CONSONANTS) + rng.choice(VOWELS) for _ in range(rng.randint(2, 4)))


def vocabulary(rng: random.Random, size: int = 40_000) -> list[str]:
    words: dict[str, None] = {}
    while len(words) < size:
        words[pseudo_root(rng)] = None
    return list(words)


def article(
    rng: random.Random, vocab: list[str], weights: list[float], words: int = 300
) -> Article:
    out = []
    for i, root in enumerate(rng.choices(vocab, weights, k=words)):
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
        if i == 0 or out[-1].endswith("."):
            word = word.capitalize()
        if rng.random() < 0.08:
            word += rng.choice([".", ",", ".", "’s", "”"])
        out.append(word)
    text = " ".join(out)
    return Article(
        title=" ".join(out[:10]), summary=" ".join(out[10:40]), content=text, language="id"
    )


def make_rules(rng: random.Random, vocab: list[str], count: int) -> list[RuleDefinition]:
    """Rules as the matching research built its patterns (any word of the vocabulary but the
    500 most common, 15% that never occur), in the shapes users write."""
    pool = vocab[500:]

    def word() -> str:
        return rng.choice(pool) if rng.random() > 0.15 else pseudo_root(rng) + "xq"

    rules = []
    for i in range(count):
        roll = rng.random()
        if roll < 0.60:
            query = word()
        elif roll < 0.78:
            query = '"' + " ".join(word() for _ in range(rng.randint(2, 3))) + '"'
        elif roll < 0.85:
            query = word() + "*"
        elif roll < 0.95:
            query = f"({word()} OR {word()}) AND {word()}"
        else:
            query = f"{word()} NEAR/5 {word()} AND NOT {word()}"
        rules.append(RuleDefinition(f"rule-{i}", parse_query(query)))
    return rules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--rules", type=int, nargs="+", default=[1000, 10_000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vocab = vocabulary(rng)
    weights = [1 / (rank + 1) ** 1.05 for rank in range(len(vocab))]
    articles = [article(rng, vocab, weights) for _ in range(args.articles)]
    words = sum(len(a.content.split()) for a in articles) / len(articles)
    print(f"{len(articles)} articles, {words:.0f} words each on average, language id, one core")
    for count in args.rules:
        definitions = make_rules(random.Random(args.seed + count), vocab, count)
        gc.collect()
        tracemalloc.start()
        started = time.perf_counter()
        ruleset = RuleSet.build(definitions)
        ruleset.match(articles[0])  # builds the Indonesian stem index
        build = time.perf_counter() - started
        held = tracemalloc.get_traced_memory()[0] / 2**20
        tracemalloc.stop()
        best = 0.0
        for _ in range(3):
            matched = hits = 0
            started = time.perf_counter()
            for item in articles:
                found = ruleset.match(item)
                matched += bool(found)
                hits += sum(len(m.hits) for m in found)
            rate = len(articles) / (time.perf_counter() - started)
            best = max(best, rate)
        print(
            f"{count:>6} rules: {best:7.0f} articles/s (best of 3)  build+stem index "
            f"{build * 1000:5.0f} ms  index {held:5.1f} MiB  "
            f"articles matched {matched / len(articles):.0%}  "
            f"hits/article {hits / len(articles):.1f}"
        )


if __name__ == "__main__":
    main()
