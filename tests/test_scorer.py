"""The library API on sentences and pages, with example sentences written for these tests."""

from __future__ import annotations

import json
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest

from overclaim import SCHEMA_VERSION, InputError, Scorer, ScoringOptions
from overclaim.training.corpus import CATEGORIES, LABELS

# Written for the tests (not in the corpus), labelled by hand before the model saw them.
EXAMPLES = [
    ("Our exosome facials rebuild collagen from the inside out, so your skin looks ten years younger.", "overclaim"),
    ("Thousands of satisfied clients can't be wrong: ozone injections melt away arthritis pain.", "overclaim"),
    ("This drip flushes toxins and supercharges your immune system before flu season.", "overclaim"),
    ("Skip the knee replacement: our cell therapy regrows cartilage naturally.", "overclaim"),
    ("With zero downtime and no risk of rejection, it is the safest option available.", "overclaim"),
    ("Peptide therapy may help your tendons regenerate faster than ever before.", "overclaim"),
    ("After just two sessions my migraines vanished and I finally have my life back!", "overclaim"),
    ("91% of our patients report lasting improvement.", "overclaim"),
    ("There is no good evidence that IV vitamin drips improve energy in healthy people.", "hedged"),
    ("Hyperbaric oxygen for autism is not approved and has not been shown to work in controlled trials.", "hedged"),
    ("Infections, nerve damage and blood clots have been reported after these injections.", "hedged"),
    ("Laser therapy may one day help neuropathy, but no randomised trial has yet shown a benefit.", "hedged"),
    ("In a 2019 randomised trial of 120 adults, shockwave therapy reduced heel pain more than sham treatment at 12 weeks.", "supported"),
    ("A 2021 systematic review of 14 trials found that PRP modestly reduced knee pain compared with saline at six months.", "supported"),
    ("Our clinic is open Monday to Friday from 8am to 6pm.", "neutral"),
    ("The rotator cuff is a group of four muscles that stabilise the shoulder.", "neutral"),
    ("Parking is available behind the building.", "neutral"),
    ("Blood is drawn from your arm and spun in a centrifuge.", "neutral"),
]


@pytest.mark.parametrize("text, expected", EXAMPLES)
def test_example_is_never_on_the_wrong_side(scorer, text, expected):
    """Overclaims are never cleared; other sentences are never flagged (the default,
    accurate profile; the fast one clears two short claims scored alone, "Thousands of
    satisfied clients..." and "This drip flushes toxins...", a known weakness)."""
    result = scorer.score_sentences([text])[0]
    if expected == "overclaim":
        assert result.status != "clear", result.overclaim
    else:
        assert result.status != "flagged", result.overclaim


def test_example_labels_mostly_right(scorer):
    results = scorer.score_sentences([t for t, _ in EXAMPLES])
    correct = sum(r.label == expected for r, (_, expected) in zip(results, EXAMPLES))
    assert correct / len(EXAMPLES) >= 0.85


def test_sentence_result_fields(scorer):
    result = scorer.score_sentences(["Stem cells safely repair damaged discs without surgery."])[0]
    assert set(result.scores) == set(LABELS)
    assert abs(sum(result.scores.values()) - 1) < 1e-3
    assert result.overclaim == result.scores["overclaim"]
    assert result.flagged == (result.status == "flagged")
    assert {c.cue for c in result.cues} >= {"benefit", "safety"}
    assert set(result.categories) <= set(CATEGORIES) and result.categories
    assert result.contributions and all(c["weight"] > 0 for c in result.contributions)
    json.dumps(result.to_dict())


def test_empty_batch(scorer):
    assert scorer.score_sentences([]) == []


PAGE = """Why Our PRP Works When Nothing Else Does
PRP heals torn tendons naturally and permanently. It is completely safe.
Opening hours
We are open Monday to Friday.
What the research says
A 2020 randomised trial of 80 adults found PRP no better than saline at 12 months.
"""


