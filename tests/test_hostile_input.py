"""Untrusted input: the scorer never crashes, caps size before work, and stays linear."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from overclaim import InputError
from overclaim.text.segment import segment
from overclaim.inputs import decode as decode_module

ANY_CHARACTER = st.characters(codec=None, categories=None)  # includes surrogates and controls
HOSTILE = st.one_of(
    st.text(ANY_CHARACTER, max_size=400),
    st.text(st.sampled_from(list(".!?…\"'“”()[]<>/\\-•*|#\n\t \u00a0\u200b")), max_size=400),
    st.lists(st.sampled_from(["<div>", "</div>", "<p>", "<!--", "-->", "<script>", "&amp;",
                              "Stem cells heal.", "Dr.", "e.g.", "1.", "U.S.", "\n", " "]),
             max_size=80).map("".join),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HOSTILE)
def test_segment_never_crashes_and_offsets_hold(text):
    previous_end = 0
    for unit in segment(text):
        assert text[unit.start:unit.end] == unit.text
        assert unit.text.strip() == unit.text and unit.text
        assert unit.start >= previous_end
        previous_end = unit.end


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(HOSTILE)
def test_scorer_scores_or_refuses_cleanly(scorer, text):
    try:
        page = scorer.score(text)
    except InputError:
        return
    assert 0 <= page.score <= 1
    for s in page.sentences:
        assert page.text[s.start:s.end] == s.text


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=2000))
def test_bytes_score_or_refuse_cleanly(scorer, raw):
    try:
        scorer.score(raw)
    except InputError:
        pass


ADVERSARIAL = {
    "no spaces": lambda n: "a" * n,
    "punctuation": lambda n: "!" * n,
    "dots": lambda n: ". " * (n // 2),
    "nested tags": lambda n: "<div>" * (n // 10) + "x" + "</div>" * (n // 10),
    "unclosed tags": lambda n: "<p" * (n // 2),
    "mixed scripts": lambda n: ("Стволовые 干细胞 خلايا stem cells. " * (n // 32 + 1))[:n],
    "control characters": lambda n: ("\x00\x01\x1b[31m\x7f" * (n // 8 + 1))[:n],
    "lone surrogates": lambda n: ("\ud800 heal \udfff" * (n // 12 + 1))[:n],
    "bullets": lambda n: ("- \n" * (n // 3 + 1))[:n],
    "spaces after a full stop": lambda n: "Stem cells heal your discs." + " " * n + "x",
    "many short lines": lambda n: "a\n" * (n // 2),
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_adversarial_megabyte_inputs_finish(scorer, name):
    text = ADVERSARIAL[name](1_000_000)
    try:
        page = scorer.score(text)
    except InputError:
        return
    assert all(len(s.text) <= 1000 for s in page.sentences)


def _seconds(function) -> float:
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("name", ["no spaces", "punctuation", "dots", "nested tags",
                                  "unclosed tags", "bullets", "spaces after a full stop",
                                  "many short lines"])
def test_time_grows_linearly(scorer, name):
    """Four times the input takes about four times as long, never sixteen (no backtracking)."""
    def run(n):
        def call():
            try:
                scorer.score(ADVERSARIAL[name](n))
            except InputError:
                pass
        return call
    small, large = _seconds(run(50_000)), _seconds(run(200_000))
    assert large / max(small, 1e-3) < 8, (small, large)


def test_size_cap_is_applied_before_any_work(scorer, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("extraction started on an over-size input")

    monkeypatch.setattr(decode_module, "from_text", forbidden)
    monkeypatch.setattr(decode_module, "from_bytes", forbidden)
    capped = scorer.with_options(max_bytes=1000)
    with pytest.raises(InputError, match="over the size cap"):
        capped.score("x" * 1001)
    with pytest.raises(InputError, match="over the size cap"):
        capped.score(b"x" * 1001)
    with pytest.raises(InputError, match="over the size cap"):
        capped.score_sentences(["x" * 600, "y" * 600])


def test_long_sentences_and_punctuation_runs_are_capped_per_unit(scorer):
    """No single unit reaches the tokenizer longer than MAX_UNIT_CHARS, however it arrives."""
    from overclaim.limits import MAX_UNIT_CHARS

    results = scorer.score_sentences(["!" * 20_000, "Stem cells heal. " * 2000])
    assert [r.end for r in results] == [MAX_UNIT_CHARS, MAX_UNIT_CHARS]
    assert all(len(r.text) == MAX_UNIT_CHARS for r in results)


def test_per_word_memos_stay_bounded(scorer):
    """Distinct long words (a hostile vocabulary) are scored but not remembered, and no memo
    grows past its size."""
    from overclaim import limits
    from overclaim.cache import WordMemo
    from overclaim.text.tokenizer import english

    long_words = " ".join(f"{i:06d}" + "x" * 200 for i in range(300))
    scorer.score(long_words)
    assert max(map(len, english()._memo), default=0) <= limits.CACHED_WORD_MAX_CHARS
    memo = WordMemo()
    for i in range(limits.WORD_CACHE_SIZE + 10):
        memo.remember(f"w{i}", i)
    assert 0 < len(memo) <= limits.WORD_CACHE_SIZE
