"""The fast path: the fitted pipeline's arithmetic without scikit-learn.

scikit-learn validates inputs, wraps outputs and dispatches through ColumnTransformer,
Pipeline and joblib on every call: about 15 ms for one short sentence, though the
arithmetic takes microseconds; and unpickling the joblib model takes a second. The
``CompiledModel`` lifts the fitted pieces out once at training time (vocabularies, idf
weights, scalers, coefficients, calibrators), is saved beside the joblib file, and
scores with plain numpy, never importing scikit-learn. It computes the same numbers
as the reference pipeline (the tests compare them) and matches cues once per unit for
both features and explanations.
"""

from __future__ import annotations

import pickle
import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from overclaim.text.cues import Cue, CueMatcher, default_matcher
from overclaim.schema import LABELS

_WHITESPACE_RUN = re.compile(r"\s\s+")


def expit(x: np.ndarray) -> np.ndarray:
    """The logistic function, as scipy.special.expit computes it (without importing scipy)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _strip_accents(text: str) -> str:
    """scikit-learn's ``strip_accents_unicode``."""
    try:
        text.encode("ASCII", errors="strict")
        return text
    except UnicodeEncodeError:
        normalized = unicodedata.normalize("NFKD", text)
        return "".join(c for c in normalized if not unicodedata.combining(c))


@dataclass
class _Analyzer:
    """What a fitted TfidfVectorizer's ``build_analyzer()`` does, as plain Python."""

    kind: str  # "word" or "char_wb"
    ngram_range: tuple[int, int]
    lowercase: bool
    strip_accents: bool
    token_pattern: str

    @classmethod
    def of(cls, vectorizer) -> "_Analyzer":
        if vectorizer.analyzer not in ("word", "char_wb") or vectorizer.stop_words \
                or vectorizer.preprocessor or vectorizer.tokenizer \
                or vectorizer.strip_accents not in (None, "unicode"):
            raise ValueError("fast path supports plain word and char_wb analyzers only")
        return cls(vectorizer.analyzer, tuple(vectorizer.ngram_range), vectorizer.lowercase,
                   vectorizer.strip_accents == "unicode", vectorizer.token_pattern)

    def __call__(self, text: str) -> list[str]:
        if self.lowercase:
            text = text.lower()
        if self.strip_accents:
            text = _strip_accents(text)
        return self._words(text) if self.kind == "word" else self._chars(text)

    def _words(self, text: str) -> list[str]:
        tokens = re.findall(self.token_pattern, text)
        low, high = self.ngram_range
        grams = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        return grams

    def _chars(self, text: str) -> list[str]:
        low, high = self.ngram_range
        grams = []
        for word in _WHITESPACE_RUN.sub(" ", text).split():
            word = f" {word} "
            length = len(word)
            for n in range(low, high + 1):
                offset = 0
                grams.append(word[offset:offset + n])
                while offset + n < length:
                    offset += 1
                    grams.append(word[offset:offset + n])
                if offset == 0:  # a word shorter than n counts once
                    break
        return grams


@dataclass
class _Tfidf:
    """A fitted TfidfVectorizer reduced to what transform needs."""

    analyze: _Analyzer
    vocabulary: dict[str, int]
    idf: np.ndarray
    sublinear: bool
    weight: float

    @classmethod
    def of(cls, vectorizer, weight: float = 1.0) -> "_Tfidf":
        if vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.binary:
            raise ValueError("fast path supports l2-normalised idf TF-IDF only")
        return cls(_Analyzer.of(vectorizer), dict(vectorizer.vocabulary_),
                   np.asarray(vectorizer.idf_, dtype=np.float64), vectorizer.sublinear_tf, weight)

    def rows(self, texts: Sequence[str]) -> "_Rows":
        """Sparse rows as sklearn's transform would give them, without building a matrix."""
        indptr, indices, data = [0], [], []
        vocabulary = self.vocabulary
        for text in texts:
            counts: dict[int, int] = {}
            for gram in self.analyze(text):
                j = vocabulary.get(gram)
                if j is not None:
                    counts[j] = counts.get(j, 0) + 1
            row = sorted(counts)
            indices.extend(row)
            data.extend(counts[j] for j in row)
            indptr.append(len(indices))
        values = np.asarray(data, dtype=np.float64)
        columns = np.asarray(indices, dtype=np.int64)
        if self.sublinear:
            values = np.log(values) + 1
        values *= self.idf[columns]
        bounds = np.asarray(indptr)
        values = _normalise_rows(values, bounds)
        if self.weight != 1.0:
            values = values * self.weight
        return _Rows(bounds, columns, values, len(self.idf))


