"""The quality gate re-measures; nested thresholds; the category model's own figures."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from overclaim.adapters.cli import EXIT_CHECK, EXIT_TOOL, main
from overclaim.model import artifact
from overclaim.model import estimators as model_lib
from overclaim.schema import CATEGORIES, LABELS
from overclaim.training import corpus
from overclaim.training import evaluate as ev
from overclaim.training import gate
from overclaim.training import train

SEED_METRICS = ("seed_transfer_overclaim_roc_auc", "seed_transfer_overclaim_f1")


@pytest.fixture
def gate_file(tmp_path, monkeypatch):
    """A gate file in a temporary folder; returns a function that pins the given floors."""
    path = tmp_path / gate.GATE_FILE
    monkeypatch.setattr(gate, "gate_path", lambda: path)

    def write(floors, corpus_sha256=None):
        pinned = {"corpus_sha256": corpus_sha256 or corpus.corpus_hash(), "model": "m",
                  "floors": floors}
        path.write_text(json.dumps(pinned))
        return path

    return write


@pytest.fixture
def measured(monkeypatch):
    """Replace the two-minute re-measurement with fixed figures (the comparison is tested)."""
    figures = {"seed_transfer_overclaim_roc_auc": 0.8, "seed_transfer_overclaim_f1": 0.6}
    monkeypatch.setattr(gate, "measure", lambda params, frame, n_jobs=1, progress=None: figures)
    return figures


def test_gate_fails_when_a_floor_is_above_the_measured_value(runner, gate_file, measured):
    gate_file({"seed_transfer_overclaim_roc_auc": 0.81, "seed_transfer_overclaim_f1": 0.5})
    result = runner.invoke(main, ["gate"])
    assert result.exit_code == EXIT_CHECK, result.output
    assert "seed_transfer_overclaim_roc_auc = 0.8 is below its floor 0.81" in result.stdout
    assert "BELOW FLOOR" in result.stdout


def test_gate_passes_when_floors_are_below(runner, gate_file, measured):
    gate_file({"seed_transfer_overclaim_roc_auc": 0.79, "seed_transfer_overclaim_f1": 0.6,
               "grouped_cv_overclaim_f1": 0.9})
    result = runner.invoke(main, ["gate", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] and not report["problems"] and not report["corpus"]["changed"]
    rows = {row["metric"]: row for row in report["metrics"]}
    assert rows["seed_transfer_overclaim_f1"] == {
        "metric": "seed_transfer_overclaim_f1", "measured": 0.6, "floor": 0.6, "ok": True,
        "status": "ok"}
    assert rows["grouped_cv_overclaim_f1"]["status"] == "not re-measured"


def test_gate_never_reads_floors_or_figures_from_the_card(gate_file, measured):
    """Floors come from the gate file only; the card's own metrics are never compared."""
    card, _ = artifact.read_card(artifact.default_card(profile="fast"))
    floors = {"seed_transfer_overclaim_roc_auc": 0.5, "seed_transfer_overclaim_f1": 0.65}
    gate_file(floors)
    for claimed in (0.0, 1.0):
        card["gate_metrics"] = {key: claimed for key in gate.GATED}
        card["metrics"] = {}
        result = gate.check(card)
        assert {r.metric: r.floor for r in result.rows} == floors
        assert {r.metric: r.measured for r in result.rows} == measured
        assert result.problems == ["seed_transfer_overclaim_f1 = 0.6 is below its floor 0.65"]


def test_changed_corpus_is_a_warning_not_a_failure(runner, gate_file, measured):
    gate_file({"seed_transfer_overclaim_f1": 0.5}, corpus_sha256="0" * 64)
    result = runner.invoke(main, ["gate"])
    assert result.exit_code == 0, result.output
    assert "warning: the corpus changed since the floors were pinned" in result.stderr


@pytest.mark.parametrize("content, message", [
    ({"floors": {}}, "pins no floors"),
    ({"floors": {"seed_transfer_recall": 0.5}}, "unknown gated metrics seed_transfer_recall"),
    ({"floors": {"seed_transfer_overclaim_f1": "high"}}, "must be a number in [0, 1]"),
])
def test_unusable_gate_file_is_one_line_and_exit_4(runner, gate_file, measured, content, message):
    gate.gate_path().write_text(json.dumps(content))
    result = runner.invoke(main, ["gate"])
    assert result.exit_code == EXIT_TOOL and message in result.stderr
    assert "Traceback" not in result.output


def test_train_and_gate_share_the_metric_names_and_comparison(tmp_path, monkeypatch):
    monkeypatch.setattr(train, "gate_path", lambda: tmp_path / "gate.json")
    card = {"name": "m", "corpus": {"sha256": "x"},
            "gate_metrics": {"seed_transfer_overclaim_f1": 0.7, "grouped_cv_macro_f1": 0.9}}
    pinned = train.pin_gate(card)
    assert pinned["floors"] == {"grouped_cv_macro_f1": 0.89, "seed_transfer_overclaim_f1": 0.69}
    assert train.GATED is gate.GATED and train.gate_metrics is gate.gate_metrics
    rows = gate.compare({"seed_transfer_overclaim_f1": 0.6}, gate.floors(pinned))
    assert [(r.metric, r.ok) for r in rows] == [("grouped_cv_macro_f1", None),
                                                 ("seed_transfer_overclaim_f1", False)]
    assert train.check_gate({**card, "gate_metrics": {"seed_transfer_overclaim_f1": 0.6}}) == [
        "grouped_cv_macro_f1 = None is below its floor 0.89",
        "seed_transfer_overclaim_f1 = 0.6 is below its floor 0.69"]


