"""Growing the corpus: likely label errors, and new units worth labeling first.

``suspects`` lists units whose document-grouped held-out prediction confidently
disagrees with their label. ``suggest`` cuts new documents into units (every unit,
since the corpus labels documents whole) ordered by how unsure the model is, as a CSV
for ``overclaim corpus add`` and a Label Studio import file with pre-annotations.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from overclaim import atomic
from overclaim.errors import CorpusError, InputError
from overclaim.inputs.sources import html_main_text
from overclaim.training import corpus as corpus_lib
from overclaim.training import evaluate as ev
from overclaim.model import estimators as model_lib
from overclaim.schema import CATEGORIES, LABELS
from overclaim.paths import corpus_dir
from overclaim.text.segment import Unit

def _choices(values) -> str:
    return "".join(f'<Choice value="{v}"/>' for v in values)


#: Label Studio's labelling interface for the tasks :func:`label_studio_tasks` writes,
#: built from the schema's labels and categories.
LABEL_STUDIO_CONFIG = f"""<View>
  <Text name="text" value="$text"/>
  <Header value="Context: $context"/>
  <Choices name="label" toName="text" choice="single" showInline="true">
    {_choices(LABELS)}
  </Choices>
  <Choices name="categories" toName="text" choice="multiple" showInline="true">
    {_choices(CATEGORIES)}
  </Choices>
</View>
"""


def suspects(corpus: pd.DataFrame, params: model_lib.Params = model_lib.Params(),
             min_confidence: float = 0.8, folds: int = 5) -> pd.DataFrame:
    """Units whose held-out predicted label differs from their label with high confidence."""
    frame = ev.corpus_frame(corpus, params.context_window)
    proba, index = ev.held_out_proba(lambda: model_lib.build_model(params), frame,
                                     "grouped-cv", folds)
    predictions = ev.prediction_frame(frame, proba, index)
    confidence = predictions[[f"p_{label}" for label in LABELS]].max(axis=1)
    out = predictions.assign(confidence=confidence.round(4))
    out = out[(out["predicted"] != out["label"]) & (out["confidence"] >= min_confidence)]
    columns = ["doc", "start", "end", "label", "predicted", "confidence", "text"]
    return out.sort_values("confidence", ascending=False)[columns].reset_index(drop=True)


def suggest(paths: Iterable[Path], scorer, treatment: str, root: Path | None = None,
            voice: str = "", page_kind: str = "") -> pd.DataFrame:
    """Rows for new documents, least-sure units first, with the model's suggestion.

    Documents outside ``corpus/documents/`` are copied into ``documents/authored/``
    (never overwriting a different file of the same name) so offsets stay traceable. An
    HTML page is cut as a scan reads it: its extracted main text, kept as ``<name>.txt``.
    """
    base = root or corpus_dir()
    placed = []
    with tempfile.TemporaryDirectory() as scratch:
        for path in map(Path, paths):
            try:
                text = html_main_text(path)
            except InputError as error:
                raise CorpusError(f"{path}: {error}") from None
            if text is not None:
                path = Path(scratch) / f"{path.stem}.txt"
                atomic.write_text(path, text if text.endswith("\n") else text + "\n")
            placed.append(_place(path, base))
    rows = corpus_lib.template(placed, treatment, base, voice=voice, page_kind=page_kind)
    if rows.empty:
        return rows
    results = []
    for _, group in rows.groupby("doc", sort=False):
        results.extend(scorer.score_units([_unit(r) for r in group.itertuples(index=False)]))
    proba = np.array([[r.scores[label] for label in LABELS] for r in results])
    ordered = np.sort(proba, axis=1)
    rows["suggested"] = [r.label for r in results]
    rows["p_overclaim"] = [r.overclaim for r in results]
    rows["uncertainty"] = np.round(1 - (ordered[:, -1] - ordered[:, -2]), 4)
    rows["context"] = _contexts(rows)
    return rows.sort_values("uncertainty", ascending=False, kind="stable").reset_index(drop=True)


def label_studio_tasks(rows: pd.DataFrame, model_name: str) -> list[dict]:
    """Label Studio import tasks with the model's label as a pre-annotation."""
    tasks = []
    for row in rows.itertuples(index=False):
        tasks.append({
            "data": {"text": row.text, "context": row.context, "doc": row.doc,
                     "start": int(row.start), "end": int(row.end), "treatment": row.treatment},
            "meta": {"uncertainty": float(row.uncertainty)},
            "predictions": [{"model_version": model_name, "score": 1 - float(row.uncertainty),
                             "result": [{"from_name": "label", "to_name": "text", "type": "choices",
                                         "value": {"choices": [row.suggested]}}]}],
        })
    return tasks


def write_suggestions(rows: pd.DataFrame, output: Path, model_name: str) -> tuple[Path, Path]:
    """The CSV (for ``corpus add`` once labeled) and ``<output>.labelstudio.json`` beside it."""
    if output.exists():
        raise CorpusError(f"{output} exists; not overwriting it")
    output.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(output, rows.to_csv(index=False))
    tasks_path = output.with_suffix(".labelstudio.json")
    atomic.write_text(tasks_path, json.dumps(label_studio_tasks(rows, model_name), indent=1) + "\n")
    atomic.write_text(output.with_suffix(".labelstudio.xml"), LABEL_STUDIO_CONFIG)
    return output, tasks_path


def _place(path: Path, base: Path) -> Path:
    documents = (base / "documents").resolve()
    resolved = path.resolve()
    if documents in resolved.parents:
        return resolved
    target = documents / "authored" / path.name
    if target.exists() and target.read_bytes() != path.read_bytes():
        raise CorpusError(f"{target} exists with other content; rename {path.name}")
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_bytes(target, path.read_bytes())
    return target


def _unit(row) -> Unit:
    return Unit(int(row.start), int(row.end), row.text, row.kind)


def _contexts(rows: pd.DataFrame) -> list[str]:
    texts, docs = rows["text"].tolist(), rows["doc"].tolist()
    out = []
    for i in range(len(texts)):
        before = texts[i - 1] if i > 0 and docs[i - 1] == docs[i] else ""
        after = texts[i + 1] if i + 1 < len(texts) and docs[i + 1] == docs[i] else ""
        out.append(f"{before} [...] {after}".strip())
    return out
