"""Result types and the versioned JSON schema they serialise to.

The page-level shape follows moderation services people already know: ``flagged``,
``categories`` (booleans), ``category_scores`` (floats) and ``spans`` with
``begin``/``end``/``score``; sentence detail and passages come beside them.
Bump :data:`SCHEMA_VERSION` on any incompatible change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from overclaim.text.cues import Cue

SCHEMA_VERSION = "overclaim.result/1"
Status = Literal["flagged", "review", "clear"]


@dataclass
class SentenceResult:
    """One scored unit. ``start``/``end`` are offsets into the scored (extracted) text."""

    text: str
    start: int
    end: int
    kind: str
    label: str
    scores: dict[str, float]
    overclaim: float
    status: Status
    cues: list[Cue]
    categories: list[str]
    category_scores: dict[str, float]
    contributions: list[dict[str, float | str]]
    repeated: bool = False  # boilerplate already counted on another page of the same site

    @property
    def flagged(self) -> bool:
        return self.status == "flagged"

    @property
    def cue_words(self) -> list[str]:
        """The distinct words of the unit's category cues, lower-cased and sorted."""
        return sorted({c.text.lower() for c in self.cues if c.category})

    @property
    def reason(self) -> str:
        """Why the unit is highlighted, in one line: the one wording every renderer shows."""
        return (f"{self.status}: P(overclaim) {self.overclaim:.2f}; categories: "
                f"{', '.join(self.categories) or '-'}; cues: {', '.join(self.cue_words) or '-'}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "start": self.start, "end": self.end, "kind": self.kind,
            "label": self.label, "scores": self.scores, "overclaim": self.overclaim,
            "status": self.status, "flagged": self.flagged, "reason": self.reason,
            "categories": self.categories, "category_scores": self.category_scores,
            "cues": [c.to_dict() for c in self.cues], "contributions": self.contributions,
            "repeated": self.repeated,
        }


@dataclass
class Passage:
    """Adjacent flagged units merged into one stretch a reviewer reads as a whole."""

    start: int
    end: int
    text: str
    score: float
    categories: list[str]
    cues: list[str]
    sentences: list[int]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PageResult:
    """A scored page (or text). ``score`` in [0, 1] ranks pages by how much they overclaim."""

    source: str
    text: str
    score: float | None  # None when the input could not be scored (``error`` says why)
    sentences: list[SentenceResult]
    passages: list[Passage]
    category_scores: dict[str, float]
    model: dict[str, Any]
    options: dict[str, Any]
    input_sha256: str | None
    scored_at: str
    error: str | None = None
    title: str | None = None

    @property
    def flagged(self) -> bool:
        return any(s.flagged for s in self.sentences)

    @property
    def categories(self) -> dict[str, bool]:
        found = {c for s in self.sentences if s.flagged and not s.repeated for c in s.categories}
        return {c: c in found for c in self.category_scores}

    def to_dict(self, include_text: bool = False, detail: str | None = None) -> dict[str, Any]:
        """The result as JSON-ready data (schema :data:`SCHEMA_VERSION`).

        ``detail`` "compact" keeps only the moderation fields (no per-unit ``sentences``);
        by default it is the ``detail`` option the page was scored with.
        """
        detail = detail or self.options.get("detail") or "full"
        data = {
            "schema": SCHEMA_VERSION,
            "source": self.source,
            "title": self.title,
            "score": self.score,
            "flagged": None if self.error else self.flagged,
            "categories": self.categories,
            "category_scores": self.category_scores,
            "spans": [{"begin": s.start, "end": s.end, "score": s.overclaim,
                       "categories": s.categories, "repeated": s.repeated}
                      for s in self.sentences if s.flagged],
            "passages": [p.to_dict() for p in self.passages],
            "error": self.error,
            "model": self.model,
            "options": self.options,
            "input_sha256": self.input_sha256,
            "scored_at": self.scored_at,
        }
        if detail != "compact":
            data["sentences"] = [s.to_dict() for s in self.sentences]
        if include_text:
            data["text"] = self.text
        return data
