"""Story fingerprints, material changes and diffs: pure functions, table-tested."""

from __future__ import annotations

import pytest

from monitor.base.settings import SAME_STORY
from monitor.stages.stories import (
    band_keys,
    material_hash,
    pack,
    revision_diff,
    similarity,
    story_sketch,
    unpack,
    word_diff,
)


def body_of(seed_article: str) -> tuple[str, str]:
    title, _, body = seed_article.partition("\n")
    return title, body


def test_a_copy_with_another_lead_paragraph_is_the_same_story(seed_article: str) -> None:
    title, body = body_of(seed_article)
    paragraphs = [p for p in body.split("\n") if p.strip()]
    copy = "\n".join(
        ["Minsk (Antara) - Presiden Belarus berbicara dengan Pompeo.", *paragraphs[1:]]
    )
    original, duplicate = story_sketch(title, body), story_sketch(title, copy)
    assert original is not None
    assert duplicate is not None
    assert similarity(original, duplicate) >= SAME_STORY
    assert set(band_keys(original)) & set(band_keys(duplicate))  # found by the index


def test_a_different_story_is_not(seed_article: str) -> None:
    title, body = body_of(seed_article)
    other = story_sketch(
        "Harga Cabai Rawit Naik Jelang Akhir Pekan",
        "Harga cabai rawit di pasar tradisional naik tajam menjelang akhir pekan karena pasokan "
        "dari petani berkurang, kata para pedagang di Jakarta dan Bandung pada Sabtu.",
    )
    original = story_sketch(title, body)
    assert original is not None
    assert other is not None
    assert similarity(original, other) < 0.1


def test_short_texts_have_no_sketch() -> None:
    assert story_sketch("Gempa", "Gempa di Cianjur.") is None


def test_sketches_survive_the_store() -> None:
    sketch = story_sketch("Belarus dan sanksi", " ".join(["kata"] * 5 + ["lain", "lagi"] * 10))
    assert sketch is not None
    assert unpack(pack(sketch)) == sketch
    assert all(0 <= key < 2**63 for key in band_keys(sketch))


@pytest.mark.parametrize(
    ("before", "after", "material"),
    [
        ("Gempa di Cianjur", "Gempa di Cianjur", False),
        ("Gempa di Cianjur", "Gempa  di\nCianjur", False),
        ("Diperbarui 10:32 WIB. Gempa", "Diperbarui 11:05 WIB. Gempa", False),
        ("Gempa, 2 jam lalu", "Gempa, 3 jam lalu", False),
        ("Korban 10 orang", "Korban 50 orang", True),
        ("Gempa di Cianjur", "Gempa di Cianjur. Sanksi embargo dibahas.", True),
        ("Gempa", "GEMPA", False),
    ],
)
def test_only_material_edits_change_the_material_hash(
    before: str, after: str, material: bool
) -> None:
    changed = material_hash("t", "", before) != material_hash("t", "", after)
    assert changed is material


def test_word_diff_lists_what_was_added_and_removed() -> None:
    diff = word_diff(
        "Uni Eropa membahas sanksi baru", "Uni Eropa menyetujui sanksi dan embargo baru"
    )
    assert diff["added"] == ["menyetujui", "dan embargo"]
    assert diff["removed"] == ["membahas"]


def test_revision_diff_names_the_changed_fields() -> None:
    diff = revision_diff(("T", "s", "isi lama"), ("T", "s", "isi lama. Embargo ditambah."))
    assert diff is not None
    assert diff["fields"] == ["content"]
    assert diff["content"]["added"] == ["lama. Embargo ditambah."]
    assert revision_diff(("T", "s", "a  b"), ("T", "s", "a b")) is None


def test_short_texts_share_no_empty_bins_and_rarely_a_band() -> None:
    """A 15-word text fills few of the 64 bins; the empty ones are filled from their
    neighbours, so unrelated short texts are neither near nor candidates of each other."""
    import random

    rng = random.Random(7)
    vocab = [f"kata{n}" for n in range(2000)]
    sketches = [story_sketch("Kabar", " ".join(rng.sample(vocab, 15))) for _ in range(200)]
    assert all(s is not None and len(set(s)) > 32 for s in sketches)
    pairs = shared = 0
    for i, a in enumerate(sketches):
        for b in sketches[i + 1 :]:
            assert a is not None
            assert b is not None
            pairs += 1
            shared += any(x == y for x, y in zip(band_keys(a), band_keys(b), strict=True))
            assert similarity(a, b) < SAME_STORY
    assert shared / pairs < 0.01