def _small_corpus(authored_docs: int = 6):
    """The seed document with the most overclaims and a few authored documents, spread over
    the corpus, enough of them that every label has a few units to train on."""
    frame = corpus.load()
    seed = frame[frame["source"].eq("seed") & frame["label"].eq("overclaim")]["doc"].mode()[0]
    authored = frame[frame["source"].eq("authored")]["doc"].drop_duplicates().tolist()
    chosen = [seed]
    for doc in authored[::37]:
        chosen.append(doc)
        counts = frame[frame["doc"].isin(chosen[1:])]["label"].value_counts()
        if len(chosen) > authored_docs and (counts.reindex(LABELS).fillna(0) >= 5).all():
            break
    return frame[frame["doc"].isin(chosen)].reset_index(drop=True)


def test_measure_is_the_seed_transfer_figure_train_records():
    """The gate re-measures exactly what the card's seed-transfer figures measure."""
    small = _small_corpus()
    # light settings: on a few hundred units the tight solver tolerance makes C=4 slow
    params = model_lib.Params(C=0.5, char_ngrams=(3, 4), calibration_folds=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = gate.measure(params, small, n_jobs=1)
        evaluation = ev.evaluate(small, params, settings=("seed-transfer",))
    assert set(again) == set(SEED_METRICS)
    assert again == pytest.approx(gate.gate_metrics(evaluation.to_dict()), abs=1e-6)
    assert 0 <= again["seed_transfer_overclaim_f1"] <= 1


def _two_kinds_of_documents():
    """Five documents. In four, overclaims score 0.50-0.95 and the rest 0.0; in the fifth,
    overclaims score 0.9 and the rest 0.6: thresholds chosen on all five separate them
    perfectly, thresholds chosen without the fifth flag its 0.6s."""
    scores, labels, docs = [], [], []
    for doc in range(5):
        positive = np.linspace(0.5, 0.95, 10) if doc < 4 else np.full(10, 0.9)
        negative = np.zeros(10) if doc < 4 else np.full(10, 0.6)
        scores += [*positive, *negative]
        labels += ["overclaim"] * 10 + ["neutral"] * 10
        docs += [f"d{doc}"] * 20
    return np.array(labels), np.array(scores), np.array(docs)


def test_nested_thresholds_are_measured_on_held_out_documents():
    y, score, docs = _two_kinds_of_documents()
    in_sample = ev.choose_thresholds(y, score)
    assert in_sample["flag_precision"] == 1.0
    nested = ev.nested_thresholds(y, score, docs)
    assert nested["folds"] == 5
    # four folds keep 0.65 (7 of 10 overclaims flagged, no error); without the fifth
    # document the flag falls to 0.5 and its ten 0.6s are flagged with its ten overclaims
    assert nested["flag_precision"] == pytest.approx(38 / 48, abs=1e-4)
    assert nested["flag_recall"] == pytest.approx(38 / 50, abs=1e-4)
    assert nested["flag_range"] == [0.5, 0.65]
    assert 0 <= nested["review_range"][0] <= nested["review_range"][1] <= 1
    assert sorted(nested["flag_thresholds"]) == [0.5] + [0.65] * 4


def test_category_evaluation_has_a_row_per_category():
    frame = corpus.load()
    small = frame[frame["doc"].isin(frame["doc"].drop_duplicates().tolist()[::8])]
    result = ev.category_evaluation(small, folds=3)
    assert list(result["per_category"]) == list(CATEGORIES)
    assert result["units"] == small["label"].eq("overclaim").sum() > 0
    for row in result["per_category"].values():
        for key in ("precision", "recall", "f1"):
            assert 0 <= row[key] <= 1
        assert row["roc_auc"] is None or 0 <= row["roc_auc"] <= 1
        assert 0 <= row["support"] <= result["units"]
    assert result["folds"] == 3 and 0 < result["macro_f1"] <= 1
    assert result["per_category"]["efficacy"]["roc_auc"] > 0.5  # better than chance


def test_model_card_reports_nested_thresholds_and_categories():
    """MODEL_CARD.md says the in-sample precision is in-sample and shows the nested figures."""
    card, _ = artifact.read_card(artifact.default_card(profile="fast"))
    y, score, docs = _two_kinds_of_documents()
    card["thresholds"]["nested"] = ev.nested_thresholds(y, score, docs)
    row = {"precision": 0.9, "recall": 0.8, "f1": 0.847, "roc_auc": None, "support": 0}
    card["category_evaluation"] = {"units": 10, "documents": 3, "folds": 3, "threshold": 0.5,
                                   "macro_f1": 0.847, "why": "held out",
                                   "per_category": {name: row for name in CATEGORIES}}
    text = train.model_card_markdown(card)
    assert "on the grouped-CV predictions it was chosen on" in text
    assert "held-out precision" not in text
    assert "on documents they were not chosen on" in text and "precision 0.7917" in text
    assert "## Category model (held-out)" in text
    assert "| efficacy | 0.900 | 0.800 | 0.847 | - | 0 |" in text
