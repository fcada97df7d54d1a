"""Build, fit and save the classifier.

The model is a scikit-learn pipeline (word and character n-grams, cues, claim
structure, neighbouring-unit context -> logistic regression) wrapped in sigmoid
calibration fitted on document-grouped folds, plus a category model. ``save`` writes
it with joblib, compiles it for fast scoring, and writes the card
(:mod:`overclaim.model.artifact` reads and verifies them).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
import platform
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.multiclass import OneVsRestClassifier
from sklearn.preprocessing import MaxAbsScaler, MultiLabelBinarizer

from overclaim.model import artifact
from overclaim.model.compile import CompiledModel
from overclaim.model.features import CONTEXT_COLUMNS, ContextFeatures, CueFeatures
from overclaim.schema import CATEGORIES, LABELS, POSITIVE

DEFAULT_NAME = artifact.DEFAULT_NAME
CARD_SCHEMA = 1
SOLVER_TOL = 1e-8


@dataclass(frozen=True)
class Params:
    """Hyper-parameters of the pipeline; every field is recorded in the card."""

    C: float = 4.0
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = 2
    class_weight: str | None = "balanced"
    calibration: str = "sigmoid"
    calibration_folds: int = 5
    context_window: int = 1
    cue_weight: float = 1.0
    char_weight: float = 1.0
    context_words_weight: float = 0.7
    context_dropout: float = 0.3
    #: "logistic" (multinomial logistic regression) or "linear-svm" (a linear SVM; the
    #: calibration gives it probabilities). Both compile to the same fast form.
    classifier: str = "logistic"

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


class DocumentKFold(GroupKFold):
    """GroupKFold that reads the groups from the input's ``doc`` column.

    Calibration inside :class:`CalibratedClassifierCV` splits without being handed
    groups; reading them from the data keeps every document on one side of a fold.
    """

    def split(self, X, y=None, groups=None):
        if groups is None and isinstance(X, pd.DataFrame) and "doc" in X.columns:
            groups = X["doc"].to_numpy()
        if groups is None:
            raise ValueError("DocumentKFold needs a 'doc' column or explicit groups")
        return super().split(X, y, groups)


def build_pipeline(params: Params = Params()) -> Pipeline:
    """The uncalibrated pipeline: features -> multinomial logistic regression.

    Features: word and character n-grams of the unit, its cue counts and claim
    structure, the same cue features of its neighbours, and the words around it.
    """
    features = ColumnTransformer(
        [
            ("words", TfidfVectorizer(ngram_range=params.word_ngrams, min_df=params.min_df,
                                      sublinear_tf=True, strip_accents="unicode"), "text"),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=params.char_ngrams,
                                      min_df=params.min_df, sublinear_tf=True,
                                      strip_accents="unicode", max_features=60000), "text"),
            ("cues", Pipeline([("match", CueFeatures()), ("scale", MaxAbsScaler())]), "text"),
            ("context", Pipeline([("match", ContextFeatures()), ("scale", MaxAbsScaler())]),
             list(CONTEXT_COLUMNS)),
            ("context_words", TfidfVectorizer(min_df=params.min_df, sublinear_tf=True),
             "context"),
        ],
        remainder="drop",
        transformer_weights={"words": 1.0, "chars": params.char_weight,
                             "cues": params.cue_weight, "context": params.cue_weight,
                             "context_words": params.context_words_weight},
    )
    return Pipeline([("features", features), ("classifier", build_classifier(params))])


def build_classifier(params: Params):
    """The linear classifier on top of the features (see ``Params.classifier``).

    A tight tolerance makes retraining reproduce the shipped model to ~1e-6 on any BLAS
    build: with the default 1e-4, where the solver stops depends on rounding.
    """
    if params.classifier == "linear-svm":
        from sklearn.svm import LinearSVC

        return LinearSVC(C=params.C / 10, class_weight=params.class_weight, tol=SOLVER_TOL,
                         max_iter=20000)
    if params.classifier != "logistic":
        raise ValueError(f"unknown classifier {params.classifier!r}: logistic or linear-svm")
    return LogisticRegression(C=params.C, max_iter=500, solver="newton-cg",
                              class_weight=params.class_weight, tol=SOLVER_TOL)


class ContextDropout(ClassifierMixin, BaseEstimator):
    """Fit ``estimator`` on the data plus a copy of a share of its rows with their context
    (neighbouring units) blanked.

    Without it the model leans on a unit's neighbours, the genre of its page, and scores
    an explicit claim given alone (``score_sentences``, a one-line ad) as if it were page
    chrome: "Stem cells repair damaged discs and end back pain for good" came out at 0.49
    with its context features and 0.80 with dropout, while seed-transfer ROC-AUC stayed the
    same (0.897 and 0.895, uncalibrated, in one run on this corpus). Prediction is the
    wrapped estimator's, unchanged.
    """

    def __init__(self, estimator=None, share: float = 0.3, random_state: int = 0):
        self.estimator = estimator
        self.share = share
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y):
        y = np.asarray(y)
        pick = np.random.default_rng(self.random_state).random(len(X)) < self.share
        blank = X[pick].assign(**{c: "" for c in ("prev", "next", "context") if c in X.columns})
        self.estimator_ = clone(self.estimator).fit(pd.concat([X, blank]), np.r_[y, y[pick]])
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X):
        return self.estimator_.predict_proba(X)

    def decision_function(self, X):
        return self.estimator_.decision_function(X)

    def predict(self, X):
        return self.estimator_.predict(X)


def build_model(params: Params = Params()) -> CalibratedClassifierCV:
    """The pipeline (trained with context dropout) with probabilities calibrated on
    document-grouped folds."""
    return CalibratedClassifierCV(
        ContextDropout(build_pipeline(params), share=params.context_dropout),
        method=params.calibration,
        cv=DocumentKFold(n_splits=params.calibration_folds), ensemble=False,
    )


def build_category_model() -> Pipeline:
    """Which overclaim categories a unit shows, learned from the corpus's overclaims.

    One-vs-rest logistic regression on words and cues; its probabilities are read
    as P(category | overclaim) and multiplied by the overclaim probability.
    """
    features = ColumnTransformer([
        ("words", TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True), "text"),
        ("cues", Pipeline([("match", CueFeatures()), ("scale", MaxAbsScaler())]), "text"),
    ])
    classifier = OneVsRestClassifier(LogisticRegression(C=4.0, max_iter=2000, tol=SOLVER_TOL,
                                                        class_weight="balanced"))
    return Pipeline([("features", features), ("classifier", classifier)])


class OverclaimModel:
    """The shipped artefact: the calibrated label classifier and the category model."""

    def __init__(self, classifier, category_model, categories: list[str], params: Params):
        self.classifier = classifier
        self.category_model = category_model
        self.categories = list(categories)
        self.params = params

    @property
    def classes_(self) -> np.ndarray:
        return self.classifier.classes_

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Label probabilities, columns in ``LABELS`` order."""
        proba = self.classifier.predict_proba(X)
        order = [list(self.classifier.classes_).index(label) for label in LABELS]
        return proba[:, order]

    def category_proba(self, X: pd.DataFrame) -> np.ndarray:
        """P(category | overclaim), columns in ``self.categories`` order."""
        return self.category_model.predict_proba(X)