@dataclass
class _Rows:
    """CSR parts of a block of features: row bounds, column indices, values, width."""

    indptr: np.ndarray
    columns: np.ndarray
    values: np.ndarray
    width: int

    @classmethod
    def dense(cls, array: np.ndarray) -> "_Rows":
        rows, columns = np.nonzero(array)
        indptr = np.searchsorted(rows, np.arange(array.shape[0] + 1))
        return cls(indptr, columns.astype(np.int64), array[rows, columns], array.shape[1])

    @classmethod
    def hstack(cls, blocks: list["_Rows"]) -> "_Rows":
        """Blocks side by side, row by row, in sklearn's column order."""
        offsets = np.cumsum([0] + [b.width for b in blocks[:-1]])
        n = len(blocks[0].indptr) - 1
        columns, values, lengths = [], [], np.zeros(n, dtype=np.int64)
        for block in blocks:
            lengths += np.diff(block.indptr)
        for i in range(n):
            for block, offset in zip(blocks, offsets):
                a, b = block.indptr[i], block.indptr[i + 1]
                columns.append(block.columns[a:b] + offset)
                values.append(block.values[a:b])
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        return cls(indptr, np.concatenate(columns), np.concatenate(values),
                   int(sum(b.width for b in blocks)))

    def dot(self, weights_t: np.ndarray) -> np.ndarray:
        """self @ weights_t (weights_t is n_features x k), summing row by row."""
        products = weights_t[self.columns] * self.values[:, None]
        out = np.zeros((len(self.indptr) - 1, weights_t.shape[1]))
        nonempty = np.flatnonzero(np.diff(self.indptr) > 0)
        if len(nonempty):
            out[nonempty] = np.add.reduceat(products, self.indptr[nonempty], axis=0)
        return out



