"""Honest evaluation: every number comes from units of documents the model did not see.

Three settings, each with the model and two baselines measured in the same run:

- ``grouped-cv``: k-fold cross-validation grouped by document;
- ``held-out-treatments``: treatments are held out, several at a time, in
  :data:`TREATMENT_FOLDS` folds grouped by treatment (treatments the model has never read
  about; with 45 treatments one fold each would take too long to run routinely);
- ``leave-one-voice-out``: each voice (clinic page, forum, regulator, ...) is held out in
  turn: the shift that matters on the web, where a page's kind is not in the training data;
- ``seed-transfer``: train on authored documents only, test on the five real seed
  documents, the only real web text the project has.

Baselines: a cue-count rule (promotional cues minus limit and evidence cues) and
plain word TF-IDF + logistic regression.

Thresholds are chosen on the grouped-CV predictions; :func:`nested_thresholds` reports
their precision and recall on documents they were not chosen on. The category model
has its own held-out figures (:func:`category_evaluation`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    average_precision_score, brier_score_loss, confusion_matrix,
    precision_recall_curve, precision_recall_fscore_support, roc_auc_score,
)
from sklearn.model_selection import GroupKFold, LeaveOneGroupOut
from sklearn.pipeline import Pipeline

from overclaim.model import estimators as model_lib
from overclaim.schema import LABELS, POSITIVE
from overclaim.model.features import cue_vectors, unit_frame

FLAG_PRECISION = 0.85
REVIEW_RECALL = 0.95
SETTINGS = ("grouped-cv", "held-out-treatments", "leave-one-voice-out", "seed-transfer")
TREATMENT_FOLDS = 5


# --- the estimators compared ---------------------------------------------------------


class CueCountRule(ClassifierMixin, BaseEstimator):
    """Baseline: overclaim when promotional cues outnumber limit and evidence cues.

    Its overclaim score is a logistic squash of that difference; the other labels
    follow the strongest remaining cue (hedge -> hedged, evidence -> supported).
    """

    def fit(self, X, y):
        self.classes_ = np.array(sorted(set(y)))
        return self

    def predict_proba(self, X):
        from overclaim.text.cues import default_matcher

        roles = default_matcher().roles
        counts = np.expm1(cue_vectors(list(X["text"]))[:, : len(roles)])

        def total(role: str) -> np.ndarray:
            return counts[:, [i for i, r in enumerate(roles.values()) if r == role]].sum(axis=1)

        promo, hedge, evidence = total("promotional"), total("limit"), total("evidence")
        score = 1 / (1 + np.exp(-(promo - hedge - evidence - 0.5)))
        proba = np.zeros((len(X), len(self.classes_)))
        column = {label: i for i, label in enumerate(self.classes_)}
        proba[:, column[POSITIVE]] = score
        rest = np.where(hedge > 0, "hedged", np.where(evidence > 0, "supported", "neutral"))
        for i, label in enumerate(rest):
            proba[i, column[label]] = 1 - score[i]
        return proba

    def predict(self, X):
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def tfidf_baseline() -> Pipeline:
    """Baseline: word uni+bigram TF-IDF and logistic regression on the unit alone."""
    from sklearn.compose import ColumnTransformer

    return Pipeline([
        ("features", ColumnTransformer([("words", TfidfVectorizer(ngram_range=(1, 2),
                                                                  sublinear_tf=True), "text")])),
        ("classifier", LogisticRegression(max_iter=2000)),
    ])


def contenders(params: model_lib.Params) -> dict[str, Callable[[], Any]]:
    return {
        "overclaim": lambda: model_lib.build_model(params),
        "tfidf+lr": tfidf_baseline,
        "cue-count rule": CueCountRule,
    }


# --- splits --------------------------------------------------------------------------


def corpus_frame(corpus: pd.DataFrame, window: int = 1) -> pd.DataFrame:
    """The corpus as model input: units with context, plus doc, source and treatment."""
    frame = unit_frame(corpus["text"].tolist(), corpus["doc"].tolist(), window)
    for column in ("doc", "source", "treatment", "voice", "label", "start", "end"):
        frame[column] = corpus[column].to_numpy()
    return frame


def splits(frame: pd.DataFrame, setting: str, folds: int = 5) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    if setting == "grouped-cv":
        yield from GroupKFold(n_splits=folds).split(frame, groups=frame["doc"])
    elif setting == "held-out-treatments":
        groups = frame["treatment"]
        yield from GroupKFold(n_splits=min(TREATMENT_FOLDS, groups.nunique())).split(frame, groups=groups)
    elif setting == "leave-one-voice-out":
        yield from LeaveOneGroupOut().split(frame, groups=frame["voice"])
    elif setting == "seed-transfer":
        is_seed = frame["source"].eq("seed").to_numpy()
        yield np.flatnonzero(~is_seed), np.flatnonzero(is_seed)
    else:
        raise ValueError(f"unknown setting {setting!r}; choose from {', '.join(SETTINGS)}")


def held_out_proba(make: Callable[[], Any], frame: pd.DataFrame, setting: str,
                   folds: int = 5, n_jobs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities (columns in LABELS order) for every held-out unit, and their indices.

    ``n_jobs`` folds are fitted side by side in processes (joblib); the result is the same.
    """
    from joblib import Parallel, delayed

    folds_done = Parallel(n_jobs=n_jobs)(delayed(_fit_fold)(make, frame, train, test)
                                         for train, test in splits(frame, setting, folds))
    return (np.vstack([proba for proba, _ in folds_done]),
            np.concatenate([test for _, test in folds_done]))


