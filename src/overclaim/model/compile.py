"""The fast form: a fitted scikit-learn model's arithmetic in plain numpy.

scikit-learn validates inputs, wraps outputs and dispatches through ColumnTransformer,
Pipeline and joblib on every call: about 15 ms for one short sentence, though the
arithmetic takes microseconds; and unpickling the joblib model takes a second.
:func:`compile_estimator` lifts the fitted pieces out once at training time, walking
the fitted estimator and calling the compiler registered for each piece's type
(:func:`compiler`; the shipped ones are in :mod:`overclaim.model.compilers`). A new
estimator or transformer type needs one new compiler, nothing else. The result scores
with numpy alone, never importing scikit-learn, and computes what the fitted model
computes (a test checks the whole corpus to 1e-9). Evaluation measures this compiled
form, so what is measured is what users are served.
"""

from __future__ import annotations

import pickle
import re
from itertools import repeat
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from overclaim.cache import WordMemo
from overclaim.errors import ModelError
from overclaim.schema import LABELS, POSITIVE
from overclaim.text.cues import Cue, default_matcher


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
            raise ModelError("the compiler supports plain word and char_wb analyzers only")
        return cls(vectorizer.analyzer, tuple(vectorizer.ngram_range), vectorizer.lowercase,
                   vectorizer.strip_accents == "unicode", vectorizer.token_pattern)

    def words(self, text: str) -> list[str]:
        """The word n-grams of ``text`` (a "word" analyzer; "char_wb" ones go word by word
        through :meth:`word_chars`)."""
        return self._words(self.prepare(text))

    def prepare(self, text: str) -> str:
        """The text as the analyzer reads it: lower-cased and accents stripped if fitted so."""
        if self.lowercase:
            text = text.lower()
        if self.strip_accents:
            text = _strip_accents(text)
        return text

    def _words(self, text: str) -> list[str]:
        tokens = re.findall(self.token_pattern, text)
        low, high = self.ngram_range
        grams = list(tokens) if low == 1 else []
        for n in range(max(low, 2), min(high, len(tokens)) + 1):
            grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        return grams

    def word_chars(self, word: str) -> list[str]:
        """sklearn's char_wb n-grams of one word: padded with one space each side; a word
        no longer than n yields itself once and ends the longer n-grams."""
        low, high = self.ngram_range
        grams: list[str] = []
        word = f" {word} "
        length = len(word)
        for n in range(low, high + 1):
            if length <= n:
                grams.append(word)
                break
            grams += [word[i:i + n] for i in range(length - n + 1)]
        return grams


