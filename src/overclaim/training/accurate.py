"""Training the accurate profile's encoder: out-of-fold predictions, then the final model.

The stacker that combines the linear model and the encoder must be fitted on predictions
neither model made for units it was trained on. The encoder is the expensive part (about
a minute per 1,000 units per epoch on 2 CPU cores), so its out-of-fold predictions come
from :data:`ENCODER_FOLDS` document-grouped folds (the linear model's from its usual
five); each fold is written as soon as it is done, so an interrupted run resumes.

    python -m overclaim.training.accurate oof   WORKDIR   # out-of-fold probabilities
    python -m overclaim.training.accurate final WORKDIR   # the encoder on every document
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from overclaim.schema import LABELS
from overclaim.training import corpus as corpus_lib
from overclaim.training import encoder

ENCODER_FOLDS = 2
#: The encoder's settings for the shipped model: 3 epochs at most (early stopping on
#: held-out documents), units cut at 64 tokens (99.5% of corpus units are shorter;
#: the median is 25).
PARAMS = encoder.EncoderParams(max_length=64, epochs=3, threads=2)
OOF_FILE = "encoder-oof.csv.gz"


def out_of_fold(table: pd.DataFrame, workdir: Path, params: encoder.EncoderParams = PARAMS,
                folds: int = ENCODER_FOLDS, progress=print) -> pd.DataFrame:
    """P(label) for every unit from an encoder that never saw its document."""
    from sklearn.model_selection import GroupKFold

    workdir.mkdir(parents=True, exist_ok=True)
    parts = []
    splits = GroupKFold(n_splits=folds).split(table, groups=table["doc"])
    for k, (train, test) in enumerate(splits):
        path = workdir / f"encoder-oof-fold{k}.csv.gz"
        if not path.is_file():
            started = time.perf_counter()
            fitted = encoder.fine_tune(table["text"].iloc[train].tolist(),
                                       table["label"].iloc[train].tolist(),
                                       table["doc"].iloc[train].tolist(), params,
                                       progress=lambda m, k=k: progress(f"fold {k}: {m}"))
            proba = encoder.predict_proba_torch(fitted, table["text"].iloc[test].tolist())
            fold = table.iloc[test][["doc", "start", "end"]].assign(
                **{f"p_{label}": proba[:, j] for j, label in enumerate(LABELS)}, fold=k,
                seconds=round(time.perf_counter() - started, 1))
            fold.to_csv(path, index=False)
        parts.append(pd.read_csv(path))
    out = pd.concat(parts, ignore_index=True)
    out.to_csv(workdir / OOF_FILE, index=False)
    return out


def final(table: pd.DataFrame, workdir: Path, params: encoder.EncoderParams = PARAMS,
          progress=print) -> dict:
    """The encoder fine-tuned on every document (early stopping on a held-out share),
    exported to int8 ONNX in ``workdir``; returns its card entry."""
    started = time.perf_counter()
    fitted = encoder.fine_tune(table["text"].tolist(), table["label"].tolist(),
                               table["doc"].tolist(), params, progress=progress)
    entry = encoder.export(fitted, workdir)
    entry["training_seconds"] = round(time.perf_counter() - started, 1)
    return entry


def main(argv: list[str]) -> None:
    import json

    step, workdir = argv[0], Path(argv[1])
    table = corpus_lib.load()
    if step == "oof":
        oof = out_of_fold(table, workdir)
        print(f"out-of-fold rows: {len(oof)}; mean P(overclaim) {np.mean(oof['p_overclaim']):.3f}")
    elif step == "final":
        entry = final(table, workdir)
        (workdir / "encoder-entry.json").write_text(json.dumps(entry, indent=2, default=str))
        print(json.dumps({k: entry[k] for k in ("training_seconds",) if k in entry}))
    else:
        raise SystemExit("usage: python -m overclaim.training.accurate oof|final WORKDIR")


if __name__ == "__main__":
    main(sys.argv[1:])
