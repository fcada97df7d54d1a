"""A behaviour set: short authored ad claims and short plain sentences, scored alone.

The linear model misses short blatant claims (its words are common). The goal (the model
issue) is that the accurate profile flags at least 8 of these 10 claims while flagging at
most 1 of the 10 plain sentences. Measured with the shipped models (trained on the corpus
with waves 5-8): fast flags 2 of 10 claims, accurate 7 of 10 (the other 3, "PRP regrows
hair.", "Exosomes reverse ageing." and the exosome facial, score 0.23-0.35 against a flag
threshold of 0.50 and go to review), and neither flags a plain sentence. The accurate
profile pools the encoder with the linear model with equal weights, and the linear
model's confident "neutral" (0.13-0.20 alone) holds those three down. The goal stays a
strict expected failure until it is met.
"""

from __future__ import annotations

import pytest

from overclaim import Scorer
from overclaim.errors import ModelError

BLATANT_CLAIMS = [
    "Stem cells cure autism.",
    "PRP regrows hair.",
    "Exosomes reverse ageing.",
    "Our stem cell shots heal torn rotator cuffs without surgery.",
    "Ozone therapy kills every virus in your blood.",
    "NAD+ drips restore your brain to its twenty-year-old self.",
    "Cord blood injections repair spinal cord damage.",
    "Guaranteed results after one session.",
    "Placenta extract cures multiple sclerosis.",
    "Our exosome facial erases wrinkles permanently.",
]
PLAIN_SENTENCES = [
    "Growth factors are proteins made by the body.",
    "The clinic is open Monday to Friday.",
    "Stem cells are cells that can develop into other cell types.",
    "PRP is prepared by spinning a sample of your blood.",
    "Parking is available behind the building.",
    "Exosomes are small vesicles released by cells.",
    "Please arrive fifteen minutes before your appointment.",
    "The knee joint is lined with cartilage.",
    "Our nurses will explain the procedure before it starts.",
    "A consultation takes about thirty minutes.",
]


@pytest.fixture(scope="module")
def accurate():
    try:
        return Scorer.load(profile="accurate")
    except ModelError as error:
        pytest.fail(f"the accurate profile does not load: {error}")


@pytest.mark.xfail(strict=True, reason="accurate flags 7 of 10 short blatant claims (goal 8): "
                   "the linear model's confident 'neutral' holds three of them under the flag "
                   "threshold")
def test_accurate_profile_flags_short_blatant_claims(accurate):
    results = accurate.score_sentences(BLATANT_CLAIMS)
    flagged = [r.text for r in results if r.flagged]
    assert len(flagged) >= 8, f"flagged only {len(flagged)}/10: {flagged}"


def test_accurate_profile_flags_more_short_claims_than_fast(accurate):
    fast = Scorer.load(profile="fast")
    flagged = {name: sum(r.flagged for r in scorer.score_sentences(BLATANT_CLAIMS))
               for name, scorer in (("fast", fast), ("accurate", accurate))}
    assert flagged["accurate"] >= flagged["fast"] + 3, flagged


def test_accurate_profile_leaves_short_plain_sentences(accurate):
    results = accurate.score_sentences(PLAIN_SENTENCES)
    flagged = [r.text for r in results if r.flagged]
    assert len(flagged) <= 1, f"flagged {flagged}"


def test_results_record_the_profile(accurate):
    assert accurate.model_info()["profile"] == "accurate"
    assert Scorer.load(profile="fast").model_info()["profile"] == "fast"
    assert accurate.score("Stem cells cure autism.").to_dict()["model"]["profile"] == "accurate"
