"""Cue matching: the batch token-pattern matcher finds exactly what spaCy's Matcher finds."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
from spacy.matcher import Matcher

from overclaim import Scorer
from overclaim.text.cues import CUES_DIR, CueMatcher, TokenPatterns
from overclaim.training import corpus


def _spacy_matches(matcher: CueMatcher, spec: dict, docs) -> list[set]:
    reference = Matcher(matcher.nlp.vocab)
    for name, patterns in spec.items():
        reference.add(name, patterns)
    strings = matcher.nlp.vocab.strings
    return [{(strings[i], s, e) for i, s, e in reference(doc)} for doc in docs]


def _number_soup(n: int) -> list[str]:
    """Random runs of the words and numbers the patterns are about, to reach every branch."""
    words = ("50 % 3.5 per cent of success in out 3 ten people patients n = level grade II IV "
             "A evidence months weeks later follow-up 1990 2031 2003 rate response satisfaction "
             "RCTs, . ( )").split()
    rng = random.Random(7)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 25))) for _ in range(n)]


def test_token_patterns_match_what_spacys_matcher_matches_on_the_corpus():
    matcher = CueMatcher()
    spec = json.loads((CUES_DIR / "patterns.json").read_text(encoding="utf-8"))
    texts = corpus.load()["text"].tolist() + _number_soup(2000) + ["", " ", "2019"]
    docs = list(matcher.nlp.tokenizer.pipe(texts))
    ours = [set(found) for found in TokenPatterns(spec, matcher.nlp.vocab.strings)(docs)]
    theirs = _spacy_matches(matcher, spec, docs)
    assert sum(map(len, theirs)) > 5000  # the comparison covers many matches
    mismatched = [texts[i] for i, (a, b) in enumerate(zip(ours, theirs)) if a != b]
    assert mismatched == []


@pytest.mark.parametrize("token, named", [
    ({"POS": "NOUN"}, "POS"),
    ({"LOWER": "of", "OP": "+"}, "+"),
    ({"LOWER": {"REGEX": "^a"}}, "LOWER"),
])
def test_a_pattern_the_matcher_cannot_follow_exactly_is_refused(token, named):
    strings = CueMatcher().nlp.vocab.strings
    with pytest.raises(ValueError, match="patterns.json") as error:
        TokenPatterns({"evidence": [[{"LIKE_NUM": True}, token]]}, strings)
    assert named in str(error.value)


def test_a_pattern_of_optional_tokens_only_is_refused():
    strings = CueMatcher().nlp.vocab.strings
    with pytest.raises(ValueError, match="required token"):
        TokenPatterns({"evidence": [[{"LOWER": "n", "OP": "?"}]]}, strings)


def test_scores_do_not_depend_on_the_word_cache(monkeypatch):
    """The character n-gram ids kept per word give the same rows however often the cache
    is emptied (here: after every three words)."""
    texts = corpus.load()["text"].tolist()[:400] + ["Caf\u00e9\u00a0na\u00efve cells", ""]
    scorer = Scorer.load(profile="fast")
    expected = scorer.predict_proba(texts)
    monkeypatch.setattr("overclaim.model.compile.WORD_CACHE_SIZE", 3)
    fresh = Scorer.load(profile="fast")
    assert np.array_equal(fresh.predict_proba(texts), expected)
    assert np.array_equal(fresh.predict_proba(texts[::-1]), expected[::-1])