@dataclass
class _Tfidf:
    """A fitted TfidfVectorizer reduced to what transform needs."""

    analyze: _Analyzer
    vocabulary: dict[str, int]
    idf: np.ndarray
    sublinear: bool

    @classmethod
    def of(cls, vectorizer) -> "_Tfidf":
        if vectorizer.norm != "l2" or not vectorizer.use_idf or vectorizer.binary:
            raise ModelError("the compiler supports l2-normalised idf TF-IDF only")
        return cls(_Analyzer.of(vectorizer), dict(vectorizer.vocabulary_),
                   np.asarray(vectorizer.idf_, dtype=np.float64), vectorizer.sublinear_tf)

    def rows(self, texts: Sequence[str]) -> "_Rows":
        """Sparse rows as sklearn's transform would give them, without building a matrix.

        The vocabulary ids of every n-gram of the batch are gathered (-1: not in the
        vocabulary) and counted per row by sorting row-major keys, which also orders each
        row's columns as sklearn does. The keys arrive row by row, so a stable sort
        (which merges runs) is about three times faster than ``np.unique``'s.
        """
        ids, lengths = (self._char_ids(texts) if self.analyze.kind == "char_wb"
                        else self._word_ids(texts))
        width = len(self.idf)
        row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        known = ids >= 0
        keys, counts = _count_sorted(np.sort(row_of[known] * width + ids[known], kind="stable"))
        row_ids, columns = np.divmod(keys, width)
        values = counts.astype(np.float64)
        if self.sublinear:
            values = np.log(values) + 1
        values *= self.idf[columns]
        bounds = np.searchsorted(row_ids, np.arange(len(texts) + 1))
        values = _normalise_rows(values, bounds)
        return _Rows(bounds, columns, values, width)

    def _word_ids(self, texts: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """Word n-gram ids of each text (-1 for unknown; looked up at once with ``map``)."""
        grams: list[str] = []
        lengths = []
        for text in texts:
            found = self.analyze.words(text)
            grams += found
            lengths.append(len(found))
        ids = np.fromiter(map(self.vocabulary.get, grams, repeat(-1)), dtype=np.int64,
                          count=len(grams))
        return ids, lengths

    def _char_ids(self, texts: Sequence[str]) -> tuple[np.ndarray, list[int]]:
        """Known character n-gram ids of each text, word by word.

        char_wb n-grams never cross a word boundary, so a word's ids are the same
        wherever it occurs: each distinct word is analysed once and its ids kept (in a
        bounded :class:`~overclaim.cache.WordMemo`). Lower-casing and
        accent stripping apply to the whole text first, as in sklearn: NFKD turns a
        no-break space into a space, which moves word boundaries.
        """
        cache: WordMemo = self.__dict__.setdefault("_word_cache", WordMemo())
        analyze, vocabulary = self.analyze, self.vocabulary
        pieces: list[np.ndarray] = [np.zeros(0, dtype=np.int64)]
        lengths = []
        for text in texts:
            count = 0
            for word in analyze.prepare(text).split():
                known = cache.get(word)
                if known is None:
                    grams = analyze.word_chars(word)
                    known = cache.remember(word, np.array(
                        [vocabulary[g] for g in grams if g in vocabulary], dtype=np.int64))
                pieces.append(known)
                count += len(known)
            lengths.append(count)
        return np.concatenate(pieces), lengths

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_word_cache"}


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
        row_of = np.concatenate([np.repeat(np.arange(n), np.diff(b.indptr)) for b in blocks])
        order = np.argsort(row_of, kind="stable")  # row by row, blocks in order within a row
        columns = np.concatenate([b.columns + offset for b, offset in zip(blocks, offsets)])
        values = np.concatenate([b.values for b in blocks])
        indptr = np.concatenate([[0], np.cumsum(np.bincount(row_of, minlength=n))])
        return cls(indptr.astype(np.int64), columns[order].astype(np.int64), values[order],
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
    lengths = np.diff(bounds)
    nonempty = lengths > 0
    squares = np.zeros(len(lengths))
    if len(values):
        squares[nonempty] = np.add.reduceat(values * values, bounds[:-1][nonempty])
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    return values / np.repeat(norms, lengths)


def _count_sorted(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of a sorted array and how often each occurs."""
    if not len(keys):
        return keys, np.zeros(0, dtype=np.int64)
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:], keys[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    return keys[starts], np.diff(np.append(starts, len(keys)))


# --- shared per-call cue rows --------------------------------------------------------


class CueCache:
    """Cue feature rows and matched cues per distinct text, computed once per scoring call.

    A unit's text comes back as its neighbour's context, and "" (no neighbour) at every
    page edge: matching each distinct text once serves the unit's features, the context
    features of both neighbours, and the explanations.
    """

    def __init__(self, matcher=None):
        self.matcher = matcher or default_matcher()
        self.width = len(self.matcher.feature_names())
        # "" (no neighbour) is at every page edge: its row is the matcher's, made once
        self._rows: dict[str, np.ndarray] = {"": self.matcher.empty_row()}
        self._cues: dict[str, list[Cue]] = {"": []}

    def rows(self, texts: Sequence[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._rows))
        if missing:
            vectors, found = self.matcher.vectors(missing)
            for text, vector, cues in zip(missing, vectors, found):
                self._rows[text], self._cues[text] = vector, cues
        if not texts:
            return np.zeros((0, self.width))
        return np.vstack([self._rows[t] for t in texts])

    def cues(self, texts: Sequence[str]) -> list[list[Cue]]:
        self.rows(texts)
        return [self._cues[t] for t in texts]


Batch = dict[str, Sequence[str]]  # column name -> one string per unit (text, prev, next, context)


# --- compiled transformers: data -> rows -----------------------------------------------


@dataclass
class TfidfBlock:
    """A TF-IDF vectoriser over one column of text."""

    tfidf: _Tfidf

    def rows(self, columns: list[Sequence[str]], cues: CueCache) -> _Rows:
        return self.tfidf.rows(columns[0])


@dataclass
class CueBlock:
    """Cue features (:class:`~overclaim.model.features.CueFeatures` or
    ``ContextFeatures``) of each given column, side by side."""

    def rows(self, columns: list[Sequence[str]], cues: CueCache) -> _Rows:
        return _Rows.dense(np.hstack([cues.rows(column) for column in columns]))


@dataclass
class ScaleBlock:
    """A column scaling (MaxAbsScaler): divide each column by its fitted scale."""

    scale: np.ndarray

    def apply(self, rows: _Rows) -> _Rows:
        return _Rows(rows.indptr, rows.columns, rows.values / self.scale[rows.columns], rows.width)


@dataclass
class ChainBlock:
    """A Pipeline of transformers: the first reads the data, the rest transform rows."""

    first: Any
    rest: list[Any]

    def rows(self, data: Any, cues: CueCache) -> _Rows:
        rows = self.first.rows(data, cues)
        for step in self.rest:
            rows = step.apply(rows)
        return rows


@dataclass
class ColumnsBlock:
    """A ColumnTransformer: each part reads its columns of the batch; weighted, side by side."""

    parts: list[tuple[Any, str | list[str], float]]
    feature_names: list[str]

    def rows(self, batch: Batch, cues: CueCache) -> _Rows:
        blocks = []
        for block, columns, weight in self.parts:
            data = [batch[columns]] if isinstance(columns, str) else [batch[c] for c in columns]
            rows = block.rows(data, cues)
            if weight != 1.0:
                rows = _Rows(rows.indptr, rows.columns, rows.values * weight, rows.width)
            blocks.append(rows)
        return _Rows.hstack(blocks)


# --- compiled classifiers: rows -> decision -> probabilities ---------------------------


def softmax(decision: np.ndarray) -> np.ndarray:
    shifted = decision - decision.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


@dataclass
class LinearHead:
    """A linear classifier: ``decision = rows . coef + intercept``.

    ``link`` turns decisions into probabilities as the fitted estimator does: "softmax"
    (multinomial logistic regression), "sigmoid" (binary logistic regression), "ovr"
    (one independent sigmoid per column: one-vs-rest, multi-label) or "none" (no
    probabilities of its own, e.g. a linear SVM: wrap it in calibration).
    """

    coef: np.ndarray  # k x n_features
    intercept: np.ndarray  # k
    link: str

    def __post_init__(self) -> None:
        self.coef_t = np.ascontiguousarray(self.coef.T)

    def decision(self, rows: _Rows) -> np.ndarray:
        return rows.dot(self.coef_t) + self.intercept

    def proba(self, decision: np.ndarray) -> np.ndarray:
        if self.link == "softmax":
            return softmax(decision)
        if self.link == "sigmoid":
            p = expit(decision[:, 0])
            return np.column_stack([1 - p, p])
        if self.link == "ovr":
            return expit(decision)
        raise ModelError("this linear model has no probabilities of its own; calibrate it")


@dataclass
class PipelineClassifier:
    """A Pipeline ending in a linear classifier."""

    features: Any
    head: LinearHead

    @property
    def feature_names(self) -> list[str]:
        return list(getattr(self.features, "feature_names", []))

    def decision(self, batch: Batch, cues: CueCache) -> tuple[np.ndarray, _Rows]:
        rows = self.features.rows(batch, cues)
        return self.head.decision(rows), rows

    def proba(self, batch: Batch, cues: CueCache) -> tuple[np.ndarray, _Rows]:
        decision, rows = self.decision(batch, cues)
        return self.head.proba(decision), rows


@dataclass
class Calibrated:
    """CalibratedClassifierCV (``ensemble=False``): per-class calibrators over the inner
    classifier's decisions, normalised as scikit-learn does."""

    inner: PipelineClassifier
    method: str  # "sigmoid": (a, b) per class; "isotonic": (x, y) points per class
    calibrators: list[tuple[np.ndarray, np.ndarray]]

    @property
    def head(self) -> LinearHead:
        return self.inner.head

    @property
    def feature_names(self) -> list[str]:
        return self.inner.feature_names

    def proba(self, batch: Batch, cues: CueCache) -> tuple[np.ndarray, _Rows]:
        decision, rows = self.inner.decision(batch, cues)
        columns = [self._calibrate(k, decision[:, k]) for k in range(len(self.calibrators))]
        if len(columns) == 1:  # binary: one calibrator for the positive class
            return np.column_stack([1 - columns[0], columns[0]]), rows
        proba = np.column_stack(columns)
        denominator = proba.sum(axis=1)[:, None]
        proba = np.divide(proba, denominator, out=np.full_like(proba, 1 / proba.shape[1]),
                          where=denominator != 0)
        proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
        return proba, rows

    def _calibrate(self, k: int, decision: np.ndarray) -> np.ndarray:
        first, second = self.calibrators[k]
        if self.method == "sigmoid":
            return expit(-(float(first) * decision + float(second)))
        return np.interp(decision, first, second)


# --- the model users are served ------------------------------------------------------


class CompiledModel:
    """The scorer's model: units in, label and category probabilities out (numpy only).

    ``label`` and ``category`` are compiled classifiers (``proba(batch, cues)``);
    ``classes`` is the label model's class order, ``categories`` the category model's.
    """

    def __init__(self, label: Any, category: Any, classes: Sequence[str],
                 categories: Sequence[str]):
        self.label = label
        self.category = category
        self.classes = [str(c) for c in classes]
        self.categories = list(categories)
        missing = set(LABELS) - set(self.classes)
        if missing:
            raise ModelError(f"the label model lacks the labels {sorted(missing)}")
        self.order = [self.classes.index(label) for label in LABELS]
        self.attach(default_matcher())

    @classmethod
    def from_model(cls, model: Any) -> "CompiledModel":
        """Compile a fitted :class:`overclaim.model.estimators.OverclaimModel`."""
        return compile_estimator(model)

    def attach(self, matcher) -> "CompiledModel":
        """Use this cue matcher (matchers are rebuilt from the lexicons, not saved)."""
        self.matcher = matcher
        return self

    def _explainer(self) -> tuple[np.ndarray, list[str]]:
        """The weights pulling towards the positive label, and the feature names; computed
        once, as a mean over every feature's weights costs milliseconds per call."""
        cached = self.__dict__.get("_explain")
        if cached is None:
            head = self.label.head
            if len(head.coef) == 1:  # binary: the single row pulls towards the positive class
                direction = head.coef[0] if self.classes[1] == POSITIVE else -head.coef[0]
            else:
                k = self.classes.index(POSITIVE)
                direction = head.coef[k] - head.coef.mean(axis=0)
            cached = self._explain = (direction, self.label.feature_names)
        return cached

    def to_bytes(self) -> bytes:
        state = {k: v for k, v in self.__dict__.items() if k not in ("matcher", "_explain")}
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, data: bytes) -> "CompiledModel":
        """Unpickle (runs code: trusted bytes only; the caller checks the SHA-256 first)."""
        self = cls.__new__(cls)
        self.__dict__.update(pickle.loads(data))
        return self.attach(default_matcher())

    def predict(self, batch: Batch, contributions: int = 0) -> "Prediction":
        """Probabilities for each unit of ``batch`` (columns ``text``, ``prev``, ``next``,
        ``context``), the cues found in each, and its ``contributions`` strongest features."""
        cues = CueCache(self.matcher)
        proba, rows = self.label.proba(batch, cues)
        proba = proba[:, self.order]
        category_proba, _ = self.category.proba(batch, cues)
        return Prediction(
            label_proba=proba, category_proba=category_proba,
            cues=cues.cues(batch["text"]),
            contributions=(self.contributions(rows, contributions) if contributions
                           else [[] for _ in batch["text"]]))

    def predict_proba(self, batch: Batch) -> np.ndarray:
        """Label probabilities only, columns in ``LABELS`` order."""
        return self.label.proba(batch, CueCache(self.matcher))[0][:, self.order]

    def contributions(self, rows: _Rows, top: int) -> list[list[dict]]:
        """Top features pushing each unit towards the positive label (weight x value).

        One sort for the whole batch (by row, then by weight, largest first; ties in
        column order), not one per unit.
        """
        direction, names = self._explainer()
        n = len(rows.indptr) - 1
        weights = rows.values * direction[rows.columns]
        row_of = np.repeat(np.arange(n), np.diff(rows.indptr))
        positive = weights > 0
        order = np.flatnonzero(positive)
        order = order[np.lexsort((-weights[order], row_of[order]))]
        rank = np.arange(len(order)) - np.searchsorted(row_of[order], row_of[order])
        order = order[rank < top]
        out: list[list[dict]] = [[] for _ in range(n)]
        for i, column, weight in zip(row_of[order].tolist(), rows.columns[order].tolist(),
                                     weights[order].tolist()):
            out[i].append({"feature": str(names[column]) if names else f"f{column}",
                           "weight": round(weight, 4)})
        return out


@dataclass
class Prediction:
    """What a model says about a batch of units."""

    label_proba: np.ndarray  # n x len(LABELS), columns in LABELS order
    category_proba: np.ndarray  # n x len(categories): P(category | overclaim)
    cues: list[list[Cue]]
    contributions: list[list[dict]]


# --- the registry --------------------------------------------------------------------

_COMPILERS: dict[type, Callable[[Any], Any]] = {}


def compiler(*types: type) -> Callable:
    """Register a function turning a fitted estimator of one of ``types`` into its compiled
    form (see :mod:`overclaim.model.compilers` for the shipped ones)."""

    def register(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
        for kind in types:
            _COMPILERS[kind] = function
        return function

    return register


def compile_estimator(fitted: Any) -> Any:
    """The compiled form of a fitted estimator, by the compiler registered for its type
    (the most specific one in its class hierarchy)."""
    from overclaim.model import compilers  # noqa: F401  (registers the shipped compilers)

    for kind in type(fitted).__mro__:
        if kind in _COMPILERS:
            return _COMPILERS[kind](fitted)
    raise ModelError(f"no compiler for {type(fitted).__name__}: register one with "
                     "@overclaim.model.compile.compiler")
