"""Result types and the versioned JSON schema they serialise to.

The page-level shape follows moderation services people already know: ``flagged``,
``categories`` (booleans), ``category_scores`` (floats) and ``spans`` with
``begin``/``end``/``score``; sentence detail and passages come beside them.
Bump :data:`SCHEMA_VERSION` on any incompatible change.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from overclaim.text.cues import Cue
from overclaim.limits import MAX_INPUT_BYTES

SCHEMA_VERSION = "overclaim.result/1"
Status = Literal["flagged", "review", "clear"]


@dataclass(frozen=True)
class ScoringOptions:
    """Options shared by the library and the CLI (``overclaim scan`` builds one from flags).

    ``flag_threshold``/``review_threshold`` default to the model card's values.
    ``category_thresholds`` also flags a unit when its score for a category,
    P(overclaim) x P(category | overclaim), reaches that category's value (say, flag
    safety claims sooner than others).
    ``categories`` limits which categories are reported (default: all).
    """

    flag_threshold: float | None = None
    review_threshold: float | None = None
    category_thresholds: dict[str, float] = field(default_factory=dict)
    categories: tuple[str, ...] | None = None
    context_window: int = 1
    max_bytes: int = MAX_INPUT_BYTES
    contributions: int = 5

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["categories"] = list(self.categories) if self.categories else None
        return values


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text, "start": self.start, "end": self.end, "kind": self.kind,
            "label": self.label, "scores": self.scores, "overclaim": self.overclaim,
            "status": self.status, "flagged": self.flagged,
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

    def to_dict(self, include_text: bool = False) -> dict[str, Any]:
        data = {
            "schema": SCHEMA_VERSION,
            "source": self.source,
            "title": self.title,
            "score": self.score,
            "flagged": None if self.error else self.flagged,
            "categories": self.categories,
            "category_scores": self.category_scores,
            "spans": [{"begin": s.start, "end": s.end, "score": s.overclaim,
                       "categories": s.categories}
                      for s in self.sentences if s.flagged],
            "passages": [p.to_dict() for p in self.passages],
            "sentences": [s.to_dict() for s in self.sentences],
            "error": self.error,
            "model": self.model,
            "options": self.options,
            "input_sha256": self.input_sha256,
            "scored_at": self.scored_at,
        }
        if include_text:
            data["text"] = self.text
        return data
