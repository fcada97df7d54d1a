"""Shipping the model: integrity check, version warning, quality gate, reproducible training."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from overclaim import Scorer, corpus
from overclaim import evaluate as ev
from overclaim import artifact
from overclaim import model as model_lib
from overclaim import train
from overclaim.scorer import default_model_path

from .conftest import copy_model


def test_shipped_model_loads_and_matches_card():
    bundle = artifact.load(default_model_path())
    assert bundle.sha256 == bundle.card["sha256"]
    assert list(bundle.card["labels"]) == list(corpus.LABELS)
    assert 0 < bundle.thresholds["review"] <= bundle.thresholds["flag"] < 1


def test_tampered_model_is_refused(tmp_path):
    path = copy_model(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(artifact.ModelError, match="does not match its card"):
        Scorer.load(path)


def test_tampered_fast_model_is_refused(tmp_path):
    path = copy_model(tmp_path)
    fast = artifact.fast_path(path)
    fast.write_bytes(fast.read_bytes() + b"\0")
    with pytest.raises(artifact.ModelError, match="fast.pkl does not match its card"):
        Scorer.load(path)


def test_missing_card_is_refused(tmp_path):
    path = copy_model(tmp_path)
    artifact.card_path(path).unlink()
    with pytest.raises(artifact.ModelError, match="no card"):
        Scorer.load(path)


def test_other_sklearn_version_warns(tmp_path):
    path = copy_model(tmp_path)
    card_file = artifact.card_path(path)
    card = json.loads(card_file.read_text())
    card["versions"]["scikit-learn"] = "0.0.1"
    card_file.write_text(json.dumps(card))
    with pytest.warns(UserWarning, match="trained with scikit-learn 0.0.1"):
        Scorer.load(path)


def test_card_records_provenance():
    card = artifact.load(default_model_path()).card
    for key in ("corpus", "code_version", "versions", "params", "thresholds", "metrics",
                "intended_use", "limitations"):
        assert card[key]
    assert set(card["metrics"]) >= {"grouped-cv", "seed-transfer"}
    for setting in ("grouped-cv", "seed-transfer"):
        assert set(card["metrics"][setting]) == {"overclaim", "tfidf+lr", "cue-count rule"}
    assert len(card["metrics"]["seed_transfer_page_scores"]) == 5


def test_quality_gate():
    """The shipped model meets the pinned floors, on the corpus the gate pins."""
    card = artifact.load(default_model_path()).card
    gate = train.read_gate()
    assert gate["floors"], "no floors pinned"
    assert gate["corpus_sha256"] == corpus.corpus_hash(), (
        "the corpus changed since the gate was pinned: retrain with `overclaim train --pin`")
    assert train.check_gate(card, gate) == []


def test_gate_refuses_lower_floors_without_flag(tmp_path, monkeypatch):
    monkeypatch.setattr(train, "gate_path", lambda: tmp_path / "gate.json")
    card = {"name": "m", "corpus": {"sha256": "x"}, "gate_metrics": {"grouped_cv_overclaim_f1": 0.8}}
    train.pin_gate(card)
    worse = {**card, "gate_metrics": {"grouped_cv_overclaim_f1": 0.5}}
    assert train.check_gate(worse) == [
        "grouped_cv_overclaim_f1 = 0.5 is below its floor 0.79"]
    with pytest.raises(train.GateError, match="--allow-lower"):
        train.pin_gate(worse)
    assert train.pin_gate(worse, allow_lower=True)["floors"]["grouped_cv_overclaim_f1"] == 0.49


def test_training_reproduces_shipped_predictions():
    """Fitting again on the same corpus and settings gives the shipped model's predictions."""
    bundle = artifact.load(default_model_path())
    frame = ev.corpus_frame(corpus.load(), bundle.model.params.context_window)
    categories = [corpus.split_categories(c) for c in corpus.load()["categories"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        refit = model_lib.fit(frame, frame["label"], categories, bundle.model.params)
    sample = frame.iloc[::7]
    np.testing.assert_array_equal(refit.predict_proba(sample), bundle.model.predict_proba(sample))
    np.testing.assert_array_equal(refit.category_proba(sample), bundle.model.category_proba(sample))


def test_thresholds_reach_target_precision():
    y = np.array(["overclaim"] * 50 + ["neutral"] * 50)
    score = np.r_[np.linspace(0.4, 1.0, 50), np.linspace(0.0, 0.6, 50)]
    t = ev.choose_thresholds(y, score)
    flagged = score >= t["flag"]
    assert (y[flagged] == "overclaim").mean() >= 0.85
    assert t["review"] <= t["flag"]
    assert ((score >= t["review"]) & (y == "overclaim")).sum() >= 0.95 * 50
