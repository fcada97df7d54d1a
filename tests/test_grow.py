"""Growing the corpus: suggestions to label and suspected label errors."""

from __future__ import annotations

import json

import pandas as pd

from overclaim.training import corpus
from overclaim.training import grow
from overclaim.adapters.cli import main
from overclaim.model.estimators import Params
from overclaim.model import artifact

SHIPPED = str(artifact.default_card())  # resolved before a test moves the project home


def test_suggest_then_add(tiny_corpus, runner, tmp_path):
    page = tmp_path / "new-page.txt"
    page.write_text("Hair Restoration\nOur PRP protocol regrows thinning hair in three sessions.\n"
                    "A 2018 trial of 40 men found a small gain in hair count.\n")
    out = tmp_path / "to-label.csv"
    result = runner.invoke(main, ["corpus", "suggest", str(page), "--treatment", "prp-hair",
                                  "--voice", "clinic-service", "--page-kind", "promotional",
                                  "-o", str(out), "--model", SHIPPED])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(rows) == 3
    uncertainty = rows["uncertainty"].astype(float).tolist()
    assert uncertainty == sorted(uncertainty, reverse=True)
    assert set(rows["suggested"]) <= set(corpus.LABELS)
    copied = tiny_corpus / "corpus" / "documents" / "authored" / "new-page.txt"
    assert copied.read_text() == page.read_text()
    tasks = json.loads(out.with_suffix(".labelstudio.json").read_text())
    assert [t["data"]["text"] for t in tasks] == rows["text"].tolist()
    assert tasks[0]["predictions"][0]["result"][0]["value"]["choices"][0] in corpus.LABELS
    assert "<Choices" in out.with_suffix(".labelstudio.xml").read_text()
    # label them and merge back
    rows["label"] = rows["text"].map(lambda t: "overclaim" if "regrows" in t else
                                     "supported" if "trial" in t else "neutral")
    rows["categories"] = rows["label"].map({"overclaim": "efficacy"}).fillna("")
    rows.to_csv(out, index=False)
    assert runner.invoke(main, ["corpus", "add", str(out)]).exit_code == 0
    assert runner.invoke(main, ["corpus", "validate"]).exit_code == 0
    # nothing is overwritten
    again = runner.invoke(main, ["corpus", "suggest", str(page), "--treatment", "prp-hair",
                                  "--voice", "clinic-service", "--page-kind", "promotional",
                                 "-o", str(out), "--model", SHIPPED])
    assert again.exit_code == 2 and "not overwriting" in again.output


def test_suspects_point_at_flipped_labels():
    """Flip twenty overclaims to neutral: held-out predictions should find them at least
    twice as often as a random pick of the same size would."""
    frame = corpus.load()
    docs = sorted(frame["doc"].unique())[::5][:70]
    small = frame[frame["doc"].isin(docs)].reset_index(drop=True)
    flipped = small.index[small["text"].str.contains("heal|repair|regenerat|cure", case=False)
                          & small["label"].eq("overclaim")][:20]
    assert len(flipped) == 20
    small.loc[flipped, ["label", "categories"]] = ["neutral", ""]
    found = grow.suspects(small, Params(calibration_folds=3), min_confidence=0.5, folds=3)
    keys = set(zip(found["doc"], found["start"]))
    hits = sum((small.loc[i, "doc"], small.loc[i, "start"]) in keys for i in flipped)
    by_chance = len(flipped) * len(found) / len(small)
    assert len(found) < 0.25 * len(small)
    assert hits >= 2 * by_chance, (hits, by_chance)
    assert set(found.columns) == {"doc", "start", "end", "label", "predicted", "confidence", "text"}
    assert (found["label"] != found["predicted"]).all()
    assert found["confidence"].is_monotonic_decreasing
