"""The ``overclaim`` spaCy component: ``nlp.add_pipe("overclaim")``.

Registered through the ``spacy_factories`` entry point, so it exists without an import.
It scores each sentence of a Doc and sets:

- ``doc._.overclaim``: the :class:`~overclaim.scoring.results.PageResult` of the whole text;
- ``span._.overclaim``: the :class:`~overclaim.scoring.results.SentenceResult` of each sentence
  in ``doc.spans["overclaim"]`` (and of each ``doc.sents`` span).

If an earlier component set sentence boundaries (a parser or senter), those sentences
are scored; otherwise the component sets them from overclaim's own segmenter, the one
the model was trained on.
"""

from __future__ import annotations

from hashlib import sha256

from spacy.language import Language
from spacy.tokens import Doc, Span

from overclaim.text.segment import Unit, segment

SPAN_KEY = "overclaim"


def _register_extensions() -> None:
    if not Doc.has_extension("overclaim"):
        Doc.set_extension("overclaim", default=None)
    if not Span.has_extension("overclaim"):
        Span.set_extension("overclaim", getter=_span_result)


def _span_result(span: Span):
    """The result of the unit starting where the span starts (sentences may carry trailing space)."""
    return span.doc.user_data.get(("overclaim", span.start_char))


class OverclaimComponent:
    """Scores a Doc's sentences with a shared :class:`overclaim.Scorer`."""

    def __init__(self, nlp: Language, name: str, model: str | None, flag_threshold: float | None):
        from overclaim.scoring.options import ScoringOptions
        from overclaim.scoring.scorer import Scorer

        _register_extensions()
        self.name = name
        self.scorer = Scorer.load(model, ScoringOptions(flag_threshold=flag_threshold))

    def __call__(self, doc: Doc) -> Doc:
        from overclaim.inputs.decode import Document

        self.scorer.check_size(len(doc.text))  # before any work, like every entry point
        units = self._units(doc)
        digest = sha256(doc.text.encode("utf-8", "surrogatepass")).hexdigest()
        page = self.scorer.score_document(Document("<spacy>", doc.text, digest), units)
        spans = []
        for unit, result in zip(units, page.sentences):
            span = doc.char_span(unit.start, unit.end, alignment_mode="expand")
            if span is not None:
                doc.user_data[("overclaim", span.start_char)] = result
                spans.append(span)
        doc.spans[SPAN_KEY] = spans
        doc._.overclaim = page
        return doc

    def _units(self, doc: Doc) -> list[Unit]:
        """Existing sentence boundaries if set, else overclaim's segmenter (and set them)."""
        if doc.has_annotation("SENT_START"):
            return [Unit(s.start_char, s.end_char, s.text, "sentence") for s in doc.sents]
        units = segment(doc.text)
        spans = (doc.char_span(u.start, u.end, alignment_mode="expand") for u in units)
        starts = {span.start for span in spans if span is not None}
        for token in doc:
            token.is_sent_start = token.i in starts or token.i == 0
        return units


@Language.factory("overclaim", default_config={"model": None, "flag_threshold": None})
def make_overclaim(nlp: Language, name: str, model: str | None,
                   flag_threshold: float | None) -> OverclaimComponent:
    """Factory behind ``nlp.add_pipe("overclaim", config={"model": path})``."""
    return OverclaimComponent(nlp, name, model, flag_threshold)
