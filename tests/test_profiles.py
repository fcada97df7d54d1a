"""The accurate profile as shipped: loaded and checked like every model, scored without
torch, and tied to the fast model it was trained over."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from overclaim import Scorer
from overclaim.errors import ModelError
from overclaim.model import artifact

from .conftest import copy_accurate_model


BLOCK_TORCH = """
import sys

class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers"):
            raise ImportError("not installed here: " + name)

sys.meta_path.insert(0, Refuse())
"""


def test_accurate_profile_scores_without_torch_or_transformers():
    """Scoring works where torch and transformers cannot be imported at all (spaCy's thinc
    imports torch whenever it is installed, so its absence is what is checked)."""
    code = BLOCK_TORCH + (
        "from overclaim import Scorer\n"
        "page = Scorer.load(profile='accurate').score('Stem cells cure autism. We open at nine.')\n"
        "assert page.model['profile'] == 'accurate' and len(page.sentences) == 2, page.model\n"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')]\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_tampered_encoder_is_refused(tmp_path):
    card_path = copy_accurate_model(tmp_path)
    card = json.loads(card_path.read_text())
    onnx = card_path.parent / card["encoder_file"]
    data = bytearray(onnx.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match its card"):
        Scorer.load(card_path)


def test_accurate_card_refuses_another_fast_model(tmp_path):
    """The stacker was fitted on one linear model: a retrained fast card breaks the tie."""
    card_path = copy_accurate_model(tmp_path)
    fast_card = card_path.parent / artifact.card_file(card_path.parent).name
    fast = json.loads(fast_card.read_text())
    fast["note"] = "retrained"
    fast["card_sha256"] = artifact.card_digest(fast)
    fast_card.write_text(json.dumps(fast, indent=2))
    Scorer.load(fast_card)  # the fast card itself is sound
    with pytest.raises(ModelError, match="retrain the accurate profile"):
        Scorer.load(card_path)


def test_both_profiles_load_from_one_folder_and_differ(tmp_path):
    card_path = copy_accurate_model(tmp_path)
    accurate = Scorer.load(card_path.parent, profile="accurate")
    fast = Scorer.load(card_path.parent, profile="fast")
    text = ["Stem cells cure autism."]
    assert accurate.bundle.profile == "accurate" and fast.bundle.profile == "fast"
    assert accurate.score_sentences(text)[0].overclaim != fast.score_sentences(text)[0].overclaim
    with pytest.raises(ModelError, match="unknown profile"):
        Scorer.load(card_path.parent, profile="medium")


def test_evaluate_shows_the_accurate_comparison_from_its_card(runner, tmp_path):
    from overclaim.adapters.cli import main

    out = tmp_path / "evaluation.json"
    result = runner.invoke(main, ["evaluate", "--profile", "accurate", "--json", str(out)])
    assert result.exit_code == 0, result.output
    card, _ = artifact.read_card(artifact.default_card("accurate"))
    for subset, by_name in card["evaluation"]["figures"].items():
        assert set(by_name) >= {"accurate", "fast", "encoder", "tfidf+lr", "cue-count rule"}
        for name, m in by_name.items():
            row = f"| {subset} | {name} | {m['n']} |"
            assert row in result.output
            line = next(x for x in result.output.splitlines() if x.startswith(row))
            assert f"| {m['overclaim']['roc_auc']:.3f} |" in line
    assert json.loads(out.read_text()) == card["evaluation"]


def test_the_accurate_pool_is_the_normalised_geometric_mean_of_both_models():
    import numpy as np

    from overclaim.training.accurate import pooled_stacker

    rng = np.random.default_rng(3)
    linear, encoded = rng.dirichlet(np.ones(4), 50), rng.dirichlet(np.ones(4), 50)
    geometric = np.sqrt(linear * encoded)
    expected = geometric / geometric.sum(axis=1, keepdims=True)
    assert np.allclose(pooled_stacker().proba(linear, encoded), expected, atol=1e-12)
    shipped = Scorer.load(profile="accurate").bundle.compiled.stacker
    assert np.allclose(shipped.coef, pooled_stacker().coef)
    assert np.allclose(shipped.intercept, 0)
