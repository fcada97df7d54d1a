"""scikit-learn transformers over cues and claim structure, and the model's input frame.

The model's input is a DataFrame with one row per unit and the columns ``text`` (the
unit), ``prev`` and ``next`` (the neighbouring units of the same page, empty at the
edges) and ``context`` (both neighbours together). :func:`unit_frame` builds it from
:func:`overclaim.text.context.neighbours`, as the scorer does, so a unit is always seen with
the context it had. The cue and claim-structure rows themselves come from
:meth:`overclaim.text.cues.CueMatcher.vectors`, shared with the fast path.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from overclaim.text.context import neighbours
from overclaim.text.cues import default_matcher

CONTEXT_COLUMNS = ("prev", "next")


def unit_frame(texts: Sequence[str], groups: Sequence | None = None, window: int = 1) -> pd.DataFrame:
    """One row per unit with its ``window`` neighbours on each side as context.

    Neighbours are taken within a group (a document or page) only; without groups
    the units are treated as unrelated sentences and get no context.
    """
    texts = [str(t) for t in texts]
    prev, nxt, around = neighbours(texts, groups, window)
    return pd.DataFrame({"text": texts, "prev": prev, "next": nxt, "context": around})


def cue_vectors(texts: Sequence[str], cues_dir: str | None = None) -> np.ndarray:
    """Per-text cue counts (log-scaled) followed by the claim-structure features."""
    return default_matcher(cues_dir).vectors(list(texts))[0]


def cue_feature_names(cues_dir: str | None = None) -> list[str]:
    return default_matcher(cues_dir).feature_names()


class CueFeatures(TransformerMixin, BaseEstimator):
    """Cue counts and claim structure of each text in a 1-d column of strings.

    Stateless apart from the feature count learned in ``fit``; ``cues_dir`` points to
    another lexicon folder (default: the shipped one).
    """

    def __init__(self, cues_dir: str | None = None):
        self.cues_dir = cues_dir

    def fit(self, X, y=None):
        _as_texts(X)  # refuses input that is not one column of text
        self.n_features_out_ = len(cue_feature_names(self.cues_dir))
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_out_")
        return cue_vectors(_as_texts(X), self.cues_dir)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "n_features_out_")
        return np.asarray(cue_feature_names(self.cues_dir), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True
        tags.requires_fit = True
        return tags


class ContextFeatures(TransformerMixin, BaseEstimator):
    """Cue features of the neighbouring units: is the claim backed or hedged next door?

    Takes a 2-d input whose columns are the context texts (``prev``, ``next``).
    """

    def __init__(self, cues_dir: str | None = None):
        self.cues_dir = cues_dir

    def fit(self, X, y=None):
        validate_data(self, X, dtype=object, ensure_all_finite=False, reset=True)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        array = validate_data(self, X, dtype=object, ensure_all_finite=False, reset=False)
        return np.hstack([cue_vectors(column, self.cues_dir) for column in _as_columns(array)])

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "n_features_in_")
        if input_features is None:
            input_features = getattr(self, "feature_names_in_",
                                     CONTEXT_COLUMNS[: self.n_features_in_])
        names = input_features
        base = cue_feature_names(self.cues_dir)
        return np.asarray([f"{side}:{name}" for side in names for name in base], dtype=object)


def _as_texts(X) -> list[str]:
    if isinstance(X, (pd.DataFrame,)):
        X = X.iloc[:, 0]
    array = np.asarray(X, dtype=object)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError("CueFeatures expects a 1-d sequence of strings")
    return ["" if value is None else str(value) for value in array]


def _as_columns(X) -> list[list[str]]:
    array = X.to_numpy(dtype=object) if isinstance(X, pd.DataFrame) else np.asarray(X, dtype=object)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError("ContextFeatures expects a 2-d table of strings")
    return [["" if v is None else str(v) for v in array[:, j]] for j in range(array.shape[1])]