def _fit_fold(make: Callable[[], Any], frame: pd.DataFrame, train: np.ndarray,
              test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    estimator = make()
    estimator.fit(frame.iloc[train], frame["label"].iloc[train].to_numpy())
    proba = estimator.predict_proba(frame.iloc[test])
    order = [list(estimator.classes_).index(label) for label in LABELS]
    return proba[:, order], test


# --- metrics -------------------------------------------------------------------------


@dataclass
class Metrics:
    """Everything reported for one estimator in one setting."""

    per_label: dict[str, dict[str, float]]
    overclaim: dict[str, float]
    confusion: list[list[int]]
    reliability: list[dict[str, float]]
    n: int
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "per_label": self.per_label, "overclaim": self.overclaim,
                "confusion": {"labels": list(LABELS), "matrix": self.confusion},
                "reliability": self.reliability, **self.extra}


def metrics(y_true: np.ndarray, proba: np.ndarray) -> Metrics:
    predicted = np.asarray(LABELS)[proba.argmax(axis=1)]
    p, r, f, s = precision_recall_fscore_support(y_true, predicted, labels=list(LABELS),
                                                 zero_division=0)
    per_label = {label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                         "f1": round(float(f[i]), 4), "support": int(s[i])}
                 for i, label in enumerate(LABELS)}
    positive = (y_true == "overclaim").astype(int)
    score = proba[:, LABELS.index("overclaim")]
    both = 0 < positive.sum() < len(positive)
    overclaim = {
        "f1": per_label["overclaim"]["f1"],
        "roc_auc": round(float(roc_auc_score(positive, score)), 4) if both else float("nan"),
        "pr_auc": round(float(average_precision_score(positive, score)), 4) if both else float("nan"),
        "brier": round(float(brier_score_loss(positive, score)), 4),
        "macro_f1": round(float(np.mean(f)), 4),
    }
    return Metrics(per_label, overclaim,
                   confusion_matrix(y_true, predicted, labels=list(LABELS)).tolist(),
                   reliability(positive, score), len(y_true))


def reliability(positive: np.ndarray, score: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Mean predicted vs observed overclaim rate in equal-width probability bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(score, edges[1:-1]), 0, bins - 1)
    table = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            table.append({"low": round(float(edges[b]), 2), "high": round(float(edges[b + 1]), 2),
                          "n": int(mask.sum()), "predicted": round(float(score[mask].mean()), 4),
                          "observed": round(float(positive[mask].mean()), 4)})
    return table