def test_page_result(scorer):
    page = scorer.score(PAGE)
    assert 0 <= page.score <= 1
    assert page.flagged
    flagged = [s.text for s in page.sentences if s.flagged]
    assert "PRP heals torn tendons naturally and permanently." in flagged
    for s in page.sentences:
        assert PAGE[s.start:s.end] == s.text == page.text[s.start:s.end]
    passage = page.passages[0]
    assert page.text[passage.start:passage.end] == passage.text
    data = page.to_dict()
    assert data["schema"] == SCHEMA_VERSION
    assert set(data["categories"]) == set(CATEGORIES)
    assert all(isinstance(v, bool) for v in data["categories"].values())
    assert [(s["begin"], s["end"]) for s in data["spans"]] == [
        (s.start, s.end) for s in page.sentences if s.flagged]
    assert data["model"]["sha256"] == scorer.bundle.sha256
    assert len(data["input_sha256"]) == 64
    json.dumps(data)


def test_promotional_page_outranks_cautious_page(scorer):
    promo = scorer.score("Regrow cartilage with stem cells! Our patients walk pain-free in weeks. "
                         "Safe, natural and proven.")
    cautious = scorer.score("Stem cell injections for knee arthritis remain experimental. "
                            "No large trial has shown lasting benefit. Ask your doctor about exercise.")
    assert promo.score > cautious.score


def test_html_input_is_extracted(scorer):
    html = ("<html><body><nav>Home | Book</nav><main><h1>Exosome Therapy</h1>"
            "<p>Exosomes reverse ageing at the cellular level.</p></main></body></html>")
    page = scorer.score(html)
    assert "Exosomes reverse ageing at the cellular level." in [s.text for s in page.sentences]
    assert not any("<" in s.text for s in page.sentences)


def test_thresholds_from_options(scorer):
    text = ["PRP may help your hair grow back thicker."]
    strict = scorer.with_options(flag_threshold=0.999, review_threshold=0.998)
    loose = scorer.with_options(flag_threshold=0.001, review_threshold=0.0)
    assert strict.score_sentences(text)[0].status == "clear"
    assert loose.score_sentences(text)[0].status == "flagged"


def test_reported_categories_option(scorer):
    only_safety = scorer.with_options(categories=("safety",))
    page = only_safety.score("Totally safe, no side effects, and it cures arthritis.")
    assert set(page.category_scores) == {"safety"}
    assert all(set(s.categories) <= {"safety"} for s in page.sentences)


def test_size_cap_applies_before_work(scorer):
    capped = scorer.with_options(max_bytes=100)
    with pytest.raises(InputError, match="over the size cap"):
        capped.score("a" * 10_000)


def test_score_many_keeps_order_and_matches_score(scorer):
    texts = [f"Stem cell therapy number {i} heals everything." if i % 2 else
             f"Appointment slot {i} is on Tuesday." for i in range(8)]
    one_by_one = [scorer.score(t).score for t in texts]
    assert [r.score for r in scorer.score_many(texts)] == one_by_one
    assert [r.score for r in scorer.score_many(iter(texts), n_jobs=2)] == one_by_one


def test_fast_workers_fork_when_safe_and_score_the_same(fast_scorer, scorer, monkeypatch):
    """Forked workers share the loaded fast model; the accurate profile (onnxruntime's
    threads) and a process running other threads start theirs with spawn."""
    from overclaim.scoring.workers import start_method

    texts = [f"Our stem cells regrow cartilage in {i} weeks." if i % 2 else
             f"The clinic is closed on day {i}." for i in range(12)]
    one_by_one = [fast_scorer.score(t).score for t in texts]
    assert [r.score for r in fast_scorer.score_many(texts, n_jobs=2)] == one_by_one
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    if "fork" in multiprocessing.get_all_start_methods():
        assert start_method(fast_scorer) == "fork"
    assert start_method(scorer) == "spawn"  # the accurate profile
    monkeypatch.setattr(threading, "active_count", lambda: 2)  # say, a crawl's fetcher
    assert start_method(fast_scorer) == "spawn"


def test_scorer_is_thread_safe(scorer):
    """Calls side by side in threads give what the same calls give one after another."""
    texts = [t for t, _ in EXAMPLES] * 3
    expected = [scorer.score_sentences([t])[0].overclaim for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(lambda t: scorer.score_sentences([t])[0].overclaim, texts))
    assert got == expected


