"""Cue matching: the words and token patterns that signal (or argue against) overclaiming.

The lexicons live as data in ``overclaim/data/cues/`` (see its README). One matcher
serves both the model's features and the explanations shown to reviewers, so every
flag can name the cues behind it and the overclaim categories they support.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from overclaim.paths import DATA_DIR
from overclaim.schema import CATEGORIES

CUES_DIR = DATA_DIR / "cues"
#: What a cue kind does, as ``cues.json`` says: "promotional" cues push a unit towards
#: overclaim when no "limit" (hedge) or "evidence" cue stands beside them.
ROLES = ("promotional", "limit", "evidence", "modal", "treatment", "chrome")
#: Cue kinds the claim-structure features name directly; every lexicon must define them.
STRUCTURE_KINDS = ("benefit", "weak_modal", "treatment")
STRUCTURE = (
    "promo_any", "promo_unlimited", "benefit_modal_unlimited", "treatment_benefit_unlimited",
    "evidence_any", "evidence_unpromoted", "hedge_any", "question", "no_final_punct",
    "log_tokens", "has_digit",
)


@dataclass(frozen=True, slots=True)
class Cue:
    """One matched cue: where it is in the unit's text, what kind, which category it supports."""

    start: int
    end: int
    text: str
    cue: str
    category: str | None

    def to_dict(self) -> dict:
        return asdict(self)


class CueMatcher:
    """spaCy PhraseMatcher + Matcher over the cue lexicons, on a blank English tokenizer."""

    def __init__(self, directory: Path = CUES_DIR) -> None:
        import spacy
        from spacy.matcher import Matcher, PhraseMatcher

        self.directory = Path(directory)
        spec = read_spec(self.directory)
        self.categories: dict[str, str | None] = {name: v["category"] for name, v in spec.items()}
        self.roles: dict[str, str] = {name: v["role"] for name, v in spec.items()}
        self.names: tuple[str, ...] = tuple(spec)
        self.nlp = spacy.blank("en")
        self._phrases = PhraseMatcher(self.nlp.vocab, attr="LOWER")
        for name in self.names:
            path = self.directory / f"{name}.txt"
            if path.is_file():
                self._phrases.add(name, list(self.nlp.tokenizer.pipe(_read_lexicon(path))))
        self._patterns = Matcher(self.nlp.vocab)
        patterns = self.directory / "patterns.json"
        if patterns.is_file():
            for name, token_patterns in json.loads(patterns.read_text(encoding="utf-8")).items():
                self._patterns.add(name, token_patterns)

    def match_many(self, texts: list[str]) -> list[list[Cue]]:
        return [self.match_doc(doc) for doc in self.nlp.tokenizer.pipe(texts, batch_size=256)]

    def vectors(self, texts: list[str]) -> tuple[np.ndarray, list[list[Cue]]]:
        """Feature rows (log cue counts, then claim structure) and the cues matched.

        Why claim structure: "Stem cells may help regenerate your discs" and "Stem cells
        may one day help, but no trial has shown it" share most words; what separates
        them is a promised benefit with, or without, a stated limit or evidence.
        """
        found = self.match_many(texts)
        index = {name: i for i, name in enumerate(self.names)}
        out = np.zeros((len(texts), len(self.names) + len(STRUCTURE)), dtype=np.float64)
        for row, (text, cues) in enumerate(zip(texts, found)):
            counts = np.zeros(len(self.names))
            for cue in cues:
                counts[index[cue.cue]] += 1
            out[row, : len(self.names)] = np.log1p(counts)
            out[row, len(self.names):] = _structure(text, counts, index, self.roles)
        return out, found

    def feature_names(self) -> list[str]:
        return [f"cue:{name}" for name in self.names] + [f"claim:{name}" for name in STRUCTURE]

    def match_doc(self, doc) -> list[Cue]:
        """Cues in ``doc``, longest first where two of the same kind overlap."""
        found: dict[tuple[int, int, str], Cue] = {}
        strings = self.nlp.vocab.strings
        for matcher in (self._phrases, self._patterns):
            for match_id, start, end in matcher(doc):
                name = strings[match_id]
                span = doc[start:end]
                key = (span.start_char, span.end_char, name)
                found[key] = Cue(span.start_char, span.end_char, span.text, name,
                                 self.categories.get(name))
        return _drop_nested(sorted(found.values(), key=lambda c: (c.start, -c.end)))


def read_spec(directory: Path) -> dict[str, dict]:
    """``cues.json``, checked: every cue kind names a known category (or none) and role."""
    path = Path(directory) / "cues.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    for name, entry in spec.items():
        if entry.get("category") is not None and entry["category"] not in CATEGORIES:
            raise ValueError(f"{path}: cue {name!r} names unknown category {entry['category']!r}"
                             f" (categories are in data/schema.json)")
        if entry.get("role") not in ROLES:
            raise ValueError(f"{path}: cue {name!r} needs a role, one of {', '.join(ROLES)}")
    missing = [k for k in STRUCTURE_KINDS if k not in spec]
    if missing:
        raise ValueError(f"{path}: the claim-structure features need the cue kinds {missing}")
    return spec


def _structure(text: str, counts: np.ndarray, index: dict[str, int],
               roles: dict[str, str]) -> list[float]:
    def has(name: str) -> bool:
        return counts[index[name]] > 0

    def any_of(role: str) -> bool:
        return any(has(name) for name, r in roles.items() if r == role)

    promo = any_of("promotional")
    limit, evidence = any_of("limit"), any_of("evidence")
    limited = limit or evidence
    stripped = text.rstrip()
    return [
        float(promo),
        float(promo and not limited),
        float(has("benefit") and has("weak_modal") and not limited),
        float(has("treatment") and has("benefit") and not limited),
        float(evidence),
        float(evidence and not promo),
        float(limit),
        float(stripped.endswith("?")),
        float(bool(stripped) and stripped[-1].isalnum()),
        float(np.log1p(len(text.split()))),
        float(any(ch.isdigit() for ch in text)),
    ]


def _drop_nested(cues: list[Cue]) -> list[Cue]:
    """Keep "clinically proven" and drop the "proven" inside it (same cue kind only)."""
    kept: list[Cue] = []
    for cue in cues:
        if any(k.cue == cue.cue and k.start <= cue.start and cue.end <= k.end for k in kept):
            continue
        kept.append(cue)
    return kept


def _read_lexicon(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def default_matcher(directory: str | None = None) -> CueMatcher:
    """A shared matcher per lexicon folder (default: the shipped lexicons)."""
    return _shared_matcher(str(Path(directory) if directory else CUES_DIR))


@lru_cache(maxsize=4)
def _shared_matcher(directory: str) -> CueMatcher:
    """Building a matcher costs tens of milliseconds: build one per folder."""
    return CueMatcher(Path(directory))
