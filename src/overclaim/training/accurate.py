"""Training the accurate profile's encoder: out-of-fold predictions, then the final model.

The accurate profile's figures, and its thresholds, must come from predictions neither
model made for units it was trained on. The encoder is the expensive part (about
a minute per 1,000 units per epoch on 2 CPU cores), so its out-of-fold predictions come
from :data:`ENCODER_FOLDS` folds grouped by VOICE: each unit is predicted by an encoder
trained on other kinds of page (clinic pages vs. journalism, forums, leaflets...), the
shift that real pages bring, and no fold trains on the five seed documents, so their
predictions are seed transfer. Each fold is written as soon as it is done, so an
interrupted run resumes. :func:`fold_splits` is shared with the linear model's
comparison on the same folds.

    python -m overclaim.training.accurate oof      WORKDIR   # encoder, out of fold
    python -m overclaim.training.accurate final    WORKDIR   # the encoder on every document
    python -m overclaim.training.accurate assemble WORKDIR   # pool, figures, card

``assemble`` also runs the linear model and the baselines on the same voice folds, so the
card compares fast, encoder alone, accurate and the baselines on identical held-out units.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from overclaim.schema import LABELS, POSITIVE
from overclaim.training import corpus as corpus_lib
from overclaim.training import encoder

ENCODER_FOLDS = 2
#: The encoder's settings for the shipped model: 3 epochs at most (early stopping on
#: held-out documents), units cut at 64 tokens (99.5% of corpus units are shorter;
#: the median is 25).
PARAMS = encoder.EncoderParams(max_length=64, epochs=3, threads=2)
OOF_FILE = "encoder-oof.csv.gz"


def fold_splits(table: pd.DataFrame, folds: int = ENCODER_FOLDS):
    """(train, test) row indices: folds grouped by voice; seed documents never trained on."""
    from sklearn.model_selection import GroupKFold

    is_seed = table["source"].eq("seed").to_numpy()
    for train, test in GroupKFold(n_splits=folds).split(table, groups=table["voice"]):
        yield train[~is_seed[train]], test


def out_of_fold(table: pd.DataFrame, workdir: Path, params: encoder.EncoderParams = PARAMS,
                folds: int = ENCODER_FOLDS, progress=print) -> pd.DataFrame:
    """P(label) for every unit from an encoder that never saw its voice (nor any seed)."""
    workdir.mkdir(parents=True, exist_ok=True)
    parts = []
    for k, (train, test) in enumerate(fold_splits(table, folds)):
        path = workdir / f"encoder-oof-fold{k}.csv.gz"
        if not path.is_file():
            started = time.perf_counter()
            fitted = encoder.fine_tune(table["text"].iloc[train].tolist(),
                                       table["label"].iloc[train].tolist(),
                                       table["doc"].iloc[train].tolist(), params,
                                       progress=lambda m, k=k: progress(f"fold {k}: {m}"))
            proba = encoder.predict_proba_torch(fitted, table["text"].iloc[test].tolist())
            fold = table.iloc[test][["doc", "start", "end"]].assign(
                **{f"p_{label}": proba[:, j] for j, label in enumerate(LABELS)}, fold=k,
                seconds=round(time.perf_counter() - started, 1))
            fold.to_csv(path, index=False)
        parts.append(pd.read_csv(path))
    out = pd.concat(parts, ignore_index=True)
    out.to_csv(workdir / OOF_FILE, index=False)
    return out


def final(table: pd.DataFrame, workdir: Path, params: encoder.EncoderParams = PARAMS,
          progress=print) -> dict:
    """The encoder fine-tuned on every document (early stopping on a held-out share),
    exported to int8 ONNX in ``workdir``; returns its card entry."""
    started = time.perf_counter()
    fitted = encoder.fine_tune(table["text"].tolist(), table["label"].tolist(),
                               table["doc"].tolist(), params, progress=progress)
    entry = encoder.export(fitted, workdir)
    entry["training_seconds"] = round(time.perf_counter() - started, 1)
    return entry


#: Units of at most this many words count as "short" (ad copy, headings) in the figures.
SHORT_WORDS = 8


def linear_out_of_fold(table: pd.DataFrame, workdir: Path, params=None) -> pd.DataFrame:
    """The fast profile and the baselines (TF-IDF + LR, the cue-count rule, frozen MiniLM +
    LR) on the encoder's folds: P(label) per unit."""
    from overclaim.model import estimators as model_lib
    from overclaim.model.compile import CueCache, compile_estimator
    from overclaim.training import evaluate as ev

    path = workdir / "linear-oof.csv.gz"
    if path.is_file():
        return pd.read_csv(path)
    params = params or model_lib.Params()
    frame = ev.corpus_frame(table, params.context_window)
    y = frame["label"].to_numpy()
    makers = {"fast": lambda: model_lib.build_model(params), "tfidf+lr": ev.tfidf_baseline,
              "cue-count rule": ev.CueCountRule}
    out = table[["doc", "start", "end"]].copy()
    embeddings = encoder.frozen_embeddings(frame["text"].tolist())
    makers["frozen-minilm+lr"] = lambda: FrozenEmbeddingLR(embeddings)
    frame = frame.assign(row=np.arange(len(frame)))
    for name, make in makers.items():
        proba = np.zeros((len(frame), len(LABELS)))
        for train, test in fold_splits(table):
            fitted = make().fit(frame.iloc[train], y[train])
            if name == "fast":  # measured as served: the compiled form
                batch = {c: frame[c].iloc[test].tolist() for c in ("text", "prev", "next", "context")}
                served, _ = compile_estimator(fitted).proba(batch, CueCache())
                proba[test] = served[:, _order(fitted.classes_)]
            else:
                proba[test] = fitted.predict_proba(frame.iloc[test])[:, _order(fitted.classes_)]
        for j, label in enumerate(LABELS):
            out[f"{name}:p_{label}"] = proba[:, j]
    out.to_csv(path, index=False)
    return out


