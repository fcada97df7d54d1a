"""The spaCy component, used the way spaCy users use components."""

from __future__ import annotations

import spacy


def test_add_pipe_by_name_sets_doc_and_span_results():
    nlp = spacy.blank("en")
    nlp.add_pipe("overclaim")  # found through the spacy_factories entry point
    doc = nlp("Why PRP Works\nPRP heals torn tendons naturally and permanently. Call us on Monday.")
    page = doc._.overclaim
    assert 0 <= page.score <= 1
    sentences = list(doc.sents)
    assert [s.text.strip() for s in sentences] == [
        "Why PRP Works", "PRP heals torn tendons naturally and permanently.", "Call us on Monday."]
    results = [s._.overclaim for s in sentences]
    assert [r.text for r in results] == [s.text.strip() for s in sentences]
    assert results[1].status != "clear" and results[1].overclaim > results[2].overclaim
    spans = doc.spans["overclaim"]
    assert [s._.overclaim.overclaim for s in spans] == [r.overclaim for r in page.sentences]


def test_existing_sentence_boundaries_are_kept():
    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("overclaim", config={"flag_threshold": 0.0})
    doc = nlp("First claim here. Second claim there.")
    assert [s._.overclaim.text for s in doc.sents] == ["First claim here.", "Second claim there."]
    assert all(s._.overclaim.status == "flagged" for s in doc.sents)


def test_component_matches_scorer(scorer):
    nlp = spacy.blank("en")
    nlp.add_pipe("overclaim")
    text = "Exosomes rebuild cartilage. A 2020 trial of 50 knees found no benefit."
    assert nlp(text)._.overclaim.score == scorer.score(text).score
