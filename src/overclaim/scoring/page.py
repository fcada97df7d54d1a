"""Page results built once, from their units: score, categories, passages, spans.

Every page-level field is a function of the page's scored units, computed here and only
here: :func:`build` is what :class:`~overclaim.scoring.scorer.Scorer` returns, and
:func:`dedupe_site` (cross-page boilerplate, off unless asked for) marks repeated units
and rebuilds each page through :func:`build`, so no field can go stale.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import urlparse

import numpy as np

from overclaim.inputs.sources import is_url
from overclaim.scoring.results import PageResult, Passage, SentenceResult
from overclaim.text.segment import normalise

#: How many of a page's highest overclaim probabilities make its "peak".
PEAK_UNITS = 3


def build(source: str, text: str, title: str | None, sentences: list[SentenceResult],
          reported: Sequence[str], model: dict[str, Any], options: dict[str, Any],
          input_sha256: str | None, scored_at: str | None = None) -> PageResult:
    """A page's result from its scored units; units marked ``repeated`` count nowhere."""
    counted = [s for s in sentences if not s.repeated]
    return PageResult(
        source=source, text=text, title=title, score=page_score(counted),
        sentences=sentences, passages=passages(text, sentences),
        category_scores={c: max((s.category_scores.get(c, 0.0) for s in counted), default=0.0)
                         for c in reported},
        model=model, options=options, input_sha256=input_sha256,
        scored_at=scored_at or now())


def rebuild(page: PageResult, sentences: list[SentenceResult]) -> PageResult:
    """The same page with other units (say, some marked repeated), through :func:`build`."""
    return build(page.source, page.text, page.title, sentences, list(page.category_scores),
                 page.model, page.options, page.input_sha256, page.scored_at)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def page_score(sentences: Iterable[SentenceResult]) -> float:
    """How much a page overclaims, in [0, 1] (see :func:`score_from_probabilities`)."""
    return score_from_probabilities([s.overclaim for s in sentences])


def score_from_probabilities(probabilities: Sequence[float]) -> float:
    """sqrt(peak x density) over a page's unit overclaim probabilities.

    ``peak`` is the mean of the page's highest probabilities (up to
    :data:`PEAK_UNITS`): how strong its worst claims are. ``density`` is the mean over
    all its units: how much of the page is claim. The geometric mean ranks a page of
    wall-to-wall promotion above a careful article with one bad sentence, and above a
    long page of harmless text.
    """
    values = np.asarray(probabilities, dtype=float)
    if values.size == 0:
        return 0.0
    peak = float(np.sort(values)[-PEAK_UNITS:].mean())
    return round(float(np.sqrt(peak * values.mean())), 4)


def passages(text: str, sentences: list[SentenceResult]) -> list[Passage]:
    """Merge runs of adjacent flagged units (not repeated boilerplate) into passages."""
    out: list[Passage] = []
    run: list[int] = []
    for i, sentence in enumerate(sentences + [None]):  # type: ignore[list-item]
        if sentence is not None and sentence.flagged and not sentence.repeated:
            run.append(i)
            continue
        if run:
            members = [sentences[j] for j in run]
            start, end = members[0].start, members[-1].end
            out.append(Passage(
                start=start, end=end, text=text[start:end],
                score=round(max(s.overclaim for s in members), 4),
                categories=sorted({c for s in members for c in s.categories}),
                cues=sorted({c.text.lower() for s in members for c in s.cues
                             if c.category is not None}),
                sentences=list(run)))
            run = []
    return out


def site_of(source: str) -> str:
    """Pages group into a site by host for URLs, by folder for files."""
    if is_url(source):
        return urlparse(source).netloc
    return str(Path(source).parent)


def dedupe_site(pages: list[PageResult]) -> list[PageResult]:
    """Units found on several pages of one site count once: on the first page they appear
    on; later copies are marked ``repeated`` and their pages rebuilt.

    An explicit batch option (``scan --dedupe-site``): without it a page's result never
    depends on the other pages of the batch. Pages keep their order.
    """
    by_site: dict[str, list[int]] = defaultdict(list)
    for index, page in enumerate(pages):
        if page.error is None:
            by_site[site_of(page.source)].append(index)
    out = list(pages)
    for members in by_site.values():
        pages_with: dict[str, set[int]] = defaultdict(set)
        for i in members:
            for s in pages[i].sentences:
                pages_with[normalise(s.text)].add(i)
        counted: set[str] = set()
        for i in members:
            sentences = []
            for s in pages[i].sentences:
                key = normalise(s.text)
                shared = len(pages_with[key]) > 1
                sentences.append(replace(s, repeated=shared and key in counted))
                if shared:
                    counted.add(key)
            out[i] = rebuild(pages[i], sentences)
    return out
