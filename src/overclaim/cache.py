"""Per-word memos that stay small whatever the input.

The tokenizer, the cue matcher and the character n-gram features remember what they
worked out for each distinct word, because words repeat (Zipf): most of a page is words
seen before. Untrusted input must not grow those memos without bound, so a word longer
than :data:`~overclaim.limits.CACHED_WORD_MAX_CHARS` is worked out but not kept, and a
memo holding :data:`~overclaim.limits.WORD_CACHE_SIZE` entries is emptied before it takes
another.
"""

from __future__ import annotations

from typing import TypeVar

from overclaim import limits

V = TypeVar("V")


class WordMemo(dict):
    """A dict of per-word results, bounded in entries and in key length."""

    def remember(self, word: str, value: V) -> V:
        """Keep ``value`` for ``word`` if the word is short enough; return ``value``."""
        if len(word) <= limits.CACHED_WORD_MAX_CHARS:
            if len(self) >= limits.WORD_CACHE_SIZE:
                self.clear()
            self[word] = value
        return value
