"""What the human-readable renderers share: ranking, counting, shortening."""

from __future__ import annotations

from collections import Counter

from overclaim.scoring.results import PageResult


def ranked(pages: list[PageResult]) -> list[PageResult]:
    """Scored pages by score (highest first), then the failed inputs in input order."""
    scored = sorted((p for p in pages if p.error is None), key=lambda p: -(p.score or 0.0))
    return scored + [p for p in pages if p.error is not None]


def category_counts(pages: list[PageResult]) -> Counter:
    """Flagged units per category over all pages (repeated boilerplate counted once)."""
    return Counter(c for p in pages for s in p.sentences
                   if s.flagged and not s.repeated for c in s.categories)


def short(text: str, width: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"