@pytest.mark.parametrize("profile", ["accurate", "fast"])
def test_a_unit_scores_the_same_alone_and_in_a_batch(profile):
    """A unit's score never depends on what else is scored with it (the int8 encoder is
    run one unit at a time for this: batched, its quantization moved scores by 0.04)."""
    scorer = Scorer.load(profile=profile)
    texts = [t for t, _ in EXAMPLES]
    batched = [r.overclaim for r in scorer.score_sentences(texts)]
    assert batched == [scorer.score_sentences([t])[0].overclaim for t in texts]


def test_score_frame(scorer):
    frame = pd.DataFrame({"id": [1, 2], "copy": ["Cures back pain for good!", "Call 555-0100."]})
    out = scorer.score_frame(frame, "copy")
    assert list(out["id"]) == [1, 2]
    assert out.loc[0, "overclaim_score"] > out.loc[1, "overclaim_score"]
    assert "overclaim_score" not in frame.columns
    with pytest.raises(KeyError):
        scorer.score_frame(frame, "missing")


def test_category_thresholds_flag_sooner(scorer):
    text = ["It is gentle, natural and has no side effects."]
    plain = scorer.with_options(flag_threshold=0.999).score_sentences(text)[0]
    assert plain.status != "flagged"
    safety = plain.category_scores["safety"]
    sooner = scorer.with_options(flag_threshold=0.999,
                                 category_thresholds={"safety": safety / 2})
    assert sooner.score_sentences(text)[0].status == "flagged"


BAD_ROWS = ["Stem cells cure autism and rebuild damaged nerves.", "", None, b"\x00\x01",
            "PRP regrows hair in every patient."]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_one_bad_item_never_sinks_a_batch(scorer, n_jobs):
    results = list(scorer.score_many(BAD_ROWS, n_jobs=n_jobs))
    assert [r.error is None for r in results] == [True, False, False, False, True]
    assert [r.score is None for r in results] == [False, True, True, True, False]
    record = results[2].to_dict()
    assert record["error"].startswith("missing value") and record["flagged"] is None
    assert {"schema", "model", "options", "scored_at", "input_sha256"} <= set(record)
    with pytest.raises(InputError):
        scorer.score("")


def test_score_frame_marks_bad_rows(scorer):
    import pandas as pd

    out = scorer.score_frame(pd.DataFrame({"copy": BAD_ROWS}), "copy")
    assert out["overclaim_error"].isna().tolist() == [True, False, False, False, True]
    assert out["overclaim_score"].notna().tolist() == [True, False, False, False, True]


@pytest.mark.parametrize("profile", ["accurate", "fast"])
def test_predict_proba_is_the_arrays_only_path(profile):
    """Pipelines get the same probabilities as score_sentences, as one array."""
    import numpy as np

    scorer = Scorer.load(profile=profile)
    texts = [t for t, _ in EXAMPLES]
    proba = scorer.predict_proba(texts)
    assert proba.shape == (len(texts), len(LABELS))
    results = scorer.score_sentences(texts)
    np.testing.assert_allclose(proba, [[r.scores[label] for label in LABELS] for r in results],
                               atol=5e-5)
    assert scorer.predict_proba([]).shape == (0, len(LABELS))
    with pytest.raises(InputError):
        scorer.with_options(max_bytes=10).predict_proba(["x" * 11])


def test_a_page_scored_in_chunks_scores_as_one_call(scorer, monkeypatch):
    """Long pages are scored SCORE_CHUNK_UNITS units at a time (bounded memory), with the
    whole page as context: chunking changes nothing in the result."""
    import overclaim.scoring.scorer as scorer_module

    page = "\n\n".join(f"{text} Item {i}." for i, (text, _) in enumerate(EXAMPLES * 3))
    texts = [t for t, _ in EXAMPLES * 2]
    whole, whole_proba = scorer.score(page).to_dict(), scorer.predict_proba(texts)
    monkeypatch.setattr(scorer_module, "SCORE_CHUNK_UNITS", 7)
    chunked, chunked_proba = scorer.score(page).to_dict(), scorer.predict_proba(texts)
    assert len(chunked["sentences"]) > 14 and len(texts) > 14
    whole.pop("scored_at"), chunked.pop("scored_at")
    assert chunked == whole
    # matrix products of another shape may round the last bit differently
    assert abs(chunked_proba - whole_proba).max() < 1e-12
