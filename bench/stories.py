"""Measure the near-duplicate threshold: how often copies are missed and different stories merged.

Copies of one story are made the ways outlets make them: a different lead sentence, a "Baca
juga" line appended, a few words edited, a shortened title, the body cut to its first
paragraphs. Different stories are other articles, including ones that share a third of their
text with the original (a follow-up on the same event), which must not be merged.

    python bench/stories.py [--pairs 2000] [--seed 3]
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from matching import vocabulary

from monitor.stages.stories import band_keys, similarity, story_sketch


def sentence(rng: random.Random, vocab: list[str], weights: list[float]) -> str:
    words = rng.choices(vocab, weights, k=rng.randint(12, 22))
    return " ".join(words).capitalize() + "."


def story(rng: random.Random, vocab: list[str], weights: list[float]) -> tuple[str, list[str]]:
    title = " ".join(rng.choices(vocab, weights, k=8)).capitalize()
    return title, [sentence(rng, vocab, weights) for _ in range(rng.randint(12, 20))]


def copy_of(
    rng: random.Random, title: str, body: list[str], vocab: list[str], weights: list[float]
) -> tuple[str, list[str], str]:
    kind = rng.choice(["lead", "baca-juga", "edits", "title", "cut"])
    body = list(body)
    if kind == "lead":
        body[0] = sentence(rng, vocab, weights)
    elif kind == "baca-juga":
        body.append("Baca juga: " + " ".join(rng.choices(vocab, weights, k=8)))
    elif kind == "edits":
        words = " ".join(body).split()
        for _ in range(max(1, len(words) // 50)):
            words[rng.randrange(len(words))] = rng.choice(vocab)
        body = [" ".join(words)]
    elif kind == "title":
        title = " ".join(title.split()[:5])
    else:
        body = body[: max(6, len(body) - 3)]
    return title, body, kind


def related(
    rng: random.Random, body: list[str], vocab: list[str], weights: list[float]
) -> list[str]:
    """A different story on the same event: a third of the sentences shared."""
    keep = set(rng.sample(range(len(body)), len(body) // 3))
    return [s if i in keep else sentence(rng, vocab, weights) for i, s in enumerate(body)]


def _shares_a_band(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return any(x == y for x, y in zip(band_keys(a), band_keys(b), strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    vocab = vocabulary(rng, 20_000)
    weights = [1 / (rank + 1) ** 1.05 for rank in range(len(vocab))]
    same: list[float] = []
    found: list[bool] = []  # the band index offers the copy as a candidate at all
    by_kind: dict[str, list[float]] = {}
    different: list[float] = []
    close: list[float] = []
    for _ in range(args.pairs):
        title, body = story(rng, vocab, weights)
        original = story_sketch(title, " ".join(body))
        copy_title, copy_body, kind = copy_of(rng, title, body, vocab, weights)
        copy = story_sketch(copy_title, " ".join(copy_body))
        other_title, other_body = story(rng, vocab, weights)
        other = story_sketch(other_title, " ".join(other_body))
        follow_up = story_sketch(title, " ".join(related(rng, body, vocab, weights)))
        assert original is not None
        assert copy is not None
        assert other is not None
        assert follow_up is not None
        found.append(_shares_a_band(original, copy))
        same.append(similarity(original, copy))
        by_kind.setdefault(kind, []).append(same[-1])
        different.append(similarity(original, other))
        close.append(similarity(original, follow_up))
    print(f"{args.pairs} pairs of each kind; one-permutation MinHash, 64 bins, 3-word shingles")
    print(f"copies the band index does not offer as candidates: {found.count(False)}")
    print("threshold  copies missed  different merged  same-event follow-ups merged")
    for threshold in (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        missed = sum(s < threshold or not f for s, f in zip(same, found, strict=True)) / len(same)
        merged = sum(s >= threshold for s in different) / len(different)
        follow = sum(s >= threshold for s in close) / len(close)
        print(f"{threshold:>9}  {missed:13.1%}  {merged:16.2%}  {follow:28.1%}")
    for kind, values in sorted(by_kind.items()):
        values.sort()
        print(f"copies by {kind:<10} min {values[0]:.2f}  median {values[len(values) // 2]:.2f}")
    close.sort()
    print(
        f"follow-ups: median {close[len(close) // 2]:.2f}  max {close[-1]:.2f};"
        f" different stories: max {max(different):.2f}"
    )


if __name__ == "__main__":
    main()
