"""What users say about word families (the ``words:`` section of the rule files): words never
stemmed, words joined into one family, words never one family."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WordOverrides:
    """What users say about word families (the ``words:`` section of the rule files)."""

    keep: frozenset[str] = frozenset()
    join: tuple[frozenset[str], ...] = ()
    split: tuple[frozenset[str], ...] = ()

    @property
    def joined(self) -> dict[str, frozenset[str]]:
        """Each joined word -> all the words of its family."""
        out: dict[str, frozenset[str]] = {}
        for group in self.join:
            for word in group:
                out[word] = out.get(word, frozenset()) | group
        return out


NO_OVERRIDES = WordOverrides()