def choose_thresholds(y_true: np.ndarray, score: np.ndarray,
                      flag_precision: float = FLAG_PRECISION,
                      review_recall: float = REVIEW_RECALL) -> dict[str, Any]:
    """Flag where held-out precision reaches the target with the most recall; review below.

    ``flag`` is the lowest overclaim probability at which units scored at or above it
    are overclaims with precision >= ``flag_precision``. ``review`` is the highest
    probability at which recall of all overclaims reaches ``review_recall``, so the
    band [review, flag) holds what a reviewer should look at.
    """
    positive = (y_true == "overclaim").astype(int)
    precision, recall, thresholds = precision_recall_curve(positive, score)
    precision, recall = precision[:-1], recall[:-1]
    ok = precision >= flag_precision
    if ok.any():
        best = np.flatnonzero(ok)[np.argmax(recall[ok])]
        flag = float(thresholds[best])
    else:
        best = int(np.argmax(precision))
        flag = float(thresholds[best])
    reach = np.flatnonzero(recall >= review_recall)
    review = float(thresholds[reach[-1]]) if len(reach) else float(thresholds[0])
    review = min(review, flag)
    return {
        # floored, not rounded: a threshold rounded up would drop the unit it was chosen at
        "flag": math.floor(flag * 1e4) / 1e4, "review": math.floor(review * 1e4) / 1e4,
        "flag_precision": round(float(precision[best]), 4),
        "flag_recall": round(float(recall[best]), 4),
        "review_recall": round(float(recall[reach[-1]]) if len(reach) else 1.0, 4),
        "why": (f"flag: lowest threshold whose grouped-CV precision is >= {flag_precision} "
                f"with the most recall; review: highest threshold whose grouped-CV recall is "
                f">= {review_recall}"),
    }


NESTED_FOLDS = 5


def nested_thresholds(y_true: np.ndarray, score: np.ndarray, groups: np.ndarray,
                      folds: int = NESTED_FOLDS, flag_precision: float = FLAG_PRECISION,
                      review_recall: float = REVIEW_RECALL) -> dict[str, Any]:
    """Precision and recall of the thresholds on documents they were not chosen on.

    :func:`choose_thresholds` picks ``flag`` where precision on the predictions reaches
    the target, so the precision reported beside it meets the target by construction.
    Here the (already held-out) predictions are split by document into ``folds`` groups;
    thresholds chosen on the other groups with the same rule are applied to each group in
    turn, and the counts are pooled. The spread of the chosen thresholds shows how much
    the choice itself depends on which documents it saw.
    """
    y_true, score = np.asarray(y_true), np.asarray(score, dtype=float)
    positive = y_true == "overclaim"
    n_groups = len(np.unique(groups))
    if n_groups < 2:
        raise ValueError("nested thresholds need predictions of at least two documents")
    counts = {"true_flags": 0, "flags": 0, "positives": 0, "reviewed": 0}
    chosen = []
    for train, test in GroupKFold(n_splits=min(folds, n_groups)).split(score, groups=groups):
        t = choose_thresholds(y_true[train], score[train], flag_precision, review_recall)
        chosen.append(t)
        flagged, is_positive = score[test] >= t["flag"], positive[test]
        counts["true_flags"] += int((flagged & is_positive).sum())
        counts["flags"] += int(flagged.sum())
        counts["positives"] += int(is_positive.sum())
        counts["reviewed"] += int(((score[test] >= t["review"]) & is_positive).sum())
    flags, reviews = [t["flag"] for t in chosen], [t["review"] for t in chosen]
    return {
        "folds": len(chosen),
        "flag_precision": _ratio(counts["true_flags"], counts["flags"]),
        "flag_recall": _ratio(counts["true_flags"], counts["positives"]),
        "review_recall": _ratio(counts["reviewed"], counts["positives"]),
        "flag_thresholds": flags, "review_thresholds": reviews,
        "flag_range": [min(flags), max(flags)], "review_range": [min(reviews), max(reviews)],
        "why": (f"thresholds chosen by the same rule on {len(chosen) - 1} of {len(chosen)} "
                "document groups of the grouped-CV predictions, measured on the group left "
                "out, counts pooled over the groups"),
    }


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