class FrozenEmbeddingLR:
    """The frozen-MiniLM baseline: logistic regression on the base model's sentence
    embeddings (computed once for the corpus, looked up by the frame's ``row``)."""

    def __init__(self, embeddings: np.ndarray):
        self.embeddings = embeddings

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> "FrozenEmbeddingLR":
        from sklearn.linear_model import LogisticRegression

        self.model = LogisticRegression(max_iter=3000, C=4.0, class_weight="balanced")
        self.model.fit(self.embeddings[frame["row"].to_numpy()], y)
        self.classes_ = self.model.classes_
        return self

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model.predict_proba(self.embeddings[frame["row"].to_numpy()])


def _order(classes) -> list[int]:
    return [list(classes).index(label) for label in LABELS]


def pooled_stacker(n_labels: int = len(LABELS)):
    """The shipped combiner: both models' probabilities pooled with equal weights in log
    space (their normalised geometric mean), as a :class:`Stacker` with fixed weights.

    Why not a fitted stacker: fitted on out-of-fold predictions of some voices, it learns
    how far to trust each model on those voices, and that does not carry to others. On the
    voice folds the equal-weight pool beat every fitted variant tried (logistic regression
    on log-probabilities at C from 0.001 to 1, on probabilities, on binary logits, with
    length interactions, gradient boosting): held-out ROC-AUC 0.969 against 0.952-0.962.
    ``assemble`` keeps the fitted stacker in the comparison so the card shows this.
    """
    from overclaim.model.ensemble import Stacker

    half = 0.5 * np.eye(n_labels)
    return Stacker(np.hstack([half, half]), np.zeros(n_labels))


