"""Neighbouring units as context: the same construction for training and for scoring."""

from __future__ import annotations

from typing import Sequence


def neighbours(texts: Sequence[str], groups: Sequence | None = None,
               window: int = 1) -> tuple[list[str], list[str], list[str]]:
    """For each unit: its ``window`` previous units, next units, and both, joined.

    Neighbours are taken within a group (a document or page) only; without groups the
    units are unrelated sentences and get no context.
    """
    n = len(texts)
    if groups is None or window <= 0:
        return [""] * n, [""] * n, [""] * n
    groups = list(groups)
    prev, nxt = [], []
    for i in range(n):
        prev.append(" ".join(texts[j] for j in range(max(0, i - window), i)
                             if groups[j] == groups[i]))
        nxt.append(" ".join(texts[j] for j in range(i + 1, min(n, i + 1 + window))
                            if groups[j] == groups[i]))
    return prev, nxt, [f"{a} {b}" for a, b in zip(prev, nxt)]
