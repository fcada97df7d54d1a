"""Score units with the fine-tuned encoder: onnxruntime + tokenizers, no torch.

The graph and tokenizer are written by :func:`overclaim.training.encoder.export`. This module
must not import torch or transformers, not even indirectly: the accurate profile has to run
where only the core dependencies are installed, and importing torch alone costs seconds.

Why the choices: the int8 graph quantizes activations with one scale per batch, so a unit
scored beside others moves by up to 0.04 (measured on the test examples) from its score
alone. A unit's score must not depend on what else is scored with it, so the default
``batch_size`` is 1 (371 units/s for the encoder alone on 2 cores, against 552 in batches
of 64: a price paid for reproducible scores). With larger batches, units are sorted by
token length so a batch pads to similar lengths; results are put back in input order.
Probabilities are a float64 softmax of the logits, columns in :data:`LABELS` order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from overclaim.errors import ModelError
from overclaim.schema import LABELS

#: Units per onnxruntime call; 1 keeps every unit's score independent of the others.
DEFAULT_BATCH = 1
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")


class EncoderModel:
    """An exported encoder: an onnxruntime session and its tokenizer."""

    def __init__(self, session, tokenizer, max_length: int, batch_size: int = DEFAULT_BATCH):
        self.session = session
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.batch_size = batch_size
        self.input_names = [item.name for item in session.get_inputs()]
        _check_graph(session)
        tokenizer.no_padding()  # batches are padded here, to their own longest unit
        tokenizer.enable_truncation(max_length=max_length)
        self.pad_id = _pad_id(tokenizer)

    @classmethod
    def from_files(cls, onnx_path: str | Path, tokenizer_path: str | Path, max_length: int,
                   threads: int | None = None) -> "EncoderModel":
        """Load from the files written by the export."""
        return cls.from_bytes(Path(onnx_path).read_bytes(), Path(tokenizer_path).read_bytes(),
                              max_length, threads)

    @classmethod
    def from_bytes(cls, onnx_bytes: bytes, tokenizer_bytes: bytes, max_length: int,
                   threads: int | None = None) -> "EncoderModel":
        """Load from bytes already read (and checked against a card's SHA-256)."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_str(tokenizer_bytes.decode("utf-8"))
        model = cls(make_session(onnx_bytes, threads), tokenizer, max_length)
        model._source = (onnx_bytes, tokenizer_bytes, max_length, threads)
        return model

    def with_threads(self, threads: int) -> "EncoderModel":
        """The same model in a new session limited to ``threads`` intra-op threads."""
        onnx_bytes, tokenizer_bytes, max_length, _ = self._source
        return EncoderModel.from_bytes(onnx_bytes, tokenizer_bytes, max_length, threads)

    def __getstate__(self) -> dict:
        """Pickled as the bytes it was built from (an onnxruntime session cannot be pickled),
        so a scorer can be shipped to worker processes, Dask workers or Spark executors."""
        source = getattr(self, "_source", None)
        if source is None:
            raise TypeError("an EncoderModel built from a session cannot be pickled; "
                            "build it with EncoderModel.from_bytes")
        return {"source": source}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(EncoderModel.from_bytes(*state["source"]).__dict__)

    def predict_proba(self, texts: Sequence[str],
                      context: Sequence[str | None] | None = None) -> np.ndarray:
        """Probabilities (n, 4), float64, columns in LABELS order, rows in input order.

        ``context``: the previous unit of each unit (None for a document's first), only for
        a model trained with context; it becomes the second segment.
        """
        if not len(texts):
            return np.zeros((0, len(LABELS)))
        encodings = self.tokenizer.encode_batch(_inputs(texts, context))
        out = np.empty((len(texts), len(LABELS)))
        for batch in _length_batches([len(e.ids) for e in encodings], self.batch_size):
            feeds = self._feeds([encodings[i] for i in batch])
            logits = self.session.run(None, feeds)[0]
            out[batch] = softmax(logits.astype(np.float64))
        return out

    def _feeds(self, encodings) -> dict[str, np.ndarray]:
        """The graph inputs for one batch, padded to its longest unit."""
        width = max(len(e.ids) for e in encodings)
        arrays = {name: np.zeros((len(encodings), width), dtype=np.int64)
                  for name in INPUT_NAMES}
        arrays["input_ids"].fill(self.pad_id)
        for row, encoding in enumerate(encodings):
            n = len(encoding.ids)
            arrays["input_ids"][row, :n] = encoding.ids
            arrays["attention_mask"][row, :n] = 1
            arrays["token_type_ids"][row, :n] = encoding.type_ids
        return {name: arrays[name] for name in self.input_names}


def make_session(onnx_bytes: bytes, threads: int | None = None):
    """An onnxruntime CPU session with full graph optimisation.

    ``threads=None`` leaves onnxruntime's default intra-op pool, which is one thread per
    physical core; pass a number to share the machine with other work.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.inter_op_num_threads = 1
    options.intra_op_num_threads = threads or 0
    return ort.InferenceSession(onnx_bytes, sess_options=options,
                                providers=["CPUExecutionProvider"])


def _check_graph(session) -> None:
    """Refuse a graph that cannot be this model: unknown inputs, or not one logit per label."""
    unknown = {item.name for item in session.get_inputs()} - set(INPUT_NAMES)
    width = session.get_outputs()[0].shape[-1]
    if unknown or width != len(LABELS):
        raise ModelError(f"the ONNX graph is not a {len(LABELS)}-label encoder "
                         f"(inputs {sorted(unknown) or 'ok'}, output width {width})")


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


def _inputs(texts: Sequence[str], context: Sequence[str | None] | None) -> list:
    if context is None:
        return list(texts)
    if len(context) != len(texts):
        raise ValueError("context must have one entry per text")
    return [(t, c) if c else t for t, c in zip(texts, context)]


def _length_batches(lengths: Sequence[int], size: int) -> list[list[int]]:
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[b:b + size] for b in range(0, len(order), size)]


def _pad_id(tokenizer) -> int:
    for token in ("[PAD]", "<pad>"):
        found = tokenizer.token_to_id(token)
        if found is not None:
            return found
    return 0