def _normalise_rows(values: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Divide each row by its L2 norm (empty rows stay empty), as sklearn's normalize does."""
    out = values.copy()
    for start, end in zip(bounds[:-1], bounds[1:]):
        if end > start:
            norm = np.sqrt(np.dot(out[start:end], out[start:end]))
            if norm > 0:
                out[start:end] /= norm
    return out


class CompiledModel:
    """Label and category probabilities straight from arrays taken out of a fitted model."""

    @classmethod
    def from_model(cls, model) -> "CompiledModel":
        """Lift the arrays out of a fitted :class:`overclaim.model.estimators.OverclaimModel`."""
        self = cls.__new__(cls)
        pipeline = model.pipeline()
        features = pipeline[0]
        weights = features.transformer_weights or {}
        named = features.named_transformers_
        self.words = _Tfidf.of(named["words"], weights.get("words", 1.0))
        self.chars = _Tfidf.of(named["chars"], weights.get("chars", 1.0))
        self.cue_scale = named["cues"][-1].scale_
        self.cue_weight = weights.get("cues", 1.0)
        self.context_scale = named["context"][-1].scale_
        self.context_weight = weights.get("context", 1.0)
        self.context_words = _Tfidf.of(named["context_words"], weights.get("context_words", 1.0))
        classifier = pipeline[-1]
        self.coef = np.asarray(classifier.coef_)
        self.coef_t = np.ascontiguousarray(self.coef.T)
        self.intercept = np.asarray(classifier.intercept_)
        self.classes = [str(c) for c in classifier.classes_]
        calibrated = model.classifier.calibrated_classifiers_[0]
        if calibrated.method != "sigmoid":
            raise ValueError("fast path supports sigmoid calibration only")
        self.calibration = [(float(c.a_), float(c.b_)) for c in calibrated.calibrators]
        self.order = [self.classes.index(label) for label in LABELS]
        category_features = model.category_model[0]
        self.category_words = _Tfidf.of(category_features.named_transformers_["words"])
        self.category_cue_scale = category_features.named_transformers_["cues"][-1].scale_
        estimators = model.category_model[-1].estimators_
        self.category_coef_t = np.ascontiguousarray(np.vstack([e.coef_[0] for e in estimators]).T)
        self.category_intercept = np.array([e.intercept_[0] for e in estimators])
        self.categories = list(model.categories)
        self.feature_names = [str(n) for n in features.get_feature_names_out()]
        self.attach(default_matcher())
        return self

    def attach(self, matcher: CueMatcher) -> "CompiledModel":
        """Use this cue matcher (matchers hold spaCy objects and are not saved)."""
        self.matcher = matcher
        self.names = matcher.names
        # each feature's pull towards overclaim rather than the other labels
        k = self.classes.index("overclaim")
        self.towards_overclaim = self.coef[k] - self.coef.mean(axis=0)
        return self

    def to_bytes(self) -> bytes:
        state = {k: v for k, v in self.__dict__.items()
                 if k not in ("matcher", "names", "towards_overclaim")}
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> "CompiledModel":
        """Unpickle (runs code: trusted bytes only; the caller checks the SHA-256 first)."""
        self = cls.__new__(cls)
        self.__dict__.update(pickle.loads(data))
        return self.attach(default_matcher())

    # --- cues -----------------------------------------------------------------------

    def cue_rows(self, texts: Sequence[str]) -> tuple[np.ndarray, list[list[Cue]]]:
        """Cue feature vectors (as ``CueFeatures`` makes them) and the matched cues."""
        return self.matcher.vectors(list(texts))

    # --- prediction -----------------------------------------------------------------

    def features(self, texts: Sequence[str], prev: Sequence[str], nxt: Sequence[str],
                 around: Sequence[str], unit_cues: np.ndarray) -> _Rows:
        """The rows of the pipeline's ColumnTransformer.transform, in its column order."""
        context = np.hstack([self._cue_rows_for(prev, texts, unit_cues),
                             self._cue_rows_for(nxt, texts, unit_cues)])
        return _Rows.hstack([
            self.words.rows(texts),
            self.chars.rows(texts),
            _Rows.dense((unit_cues / self.cue_scale) * self.cue_weight),
            _Rows.dense((context / self.context_scale) * self.context_weight),
            self.context_words.rows(around),
        ])

    def _cue_rows_for(self, column: Sequence[str], texts: Sequence[str],
                      unit_cues: np.ndarray) -> np.ndarray:
        """Cue rows of context texts, reusing a unit's own row when the text is that unit."""
        known = {text: i for i, text in enumerate(texts)}
        rows = np.zeros((len(column), unit_cues.shape[1]))
        missing = [i for i, text in enumerate(column) if text not in known]
        for i, text in enumerate(column):
            if text in known:
                rows[i] = unit_cues[known[text]]
        if missing:
            rows[missing] = self.cue_rows([column[i] for i in missing])[0]
        return rows

    def label_proba(self, X: _Rows) -> np.ndarray:
        """Calibrated probabilities, columns in ``LABELS`` order."""
        decision = X.dot(self.coef_t) + self.intercept
        proba = np.column_stack([expit(-(a * decision[:, k] + b))
                                 for k, (a, b) in enumerate(self.calibration)])
        denominator = proba.sum(axis=1)[:, None]
        proba = np.divide(proba, denominator, out=np.full_like(proba, 1 / proba.shape[1]),
                          where=denominator != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba[:, self.order]

    def category_proba(self, texts: Sequence[str], unit_cues: np.ndarray) -> np.ndarray:
        """P(category | overclaim) per unit, as the one-vs-rest category model gives it."""
        X = _Rows.hstack([self.category_words.rows(texts),
                          _Rows.dense(unit_cues / self.category_cue_scale)])
        return expit(X.dot(self.category_coef_t) + self.category_intercept)

    def contributions(self, X: _Rows, top: int) -> list[list[dict]]:
        """Top features pushing each unit towards ``overclaim`` (weight x value)."""
        direction = self.towards_overclaim
        out = []
        for i in range(len(X.indptr) - 1):
            start, end = X.indptr[i], X.indptr[i + 1]
            columns = X.columns[start:end]
            weights = X.values[start:end] * direction[columns]
            best = np.argsort(-weights)[:top]
            out.append([{"feature": str(self.feature_names[columns[j]]),
                         "weight": round(float(weights[j]), 4)} for j in best if weights[j] > 0])
        return out