def fit_stacker(linear: np.ndarray, encoded: np.ndarray, y: np.ndarray):
    """Multinomial logistic regression over both models' log-probabilities (a contender)."""
    from sklearn.linear_model import LogisticRegression

    from overclaim.model.ensemble import Stacker

    model = LogisticRegression(C=1.0, max_iter=2000).fit(Stacker.features(linear, encoded), y)
    order = _order(model.classes_)
    return Stacker(model.coef_[order], model.intercept_[order])


def stacked_out_of_fold(linear: np.ndarray, encoded: np.ndarray, y: np.ndarray,
                        folds: np.ndarray) -> np.ndarray:
    """The accurate profile's held-out predictions: the stacker for each voice fold is fitted
    on the other folds' (out-of-fold) predictions only."""
    out = np.zeros_like(linear)
    for k in np.unique(folds):
        test = folds == k
        out[test] = fit_stacker(linear[~test], encoded[~test], y[~test]).proba(
            linear[test], encoded[test])
    return out


def comparison(table: pd.DataFrame, predictions: dict[str, np.ndarray]) -> dict[str, dict]:
    """Metrics of each contender on all held-out units, on the seed documents (which no
    fold trained on: seed transfer), and on short and long units."""
    from overclaim.training import evaluate as ev

    y = table["label"].to_numpy()
    words = table["text"].str.split().str.len().to_numpy()
    subsets = {"leave-voices-out": np.ones(len(table), bool),
               "seed-transfer": table["source"].eq("seed").to_numpy(),
               f"short (<= {SHORT_WORDS} words)": words <= SHORT_WORDS,
               f"long (> {SHORT_WORDS} words)": words > SHORT_WORDS}
    return {subset: {name: ev.metrics(y[rows], proba[rows]).to_dict()
                     for name, proba in predictions.items()}
            for subset, rows in subsets.items()}


def assemble(table: pd.DataFrame, workdir: Path, models: Path, progress=print) -> Path:
    """Thresholds and figures from the out-of-fold predictions; write the card."""
    import json

    from overclaim.model import artifact
    from overclaim.training import evaluate as ev
    from overclaim.training import train

    encoder_oof = pd.read_csv(workdir / OOF_FILE)
    keyed = table[["doc", "start", "end"]].merge(encoder_oof, on=["doc", "start", "end"],
                                                 how="left", validate="one_to_one")
    if keyed["p_overclaim"].isna().any():
        raise ValueError("the encoder's out-of-fold predictions do not cover the corpus: "
                         "run the oof step again")
    encoded = keyed[[f"p_{label}" for label in LABELS]].to_numpy()
    progress("the fast profile and the baselines on the same voice folds")
    linear_oof = linear_out_of_fold(table, workdir)
    proba = {name: linear_oof[[f"{name}:p_{label}" for label in LABELS]].to_numpy()
             for name in ("fast", "tfidf+lr", "cue-count rule", "frozen-minilm+lr")}
    y = table["label"].to_numpy()
    folds = keyed["fold"].to_numpy()
    stacker = pooled_stacker()
    accurate = stacker.proba(proba["fast"], encoded)  # nothing fitted: held out as they are
    predictions = {"accurate": accurate, "fast": proba["fast"], "encoder": encoded,
                   "fitted stacker": stacked_out_of_fold(proba["fast"], encoded, y, folds),
                   **{name: proba[name] for name in ("frozen-minilm+lr", "tfidf+lr",
                                                     "cue-count rule")}}
    figures = comparison(table, predictions)
    score = accurate[:, LABELS.index(POSITIVE)]
    thresholds = ev.choose_thresholds(y, score)
    thresholds["nested"] = ev.nested_thresholds(y, score, table["doc"].to_numpy())
    thresholds["why"] = ("flag: lowest threshold whose precision on the accurate profile's "
                         "held-out predictions (voice folds) is >= "
                         f"{ev.FLAG_PRECISION} with the most recall; review: highest threshold "
                         f"whose recall there is >= {ev.REVIEW_RECALL}")
    entry = json.loads((workdir / "final" / "encoder-entry.json").read_text())
    linear_card = json.loads(artifact.card_file(models).read_text())
    card = {
        "schema": 1, "labels": list(LABELS), "categories": linear_card["categories"],
        "created": pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
        "code_version": linear_card.get("code_version"),
        "corpus": linear_card.get("corpus"),
        "thresholds": thresholds, "stacker": stacker.to_dict(),
        "max_length": int(entry["max_length"]), "encoder": entry,
        "evaluation": {"protocol": (f"{ENCODER_FOLDS} folds grouped by voice (each unit "
                                    "predicted by models trained on other voices); the seed "
                                    "documents are never trained on; the accurate profile "
                                    "pools the two models' held-out predictions with fixed "
                                    "equal weights (nothing fitted); the 'fitted stacker' "
                                    "contender is fitted on the other fold's predictions"),
                       "figures": figures},
        "intended_use": linear_card.get("intended_use"),
        "limitations": linear_card.get("limitations"),
    }
    onnx = (workdir / "final" / entry["file"]).read_bytes()
    tokenizer = (workdir / "final" / entry["tokenizer"]).read_bytes()
    progress("scoring speed of both profiles, measured in the same run")
    card["costs"] = costs(table, onnx, tokenizer, card, models)
    path = artifact.save_accurate(onnx, tokenizer, card, models)
    train.write_model_card(models)
    return path


