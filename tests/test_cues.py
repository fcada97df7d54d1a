"""Cue matching finds exactly what spaCy's PhraseMatcher and Matcher find, without spaCy."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import spacy
from spacy.matcher import Matcher, PhraseMatcher

from overclaim import Scorer
from overclaim.text.cues import CUES_DIR, CueMatcher, TokenPatterns, _read_lexicon
from overclaim.training import corpus


def _number_soup(n: int) -> list[str]:
    """Random runs of the words and numbers the patterns are about, to reach every branch."""
    words = ("50 % 3.5 per cent of success in out 3 ten people patients n = level grade II IV "
             "A evidence months weeks later follow-up 1990 2031 2003 rate response satisfaction "
             "RCTs, . ( ) proven safe no side effects root cause FDA-registered may heal").split()
    rng = random.Random(7)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 25))) for _ in range(2000)]


def _spacy_matches(texts: list[str]) -> list[set]:
    """(cue, start token, end token) as spaCy's own matchers find them."""
    nlp = spacy.blank("en")
    phrases = PhraseMatcher(nlp.vocab, attr="LOWER")
    patterns = Matcher(nlp.vocab)
    for name in json.loads((CUES_DIR / "cues.json").read_text(encoding="utf-8")):
        path = CUES_DIR / f"{name}.txt"
        if path.is_file():
            phrases.add(name, list(nlp.tokenizer.pipe(_read_lexicon(path))))
    for name, token_patterns in json.loads((CUES_DIR / "patterns.json").read_text()).items():
        patterns.add(name, token_patterns)
    out = []
    for doc in nlp.tokenizer.pipe(texts):
        found = {(nlp.vocab.strings[i], s, e) for i, s, e in phrases(doc)}
        out.append(found | {(nlp.vocab.strings[i], s, e) for i, s, e in patterns(doc)})
    return out


def test_cue_matches_are_spacys_on_the_corpus():
    texts = corpus.load()["text"].tolist() + _number_soup(2000) + ["", " ", "2019", "a  b"]
    matcher = CueMatcher()
    docs = [matcher.tokenizer(text) for text in texts]
    ours = [set(matcher._phrase_hits(doc)) | set(hits)
            for doc, hits in zip(docs, matcher._patterns(docs))]
    theirs = _spacy_matches(texts)
    assert sum(map(len, theirs)) > 20_000  # the comparison covers many matches
    assert [texts[i] for i, (a, b) in enumerate(zip(ours, theirs)) if a != b] == []


@pytest.mark.parametrize("token, named", [
    ({"POS": "NOUN"}, "POS"),
    ({"LOWER": "of", "OP": "+"}, "+"),
    ({"LOWER": {"REGEX": "^a"}}, "LOWER"),
])
def test_a_pattern_the_matcher_cannot_follow_exactly_is_refused(token, named):
    with pytest.raises(ValueError, match="patterns.json") as error:
        TokenPatterns({"evidence": [[{"LIKE_NUM": True}, token]]}, str.isdigit)
    assert named in str(error.value)


def test_a_pattern_of_optional_tokens_only_is_refused():
    with pytest.raises(ValueError, match="required token"):
        TokenPatterns({"evidence": [[{"LOWER": "n", "OP": "?"}]]}, str.isdigit)


def test_scores_do_not_depend_on_the_word_cache(monkeypatch):
    """The character n-gram ids kept per word give the same rows however often the memo
    is emptied (here: after every three words) and whichever words it declines to keep."""
    texts = corpus.load()["text"].tolist()[:400] + ["Caf\u00e9\u00a0na\u00efve cells", ""]
    scorer = Scorer.load(profile="fast")
    expected = scorer.predict_proba(texts)
    monkeypatch.setattr("overclaim.limits.WORD_CACHE_SIZE", 3)
    monkeypatch.setattr("overclaim.limits.CACHED_WORD_MAX_CHARS", 6)
    fresh = Scorer.load(profile="fast")
    assert np.array_equal(fresh.predict_proba(texts), expected)
    assert np.array_equal(fresh.predict_proba(texts[::-1]), expected[::-1])