# --- the category model --------------------------------------------------------------

CATEGORY_THRESHOLD = 0.5


def category_evaluation(corpus: pd.DataFrame, folds: int = 5,
                        threshold: float = CATEGORY_THRESHOLD) -> dict[str, Any]:
    """Held-out per-category figures of the category model, on the corpus's overclaims.

    The category model is read as P(category | overclaim), so it is evaluated on the
    overclaim units only, in document-grouped folds (no document on both sides), without
    the label model: precision, recall and F1 at ``threshold``, ROC-AUC (None where a
    category has no or only positive held-out units) and support (units with the category).
    """
    import warnings

    from sklearn.preprocessing import MultiLabelBinarizer

    from overclaim.schema import CATEGORIES
    from overclaim.training.corpus import split_categories

    units = corpus[corpus["label"].eq("overclaim")].reset_index(drop=True)
    docs = units["doc"].to_numpy()
    n_docs = len(np.unique(docs))
    if n_docs < 2:
        raise ValueError("category evaluation needs overclaims in at least two documents")
    targets = MultiLabelBinarizer(classes=list(CATEGORIES)).fit_transform(
        [split_categories(c) for c in units["categories"]])
    X = units[["text"]]
    proba = np.zeros(targets.shape, dtype=float)
    n_folds = min(folds, n_docs)
    for train, test in GroupKFold(n_splits=n_folds).split(X, groups=docs):
        with warnings.catch_warnings():  # a category absent from a fold is predicted constant
            warnings.simplefilter("ignore", UserWarning)
            fitted = model_lib.build_category_model().fit(X.iloc[train], targets[train])
        proba[test] = fitted.predict_proba(X.iloc[test])
    per_category = {name: _category_row(targets[:, i], proba[:, i], threshold)
                    for i, name in enumerate(CATEGORIES)}
    scored = [row["f1"] for row in per_category.values() if row["support"]]
    return {"units": len(units), "documents": n_docs, "folds": n_folds, "threshold": threshold,
            "macro_f1": round(float(np.mean(scored)), 4) if scored else None,
            "per_category": per_category,
            "why": ("category model fitted on the overclaims of the other document groups, "
                    "scored on each group's overclaims (P(category | overclaim))")}


def _category_row(truth: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, Any]:
    p, r, f, _ = precision_recall_fscore_support(truth, (score >= threshold).astype(int),
                                                 average="binary", zero_division=0)
    both = 0 < truth.sum() < len(truth)
    return {"precision": round(float(p), 4), "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "roc_auc": round(float(roc_auc_score(truth, score)), 4) if both else None,
            "support": int(truth.sum())}


# --- the whole evaluation ------------------------------------------------------------


@dataclass
class Evaluation:
    """Results per setting and estimator, every held-out prediction behind them, and the
    page scores of the seed documents when the model never saw them."""

    results: dict[str, dict[str, Metrics]]
    predictions: pd.DataFrame  # one row per held-out unit, setting and estimator
    seed_page_scores: dict[str, float] = field(default_factory=dict)

    @property
    def cv_predictions(self) -> pd.DataFrame | None:
        """The model's grouped-CV predictions (thresholds are chosen on them)."""
        chosen = self.predictions[(self.predictions["setting"] == "grouped-cv")
                                  & (self.predictions["estimator"] == "overclaim")]
        return chosen.drop(columns=["setting", "estimator"]) if len(chosen) else None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {setting: {name: m.to_dict() for name, m in by_name.items()}
                               for setting, by_name in self.results.items()}
        if self.seed_page_scores:
            out["seed_transfer_page_scores"] = self.seed_page_scores
        return out