def costs(table: pd.DataFrame, onnx: bytes, tokenizer: bytes, card: dict, models: Path) -> dict:
    """Units per second on 2,000 corpus units in one batch, and the median time of one
    short sentence, for the fast and the accurate profile, in the same process."""
    from overclaim.model import artifact
    from overclaim.model.encoder import EncoderModel
    from overclaim.model.ensemble import EnsembleModel, Stacker
    from overclaim.text.context import neighbours

    fast = artifact.load(models, profile="fast").compiled
    accurate = EnsembleModel(fast, EncoderModel.from_bytes(onnx, tokenizer, card["max_length"]),
                             Stacker.from_dict(card["stacker"]))
    texts = table["text"].sample(2000, random_state=0).tolist()
    batch = dict(zip(("text", "prev", "next", "context"), (texts, *neighbours(texts))))
    one = dict(zip(("text", "prev", "next", "context"),
                   (["PRP regrows hair."], *neighbours(["PRP regrows hair."]))))
    out = {}
    for name, model in (("fast", fast), ("accurate", accurate)):
        model.predict(one)  # warm up
        started = time.perf_counter()
        model.predict(batch)
        rate = len(texts) / (time.perf_counter() - started)
        times = []
        for _ in range(50):
            started = time.perf_counter()
            model.predict(one)
            times.append((time.perf_counter() - started) * 1000)
        out[name] = {"units_per_second": round(rate, 1),
                     "ms_one_sentence_p50": round(float(np.median(times)), 3)}
    return out


def main(argv: list[str]) -> None:
    import json

    from overclaim.paths import models_dir

    step, workdir = argv[0], Path(argv[1])
    table = corpus_lib.load()
    if step == "oof":
        oof = out_of_fold(table, workdir)
        print(f"out-of-fold rows: {len(oof)}; mean P(overclaim) {np.mean(oof['p_overclaim']):.3f}")
    elif step == "final":
        entry = final(table, workdir / "final")
        (workdir / "final" / "encoder-entry.json").write_text(json.dumps(entry, indent=2,
                                                                         default=str))
        print(json.dumps({k: entry[k] for k in ("training_seconds",) if k in entry}))
    elif step == "assemble":
        print(f"wrote {assemble(table, workdir, models_dir())}")
    else:
        raise SystemExit("usage: python -m overclaim.training.accurate oof|final|assemble WORKDIR")


if __name__ == "__main__":
    main(sys.argv[1:])
