"""How each fitted scikit-learn piece becomes its compiled form (one compiler per type).

Imported only when a model is compiled (at training time), so scoring never imports
scikit-learn. To serve a new estimator or transformer, register a compiler for its type
here with :func:`overclaim.model.compile.compiler`; :func:`compile_estimator` walks a
fitted model and calls the compiler of each piece it meets.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model._base import LinearClassifierMixin
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler

from overclaim.errors import ModelError
from overclaim.model.compile import (
    Calibrated, ChainBlock, ColumnsBlock, CompiledModel, CueBlock, LinearHead,
    PipelineClassifier, ScaleBlock, TfidfBlock, _Tfidf, compile_estimator, compiler,
)
from overclaim.model.estimators import ContextDropout, OverclaimModel
from overclaim.model.features import ContextFeatures, CueFeatures


@compiler(OverclaimModel)
def _overclaim_model(model: OverclaimModel) -> CompiledModel:
    return CompiledModel(compile_estimator(model.classifier), compile_estimator(model.category_model),
                         model.classifier.classes_, model.categories)


@compiler(TfidfVectorizer)
def _tfidf(vectorizer: TfidfVectorizer) -> TfidfBlock:
    return TfidfBlock(_Tfidf.of(vectorizer))


@compiler(CueFeatures, ContextFeatures)
def _cues(transformer: Any) -> CueBlock:
    if transformer.cues_dir is not None:
        raise ModelError("the compiled form matches cues with the shipped lexicon only")
    return CueBlock()


@compiler(MaxAbsScaler)
def _scale(scaler: MaxAbsScaler) -> ScaleBlock:
    return ScaleBlock(np.asarray(scaler.scale_, dtype=np.float64))


@compiler(ColumnTransformer)
def _columns(transformer: ColumnTransformer) -> ColumnsBlock:
    weights = transformer.transformer_weights or {}
    parts = []
    for name, fitted, columns in transformer.transformers_:
        if name == "remainder" or fitted == "drop":
            continue
        if fitted == "passthrough":
            raise ModelError("the compiled form does not pass columns through untransformed")
        parts.append((compile_estimator(fitted), columns if isinstance(columns, str)
                      else [str(c) for c in columns], float(weights.get(name, 1.0))))
    return ColumnsBlock(parts, [str(n) for n in transformer.get_feature_names_out()])


@compiler(Pipeline)
def _pipeline(pipeline: Pipeline) -> Any:
    steps = [compile_estimator(step) for _, step in pipeline.steps if step != "passthrough"]
    if isinstance(steps[-1], LinearHead):
        features = steps[0] if len(steps) == 2 else ChainBlock(steps[0], steps[1:-1])
        return PipelineClassifier(features, steps[-1])
    return steps[0] if len(steps) == 1 else ChainBlock(steps[0], steps[1:])


@compiler(LinearClassifierMixin)
def _linear(classifier: Any) -> LinearHead:
    coef = np.atleast_2d(np.asarray(classifier.coef_, dtype=np.float64))
    intercept = np.atleast_1d(np.asarray(classifier.intercept_, dtype=np.float64))
    if not hasattr(classifier, "predict_proba"):
        link = "none"
    elif getattr(classifier, "multi_class", "auto") == "ovr" and len(coef) > 1:
        raise ModelError("one-vs-rest logistic regression: wrap it in OneVsRestClassifier")
    else:
        link = "sigmoid" if len(coef) == 1 else "softmax"
    return LinearHead(coef, intercept, link)


@compiler(OneVsRestClassifier)
def _one_vs_rest(classifier: OneVsRestClassifier) -> LinearHead:
    heads = [compile_estimator(e) for e in classifier.estimators_]
    if any(len(h.coef) != 1 or h.link != "sigmoid" for h in heads):
        raise ModelError("one-vs-rest is compiled for binary logistic regressions only")
    return LinearHead(np.vstack([h.coef for h in heads]),
                      np.concatenate([h.intercept for h in heads]), "ovr")


@compiler(ContextDropout)
def _context_dropout(wrapper: ContextDropout) -> Any:
    return compile_estimator(wrapper.estimator_)  # prediction is the wrapped estimator's


@compiler(CalibratedClassifierCV)
def _calibrated(model: CalibratedClassifierCV) -> Calibrated:
    if len(model.calibrated_classifiers_) != 1:
        raise ModelError("compile calibration fitted with ensemble=False (one classifier)")
    fitted = model.calibrated_classifiers_[0]
    inner = compile_estimator(fitted.estimator)
    if not isinstance(inner, PipelineClassifier):
        raise ModelError("calibration is compiled over a pipeline ending in a linear model")
    if fitted.method == "sigmoid":
        calibrators = [(np.float64(c.a_), np.float64(c.b_)) for c in fitted.calibrators]
    elif fitted.method == "isotonic":
        calibrators = [(np.asarray(c.X_thresholds_, dtype=np.float64),
                        np.asarray(c.y_thresholds_, dtype=np.float64)) for c in fitted.calibrators]
    else:
        raise ModelError(f"no compiled form of {fitted.method!r} calibration")
    return Calibrated(inner, fitted.method, calibrators)
