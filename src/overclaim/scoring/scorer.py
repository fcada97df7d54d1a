"""The library API: ``Scorer`` turns text or HTML into scored units, passages and a page score.

    >>> from overclaim import Scorer
    >>> scorer = Scorer.load()                      # the shipped default model
    >>> page = scorer.score("<html>...</html>")     # or plain text
    >>> page.score, [p.text for p in page.passages]
    >>> scorer.score_sentences(["Stem cells repair damaged discs."])[0].status
    'flagged'

A Scorer holds no per-call state, so one instance may be shared across threads.
Loading a model runs code from its joblib file: load only models you trust.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from overclaim.model import artifact
from overclaim.inputs import decode
from overclaim.text.context import neighbours
from overclaim.errors import InputError
from overclaim.schema import CATEGORIES, LABELS, POSITIVE
from overclaim.scoring import page as page_builder
from overclaim.scoring.options import ScoringOptions, from_mapping
from overclaim.scoring.results import PageResult, SentenceResult, Status
from overclaim.limits import MAX_UNIT_CHARS, SCORE_CHUNK_UNITS
from overclaim.text.segment import Unit, segment

class Scorer:
    """Scores health-treatment copy for overclaiming with a loaded model."""

    def __init__(self, bundle: artifact.ModelBundle, options: ScoringOptions | None = None):
        self.bundle = bundle
        self.options = options or ScoringOptions()

    # --- construction ---------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None, options: ScoringOptions | None = None,
             profile: str = artifact.DEFAULT_PROFILE) -> "Scorer":
        """Load a model, checking its files against its card.

        ``profile``: "accurate" (default: the linear model and the fine-tuned encoder,
        stacked) or "fast" (the linear model alone, about 10x cheaper per unit).
        ``path`` is a model card (``<name>.card.json``) or a folder holding the profile's
        card. Without it: the card named by the ``OVERCLAIM_MODEL`` environment variable,
        else the checkout's ``models/`` (in an editable install), else the model shipped
        inside the installed package. Raises :class:`~overclaim.errors.ModelError` saying
        where it looked.
        """
        return cls(artifact.load(path, profile), options)

    def with_options(self, **changes) -> "Scorer":
        """A scorer sharing this model with some options changed (validated; None = unset).

        Raises :class:`~overclaim.errors.OptionError` for a bad value.
        """
        clone = copy.copy(self)
        clone.options = from_mapping(changes, self.options)
        return clone

    @property
    def flag_threshold(self) -> float:
        value = self.options.flag_threshold
        return float(value if value is not None else self.bundle.thresholds.get("flag", 0.5))

    @property
    def review_threshold(self) -> float:
        value = self.options.review_threshold
        default = self.bundle.thresholds.get("review", self.flag_threshold / 2)
        return min(float(value if value is not None else default), self.flag_threshold)

    def model_info(self) -> dict:
        card = self.bundle.card
        return {"name": self.bundle.name, "profile": self.bundle.profile,
                "version": card.get("code_version"),
                "sha256": self.bundle.sha256, "created": card.get("created"),
                "thresholds": {"flag": self.flag_threshold, "review": self.review_threshold}}

    # --- scoring --------------------------------------------------------------------

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Label probabilities of unrelated sentences, an (n, 4) array with columns in
        :data:`~overclaim.schema.LABELS` order: the arrays-only path for pipelines (no
        result objects, cues or explanations). Same size rules as :meth:`score_sentences`.
        """
        texts = [str(t) for t in texts]
        self.check_size(sum(len(t) for t in texts))
        batch = self._batch([t[:MAX_UNIT_CHARS] for t in texts], groups=None)
        parts = [self.bundle.compiled.predict_proba(part) for part in _chunks(batch, len(texts))]
        return np.vstack(parts) if parts else np.zeros((0, len(LABELS)))

    def score_sentences(self, texts: Sequence[str]) -> list[SentenceResult]:
        """Score sentences as unrelated units (no page context).

        A sentence longer than :data:`~overclaim.limits.MAX_UNIT_CHARS` is scored on its
        first characters (its result's ``end`` says where it stopped); all of them
        together may not exceed the size cap (:class:`InputError`).
        """
        texts = [str(t) for t in texts]
        self.check_size(sum(len(t) for t in texts))
        units = [Unit(0, min(len(t), MAX_UNIT_CHARS), t[:MAX_UNIT_CHARS], "sentence")
                 for t in texts]
        return self._score_units(units, groups=None)

    def score_units(self, units: Sequence[Unit]) -> list[SentenceResult]:
        """Score the units of one page (from :func:`overclaim.text.segment`) with page context.

        Units over :data:`~overclaim.limits.MAX_UNIT_CHARS` are scored on their first
        characters, like :meth:`score_sentences`.
        """
        units = list(units)
        self.check_size(sum(len(u.text) for u in units))
        capped = [u if len(u.text) <= MAX_UNIT_CHARS else
                  Unit(u.start, u.start + MAX_UNIT_CHARS, u.text[:MAX_UNIT_CHARS], u.kind)
                  for u in units]
        return self._score_units(capped, groups=[0] * len(capped))

    def check_size(self, chars: int) -> None:
        """Raise :class:`InputError` if ``chars`` characters of input exceed the size cap."""
        if chars > self.options.max_bytes:
            raise InputError(f"{chars} characters in all, over the size cap of "
                             f"{self.options.max_bytes} bytes")

    def score(self, text_or_html: str | bytes, source: str = "<text>") -> PageResult:
        """Extract (if HTML), segment, and score one page with neighbours as context.

        Raises :class:`InputError` (a ``ValueError``) for input that cannot be scored:
        over the size cap, empty, binary, undecodable or not English.
        """
        cap = self.options.max_bytes
        if len(text_or_html) > cap:  # checked before any work (a character is >= 1 byte)
            raise InputError(f"input is {len(text_or_html)} characters or bytes, over the size "
                             f"cap of {cap} bytes")
        if isinstance(text_or_html, str):
            document = decode.from_text(text_or_html, source=source, max_bytes=cap)
        else:
            document = decode.from_bytes(bytes(text_or_html), source=source, max_bytes=cap)
        return self.score_document(document)

    def score_document(self, document: decode.Document,
                       units: Sequence[Unit] | None = None) -> PageResult:
        """Score an :class:`overclaim.inputs.decode.Document`, cut by the segmenter unless ``units``
        (offsets into ``document.text``) are given."""
        sentences = self.score_units(segment(document.text) if units is None else units)
        return page_builder.build(
            document.source, document.text, document.title, sentences, self.reported,
            self.model_info(), self.options.to_dict(), document.sha256)

    def score_many(self, items: Iterable[object], n_jobs: int = 1) -> Iterator[PageResult]:
        """Score many pages lazily, in input order; ``n_jobs`` > 1 scores in that many
        worker processes, each loading the model once (see :mod:`overclaim.scoring.workers`).

        Never raises for a bad item: an empty, missing (``None``/NaN), non-text, binary,
        oversize or refused item yields a result with ``error`` set and ``score`` None,
        in its place, and every other item is scored.
        """
        if n_jobs <= 1:
            for item in items:
                yield self.score_or_error(item)
            return
        from overclaim.scoring.workers import score_in_processes

        yield from score_in_processes(self, items, n_jobs)

    def limit_threads(self, threads: int) -> None:
        """Let the encoder (accurate profile) use at most ``threads`` threads; for sharing a
        machine between processes. Affects every scorer sharing this model."""
        model = self.bundle.compiled
        if getattr(model, "encoder", None) is not None:
            model.encoder = model.encoder.with_threads(threads)

    def score_or_error(self, item: object, source: str = "<text>") -> PageResult:
        """:meth:`score`, with bad input turned into a result whose ``error`` says why."""
        try:
            if not isinstance(item, (str, bytes, bytearray)):
                raise InputError(_not_text(item))
            return self.score(item, source=source)
        except InputError as error:
            return self.error_result(source, str(error), item)

    def error_result(self, source: str, error: str, item: object = None) -> PageResult:
        """A complete result record for an input that could not be scored."""
        raw = item.encode("utf-8", "replace") if isinstance(item, str) else item
        digest = hashlib.sha256(raw).hexdigest() if isinstance(raw, (bytes, bytearray)) else None
        return PageResult(
            source=source, text="", score=None, sentences=[], passages=[],
            category_scores={}, model=self.model_info(), options=self.options.to_dict(),
            input_sha256=digest, scored_at=page_builder.now(), error=error)

    def score_frame(self, frame, column: str, n_jobs: int = 1):
        """Score a text column of a pandas DataFrame; returns a copy with result columns.

        A row that cannot be scored gets ``overclaim_score`` NaN, ``overclaim_flagged``
        None and the reason in ``overclaim_error``; the other rows are scored.
        """
        if column not in frame.columns:
            raise KeyError(f"no column {column!r} in the frame")
        results = list(self.score_many(frame[column].tolist(), n_jobs=n_jobs))
        out = frame.copy()
        out["overclaim_score"] = [float("nan") if r.error else r.score for r in results]
        out["overclaim_flagged"] = [None if r.error else r.flagged for r in results]
        out["overclaim_categories"] = [[c for c, on in r.categories.items() if on] for r in results]
        out["overclaim_passages"] = [[p.text for p in r.passages] for r in results]
        out["overclaim_error"] = [r.error for r in results]
        return out

    # --- internals ------------------------------------------------------------------

    def _score_units(self, units: list[Unit], groups) -> list[SentenceResult]:
        """Units with their neighbours as context, scored :data:`SCORE_CHUNK_UNITS` at a time."""
        if not units:
            return []
        batch = self._batch([u.text for u in units], groups)
        results: list[SentenceResult] = []
        for start, part in zip(range(0, len(units), SCORE_CHUNK_UNITS),
                               _chunks(batch, len(units))):
            prediction = self.bundle.compiled.predict(part, contributions=self.options.contributions)
            results += self._results(units[start:start + SCORE_CHUNK_UNITS], prediction)
        return results

    def _results(self, units: list[Unit], prediction) -> list[SentenceResult]:
        proba = prediction.label_proba
        overclaim_index = LABELS.index(POSITIVE)
        category_proba = prediction.category_proba * proba[:, [overclaim_index]]
        categories = self.bundle.compiled.categories
        conditional = prediction.category_proba.tolist()  # Python floats: cheap to compare
        joints = category_proba.tolist()
        labels = proba.argmax(axis=1).tolist()
        rows = proba.tolist()  # Python floats: cheap to round and compare
        results = []
        for i, unit in enumerate(units):
            p = rows[i][overclaim_index]
            joint = {c: round(q, 4) for c, q in zip(categories, joints[i])}
            shown = self._shown_categories(conditional[i], categories, prediction.cues[i])
            status, flagged_as = self._status(p, joint, shown)
            results.append(SentenceResult(
                text=unit.text, start=unit.start, end=unit.end, kind=unit.kind,
                label=LABELS[labels[i]],
                scores={label: round(q, 4) for label, q in zip(LABELS, rows[i])},
                overclaim=round(p, 4), status=status, cues=prediction.cues[i],
                categories=flagged_as,
                category_scores={c: joint.get(c, 0.0) for c in self.reported},
                contributions=prediction.contributions[i],
            ))
        return results

    def _batch(self, texts: list[str], groups) -> dict[str, list[str]]:
        """The model's input: each unit with its neighbours in the same group as context."""
        prev, nxt, around = neighbours(texts, groups, self.bundle.context_window)
        return {"text": texts, "prev": prev, "next": nxt, "context": around}

    @property
    def reported(self) -> list[str]:
        """The categories reported and flagged (``options.categories``, default all)."""
        chosen = self.options.categories
        return [c for c in CATEGORIES if chosen is None or c in chosen]

    @staticmethod
    def _shown_categories(conditional: Sequence[float], categories: Sequence[str],
                          cues) -> set[str]:
        """The categories a unit shows, were it an overclaim: P(category | overclaim) >= 0.5
        or a cue of that category in it; at least its most likely one."""
        shown = {c for c, q in zip(categories, conditional) if q >= 0.5}
        shown |= {c.category for c in cues if c.category in categories}
        return shown or {categories[int(np.argmax(conditional))]}

    def _status(self, p: float, joint: dict[str, float],
                shown: set[str]) -> tuple[Status, list[str]]:
        """The unit's status and, when flagged, the reported categories it is flagged for.

        Flagged: P(overclaim) reaches the flag threshold and the unit shows a reported
        category, or a category's joint score reaches its own threshold. Review: P reaches
        the review threshold (and shows a reported category). Categories are filtered by
        ``options.categories``, never reassigned; only flagged units carry them.
        """
        reported = set(self.reported)
        relevant = shown & reported
        triggered = {c for c, t in self.options.category_thresholds.items()
                     if c in reported and joint.get(c, 0.0) >= t}
        if (p >= self.flag_threshold and relevant) or triggered:
            flagged_as = relevant if p >= self.flag_threshold else set()
            return "flagged", sorted(flagged_as | triggered, key=lambda c: (-joint.get(c, 0.0), c))
        if p >= self.review_threshold and relevant:
            return "review", []
        return "clear", []


def _chunks(batch: dict[str, list[str]], n: int) -> Iterator[dict[str, list[str]]]:
    """The rows of a model batch, :data:`SCORE_CHUNK_UNITS` at a time (none when empty)."""
    for start in range(0, n, SCORE_CHUNK_UNITS):
        yield {name: column[start:start + SCORE_CHUNK_UNITS] for name, column in batch.items()}


def _not_text(item: object) -> str:
    if item is None or (isinstance(item, float) and item != item):
        return "missing value (None or NaN), not text"
    return f"expected text (str) or bytes, got {type(item).__name__}"