def fit(X: pd.DataFrame, y, categories, params: Params = Params()) -> OverclaimModel:
    """Fit on a unit frame with a ``doc`` column (it groups the calibration folds).

    ``categories`` holds each unit's overclaim categories (lists; empty for others).
    """
    if "doc" not in X.columns:
        raise ValueError("training frame needs a 'doc' column to group calibration folds")
    y = np.asarray(y)
    classifier = build_model(params).fit(X, y)
    is_overclaim = y == POSITIVE
    binarizer = MultiLabelBinarizer(classes=list(CATEGORIES))
    targets = binarizer.fit_transform([categories[i] for i in np.flatnonzero(is_overclaim)])
    category_model = build_category_model().fit(X[is_overclaim], targets)
    return OverclaimModel(classifier, category_model, list(binarizer.classes_), params)


# --- persistence -------------------------------------------------------------------


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("overclaim", "scikit-learn", "spacy", "numpy", "scipy", "pandas", "joblib"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "unknown"
    return versions


def save(model: OverclaimModel, card: dict[str, Any], directory: Path, name: str) -> Path:
    """Write the model, its compiled fast form and its card (see :func:`artifact.save`).

    Returns the card's path. Both forms are serialised in memory first, so a failure to
    compile leaves the folder as it was.
    """
    import joblib

    compiled = CompiledModel.from_model(model).to_bytes()  # first: refuses what cannot compile
    buffer = io.BytesIO()
    joblib.dump(model, buffer, compress=3)
    return artifact.save(buffer.getvalue(), compiled, card, directory, name)
