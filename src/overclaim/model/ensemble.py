"""The accurate profile: the linear model and the fine-tuned encoder, combined by a stacker.

The linear model sees words, cues and the page around a unit; the encoder sees the claim
itself (it flags "Stem cells cure autism." that the words alone miss). A stacker over both
models' log-probabilities gives the label probabilities; the shipped one pools them with
fixed equal weights (their normalised geometric mean), which beat stackers fitted on
out-of-fold predictions when whole voices were held out
(:func:`overclaim.training.accurate.pooled_stacker` says by how much).
Categories, cues and word contributions stay the linear model's: they explain a flag in
terms a reviewer can check.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from overclaim.model.compile import Batch, CompiledModel, Prediction, softmax
from overclaim.model.encoder import EncoderModel

#: Probabilities are floored here before the log, so a 0 never becomes -inf.
FLOOR = 1e-6


@dataclass
class Stacker:
    """softmax(features . coef.T + intercept), features = [log p_linear, log p_encoder]."""

    coef: np.ndarray  # n_labels x 2 n_labels
    intercept: np.ndarray  # n_labels

    @staticmethod
    def features(linear: np.ndarray, encoder: np.ndarray) -> np.ndarray:
        return np.log(np.clip(np.hstack([linear, encoder]), FLOOR, 1.0))

    def proba(self, linear: np.ndarray, encoder: np.ndarray) -> np.ndarray:
        if len(linear) == 0:
            return linear
        return softmax(self.features(linear, encoder) @ self.coef.T + self.intercept)

    def to_dict(self) -> dict[str, Any]:
        return {"coef": self.coef.round(8).tolist(), "intercept": self.intercept.round(8).tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Stacker":
        return cls(np.asarray(data["coef"], dtype=np.float64),
                   np.asarray(data["intercept"], dtype=np.float64))


class EnsembleModel:
    """Units in, label and category probabilities out, like :class:`CompiledModel`."""

    def __init__(self, linear: CompiledModel, encoder: EncoderModel, stacker: Stacker):
        self.linear = linear
        self.encoder = encoder
        self.stacker = stacker
        self.categories = linear.categories

    def predict(self, batch: Batch, contributions: int = 0) -> Prediction:
        base = self.linear.predict(batch, contributions)
        encoded = self.encoder.predict_proba(list(batch["text"]))
        return replace(base, label_proba=self.stacker.proba(base.label_proba, encoded))

    def predict_proba(self, batch: Batch) -> np.ndarray:
        """Label probabilities only, columns in ``LABELS`` order."""
        encoded = self.encoder.predict_proba(list(batch["text"]))
        return self.stacker.proba(self.linear.predict_proba(batch), encoded)
