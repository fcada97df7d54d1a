"""The compiled form is the fitted model's arithmetic, for any estimator with compilers."""

from __future__ import annotations

import numpy as np
import pytest

from overclaim import Scorer
from overclaim.errors import ModelError
from overclaim.model import artifact
from overclaim.model import estimators as model_lib
from overclaim.model.compile import CompiledModel, compile_estimator
from overclaim.schema import CATEGORIES, LABELS
from overclaim.training import corpus
from overclaim.training import evaluate as ev

COLUMNS = ("text", "prev", "next", "context")


def _batch(frame):
    return {c: frame[c].tolist() for c in COLUMNS}


def test_compiled_shipped_model_matches_reference_on_the_whole_corpus():
    """Every corpus unit, with its page context: the served form equals the fitted model."""
    model = artifact.load(profile="fast").model
    frame = ev.corpus_frame(corpus.load())
    served = artifact.load(profile="fast").compiled.predict(_batch(frame))
    np.testing.assert_allclose(served.label_proba, model.predict_proba(frame), rtol=0, atol=1e-9)
    np.testing.assert_allclose(served.category_proba, model.category_proba(frame), rtol=0,
                               atol=1e-9)


def _small_corpus_frame():
    table = corpus.load()
    docs = table["doc"].drop_duplicates().sample(30, random_state=0)
    return ev.corpus_frame(table[table["doc"].isin(docs)].reset_index(drop=True))


@pytest.mark.parametrize("params", [
    model_lib.Params(classifier="linear-svm", calibration_folds=2),
    model_lib.Params(calibration="isotonic", calibration_folds=2),
], ids=["linear-svm", "isotonic"])
def test_another_estimator_trains_saves_loads_and_scores(params, tmp_path):
    """Swapping the classifier or the calibration needs no change to scorer or compiler."""
    frame = _small_corpus_frame()
    categories = [corpus.split_categories(c) for c in corpus.load().set_index(
        ["doc", "start"]).loc[list(zip(frame["doc"], frame["start"])), "categories"]]
    model = model_lib.fit(frame, frame["label"].to_numpy(), categories, params)
    card = {"labels": list(LABELS), "categories": list(CATEGORIES), "params": params.to_dict(),
            "thresholds": {"flag": 0.5, "review": 0.25}}
    card_path = model_lib.save(model, card, tmp_path, "swapped")
    scorer = Scorer.load(card_path)
    served = scorer.bundle.compiled.predict(_batch(frame))
    np.testing.assert_allclose(served.label_proba, model.predict_proba(frame), rtol=0, atol=1e-9)
    page = scorer.score("Stem cells repair damaged discs. Results may vary. Book a consultation.")
    assert page.score is not None and len(page.sentences) == 3
    assert all(abs(sum(s.scores.values()) - 1) < 1e-3 for s in page.sentences)


def test_a_type_without_compiler_is_a_clear_model_error():
    from sklearn.naive_bayes import MultinomialNB

    with pytest.raises(ModelError, match="no compiler for MultinomialNB"):
        compile_estimator(MultinomialNB())


def test_compiled_form_never_imports_scikit_learn(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from overclaim import Scorer; s = Scorer.load(); "
            "s.score('Stem cells cure arthritis. Call today.'); "
            "bad = [m for m in ('sklearn', 'scipy', 'pandas') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_compiled_model_round_trips_through_bytes():
    compiled = artifact.load(profile="fast").compiled
    again = CompiledModel.from_bytes(compiled.to_bytes())
    batch = {"text": ["PRP regrows hair."], "prev": [""], "next": [""], "context": [" "]}
    np.testing.assert_array_equal(again.predict_proba(batch), compiled.predict_proba(batch))