def evaluate(corpus: pd.DataFrame, params: model_lib.Params = model_lib.Params(),
             settings: tuple[str, ...] = SETTINGS, folds: int = 5,
             progress: Callable[[str], None] | None = None, n_jobs: int = 1) -> Evaluation:
    """Run every setting for the model and both baselines (``n_jobs`` folds at a time)."""
    frame = corpus_frame(corpus, params.context_window)
    results: dict[str, dict[str, Metrics]] = {}
    predictions = []
    seed_pages: dict[str, float] = {}
    for setting in settings:
        results[setting] = {}
        for name, make in contenders(params).items():
            if progress:
                progress(f"{setting}: {name}")
            proba, index = held_out_proba(make, frame, setting, folds, n_jobs)
            y_true = frame["label"].to_numpy()[index]
            results[setting][name] = metrics(y_true, proba)
            held_out = prediction_frame(frame, proba, index)
            predictions.append(held_out.assign(setting=setting, estimator=name))
            if setting == "seed-transfer" and name == "overclaim":
                seed_pages = page_scores(held_out)
    return Evaluation(results, pd.concat(predictions) if predictions else pd.DataFrame(),
                      seed_pages)


def page_scores(predictions: pd.DataFrame) -> dict[str, float]:
    """Each document's page score from held-out unit probabilities, highest first."""
    from overclaim.scoring.page import score_from_probabilities

    scores = {doc: score_from_probabilities(group["p_overclaim"].to_numpy())
              for doc, group in predictions.groupby("doc")}
    return dict(sorted(scores.items(), key=lambda item: -item[1]))


def prediction_frame(frame: pd.DataFrame, proba: np.ndarray, index: np.ndarray) -> pd.DataFrame:
    """Held-out predictions beside each unit's provenance (for thresholds and error analysis)."""
    out = frame.iloc[index][["doc", "start", "end", "text", "label", "source", "treatment",
                             "voice"]].copy()
    for i, label in enumerate(LABELS):
        out[f"p_{label}"] = proba[:, i]
    out["predicted"] = np.asarray(LABELS)[proba.argmax(axis=1)]
    return out.sort_index()


def format_table(evaluation: Evaluation) -> str:
    """The side-by-side table printed by ``overclaim evaluate``."""
    lines = []
    header = (f"{'setting':<24} {'estimator':<16} {'n':>5} {'OC-P':>6} {'OC-R':>6} {'OC-F1':>6} "
              f"{'ROC':>6} {'PR':>6} {'Brier':>6} {'mF1':>6}")
    lines.append(header)
    lines.append("-" * len(header))
    for setting, by_name in evaluation.results.items():
        for name, m in by_name.items():
            oc = m.per_label["overclaim"]
            lines.append(f"{setting:<24} {name:<16} {m.n:>5} {oc['precision']:>6.3f} "
                         f"{oc['recall']:>6.3f} {oc['f1']:>6.3f} {m.overclaim['roc_auc']:>6.3f} "
                         f"{m.overclaim['pr_auc']:>6.3f} {m.overclaim['brier']:>6.3f} "
                         f"{m.overclaim['macro_f1']:>6.3f}")
    if evaluation.seed_page_scores:
        lines.append("\nseed-transfer page scores (model trained without the seed documents)")
        for doc, score in evaluation.seed_page_scores.items():
            lines.append(f"  {score:.3f}  {doc}")
    for setting, by_name in evaluation.results.items():
        m = by_name["overclaim"]
        lines.append(f"\n{setting}: overclaim model, per label")
        for label, values in m.per_label.items():
            lines.append(f"  {label:<10} P {values['precision']:.3f}  R {values['recall']:.3f}  "
                         f"F1 {values['f1']:.3f}  n {values['support']}")
        lines.append("  confusion (rows true, columns predicted: " + ", ".join(LABELS) + ")")
        for label, row in zip(LABELS, m.confusion):
            lines.append(f"  {label:<10} " + " ".join(f"{v:>5}" for v in row))
        lines.append("  reliability (predicted -> observed overclaim rate, n)")
        for b in m.reliability:
            lines.append(f"  {b['low']:.1f}-{b['high']:.1f}  {b['predicted']:.3f} -> "
                         f"{b['observed']:.3f}  ({b['n']})")
    return "\n".join(lines)
