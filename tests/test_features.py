"""The custom transformers follow the scikit-learn estimator contract."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from overclaim.model.features import ContextFeatures, CueFeatures, cue_feature_names, unit_frame


def _not_for_text(estimator) -> dict[str, str]:
    """Checks that expect numbers to be refused: columns of text accept any value."""
    if not isinstance(estimator, ContextFeatures):
        return {}
    reason = "ContextFeatures takes columns of text: any value is read as text"
    return {name: reason for name in (
        "check_complex_data", "check_dtype_object", "check_estimators_nan_inf")}


@parametrize_with_checks([CueFeatures(), ContextFeatures()], expected_failed_checks=_not_for_text)
def test_sklearn_contract(estimator, check):
    """scikit-learn's own checks, for those that apply to text transformers."""
    check(estimator)


def test_cue_features_shape_and_names():
    features = CueFeatures().fit(["a"])
    X = features.transform(["Stem cells may regenerate discs.", "Call us."])
    assert X.shape == (2, len(cue_feature_names()))
    names = list(features.get_feature_names_out())
    row = dict(zip(names, X[0]))
    assert row["cue:benefit"] > 0 and row["claim:benefit_modal_unlimited"] == 1.0
    assert dict(zip(names, X[1]))["claim:promo_any"] == 0.0


def test_claim_structure_separates_hedged_from_promotional():
    features = CueFeatures().fit(["a"])
    names = list(features.get_feature_names_out())
    promo, hedged = features.transform([
        "Stem cells may help regenerate your discs.",
        "Stem cells may one day help, but no controlled trial has shown it."])
    unlimited = names.index("claim:promo_unlimited")
    assert promo[unlimited] == 1.0 and hedged[unlimited] == 0.0


def test_context_features_use_neighbours():
    frame = unit_frame(["A trial of 90 adults found a benefit.", "PRP works.", "Call us."],
                       groups=[0, 0, 0])
    X = ContextFeatures().fit(frame[["prev", "next"]]).transform(frame[["prev", "next"]])
    names = list(ContextFeatures().fit(frame[["prev", "next"]]).get_feature_names_out())
    assert X[1, names.index("prev:claim:evidence_any")] == 1.0
    assert X[0, names.index("prev:claim:evidence_any")] == 0.0


def test_unit_frame_context_stays_within_groups():
    frame = unit_frame(["a", "b", "c"], groups=["x", "x", "y"])
    assert frame["prev"].tolist() == ["", "a", ""]
    assert frame["next"].tolist() == ["b", "", ""]
    assert unit_frame(["a", "b"])["prev"].tolist() == ["", ""]


def test_context_features_reject_wrong_width():
    fitted = ContextFeatures().fit(pd.DataFrame({"prev": ["a"], "next": ["b"]}))
    with pytest.raises(ValueError):
        fitted.transform(np.array([["a", "b", "c"]], dtype=object))
