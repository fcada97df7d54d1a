"""Train and ship a model: corpus -> held-out metrics and thresholds -> fit -> files + card.

Thresholds and every metric in the card come from document-grouped held-out
predictions, never from units the model was fitted on; the thresholds' own precision
and recall are also measured on documents they were not chosen on (nested). The final
model is then fitted on the whole corpus. Training is deterministic: the same corpus and
settings give the same predictions.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from overclaim import atomic
from overclaim.training import corpus as corpus_lib
from overclaim.training import evaluate as ev
from overclaim.training import gate as gate_lib
from overclaim.model import estimators as model_lib
from overclaim.paths import models_dir, project_root

# The quality gate lives in overclaim.training.gate; these names stay for callers of train.
GATE_FILE, GATED, FLOOR_MARGIN = gate_lib.GATE_FILE, gate_lib.GATED, gate_lib.FLOOR_MARGIN
GateError = gate_lib.GateError
gate_metrics = gate_lib.gate_metrics


@dataclass
class TrainResult:
    card_path: Path
    card: dict[str, Any]


def code_version() -> str:
    """Package version plus the git commit of the checkout, when there is one."""
    from importlib.metadata import version

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=project_root(),
                                capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return version("overclaim") + (f"+g{commit}" if commit else "")


def train(name: str = model_lib.DEFAULT_NAME, params: model_lib.Params = model_lib.Params(),
          output: Path | None = None, progress: Callable[[str], None] | None = None) -> TrainResult:
    """Evaluate held-out, choose thresholds, fit on everything, write model + card + MODEL_CARD.md."""
    corpus = corpus_lib.load()
    evaluation = ev.evaluate(corpus, params, settings=("grouped-cv", "seed-transfer"),
                             progress=progress)
    cv = evaluation.cv_predictions
    thresholds = ev.choose_thresholds(cv["label"].to_numpy(), cv["p_overclaim"].to_numpy())
    thresholds["nested"] = ev.nested_thresholds(cv["label"].to_numpy(),
                                                cv["p_overclaim"].to_numpy(), cv["doc"].to_numpy())
    if progress:
        progress("category model: document-grouped held-out figures")
    categories_held_out = ev.category_evaluation(corpus)
    if progress:
        progress("fitting the final model on the whole corpus")
    frame = ev.corpus_frame(corpus, params.context_window)
    categories = [corpus_lib.split_categories(c) for c in corpus["categories"]]
    fitted = model_lib.fit(frame, frame["label"], categories, params)
    results = evaluation.to_dict()
    card = {
        "schema": model_lib.CARD_SCHEMA,
        "labels": list(corpus_lib.LABELS),
        "categories": list(corpus_lib.CATEGORIES),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "versions": model_lib.library_versions(),
        "corpus": {"sha256": corpus_lib.corpus_hash(), **corpus_lib.stats(corpus)["total"],
                   "labels": corpus["label"].value_counts().to_dict()},
        "params": params.to_dict(),
        "thresholds": thresholds,
        "metrics": results,
        "gate_metrics": gate_metrics(results),
        "category_evaluation": categories_held_out,
        "intended_use": INTENDED_USE,
        "limitations": LIMITATIONS,
    }
    directory = output or models_dir()
    card_path = model_lib.save(fitted, card, directory, name)
    card = json.loads(card_path.read_text(encoding="utf-8"))
    write_model_card(directory)
    write_predictions(evaluation.predictions, directory / f"{name}{HELD_OUT_SUFFIX}")
    return TrainResult(card_path, card)


#: Held-out predictions of a training run, beside the model (not shipped in the wheel).
HELD_OUT_SUFFIX = ".heldout.csv.gz"


def write_predictions(predictions, path: Path) -> None:
    """Every held-out prediction behind the card's figures, for analysis (notebooks/02)
    without re-running the evaluation; gzip with no timestamp, so equal runs give equal bytes."""
    import gzip

    data = predictions.to_csv(index=True, float_format="%.6g").encode("utf-8")
    atomic.write_bytes(path, gzip.compress(data, mtime=0))


INTENDED_USE = (
    "A reviewer's aid: it points a person at sentences of health-treatment web copy that "
    "claim more than the evidence supports, with the cues behind each flag. It is not a "
    "verdict on a clinic, a treatment or a claim, and not medical or legal advice.")
LIMITATIONS = [
    "Trained on 5 real documents (all about stem cells for back pain) and on documents "
    "written for the project to match the figures of real pages (corpus/DATASHEET.md); "
    "a style-only classifier still tells them apart from real text, so expect lower "
    "accuracy on real pages than the cross-validated figures, which is why seed-transfer "
    "and leave-one-voice-out figures are reported.",
    "English only; sentence-level; it does not check claims against the literature.",
    "It judges how a claim is worded, not whether it is true: an honestly hedged false "
    "claim passes, a confident true claim can be flagged.",
    "Category assignments come from a smaller model trained on the corpus's overclaims "
    "and are less reliable than the overclaim score itself.",
]


def model_card_markdown(card: dict[str, Any]) -> str:
    """The human-readable card, generated from the JSON card (never edited by hand)."""
    t = card["thresholds"]
    lines = [
        f"# Model card: {card['name']}",
        "",
        "Generated by `overclaim train` from the JSON card; do not edit by hand.",
        "",
        "## Intended use",
        card["intended_use"],
        "",
        "Loading the model's files runs code: load only models you trust. `Scorer.load` "
        "refuses a file whose SHA-256 differs from its card, a card edited after training "
        "(`card_sha256`), a card outside its schema, and cue lexicons other than those the "
        "model was trained with.",
        "",
        "## Provenance",
        f"- model files: `{card['file']}` (SHA-256 `{card['sha256']}`), "
        f"`{card['fast_file']}` (SHA-256 `{card['fast_sha256']}`); card SHA-256 "
        f"`{card.get('card_sha256', '')}`",
        f"- corpus SHA-256 `{card['corpus']['sha256']}` ({card['corpus']['units']} units, "
        f"{card['corpus']['documents']} documents; labels {card['corpus']['labels']})",
        f"- code version `{card['code_version']}`, created {card['created']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in card["versions"].items()),
        "- hyper-parameters: " + ", ".join(f"{k}={v}" for k, v in card["params"].items()),
        "",
        "## Thresholds",
        f"- `flag` = {t['flag']}: precision {t['flag_precision']}, recall {t['flag_recall']} "
        "on the grouped-CV predictions it was chosen on (the precision meets its target by "
        "construction)",
        f"- `review` = {t['review']}: recall of overclaims at or above it {t['review_recall']} "
        "on the same predictions",
        f"- why: {t['why']}",
        *_nested_lines(t.get("nested")),
        "",
        "## Held-out metrics (model beside baselines, measured in the same run)",
        "",
        "| setting | estimator | n | overclaim P | R | F1 | ROC-AUC | PR-AUC | Brier | macro F1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for setting, by_name in _settings(card).items():
        for name, m in by_name.items():
            oc, o = m["per_label"]["overclaim"], m["overclaim"]
            lines.append(f"| {setting} | {name} | {m['n']} | {oc['precision']:.3f} | "
                         f"{oc['recall']:.3f} | {oc['f1']:.3f} | {o['roc_auc']:.3f} | "
                         f"{o['pr_auc']:.3f} | {o['brier']:.3f} | {o['macro_f1']:.3f} |")
    pages = card["metrics"].get("seed_transfer_page_scores")
    if pages:
        lines += ["", "Page scores of the five seed documents from the seed-transfer model "
                  "(trained without them):", ""]
        lines += [f"- {score:.3f} `{doc}`" for doc, score in pages.items()]
    lines += ["", "## Per-label results of the model", ""]
    for setting, by_name in _settings(card).items():
        m = by_name["overclaim"]
        lines.append(f"**{setting}**")
        lines.append("")
        lines.append("| label | precision | recall | F1 | support |")
        lines.append("|---|---:|---:|---:|---:|")
        for label, v in m["per_label"].items():
            lines.append(f"| {label} | {v['precision']:.3f} | {v['recall']:.3f} | "
                         f"{v['f1']:.3f} | {v['support']} |")
        lines.append("")
    lines += _category_lines(card.get("category_evaluation"))
    lines += ["## Limitations", ""] + [f"- {item}" for item in card["limitations"]]
    return "\n".join(lines) + "\n"


def write_model_card(directory: Path) -> None:
    """MODEL_CARD.md from the JSON cards in ``directory``: the fast profile, then the
    accurate profile where its card is there (both profiles' quality and costs)."""
    from overclaim.model import artifact

    fast = json.loads(artifact.card_file(directory).read_text(encoding="utf-8"))
    text = model_card_markdown(fast)
    accurate = artifact.card_file(directory, artifact.PROFILES["accurate"])
    if accurate.is_file():
        text += "\n" + accurate_card_markdown(json.loads(accurate.read_text(encoding="utf-8")))
    atomic.write_text(directory / "MODEL_CARD.md", text)


def accurate_card_markdown(card: dict[str, Any]) -> str:
    """The accurate profile's part of MODEL_CARD.md."""
    t, encoder, evaluation = card["thresholds"], card["encoder"], card["evaluation"]
    base = encoder.get("base", {})
    lines = [
        f"# Profile `accurate`: {card['name']}",
        "",
        "The fast profile's linear model and a fine-tuned small encoder "
        f"({base.get('name', 'all-MiniLM-L6-v2')}, weights from the "
        f"`{base.get('package')}=={base.get('version')}` package, sha256 "
        f"`{str(base.get('weights_sha256'))[:16]}...`), exported to int8 ONNX "
        f"({encoder['sizes']['onnx_int8_bytes'] / 1e6:.1f} MB) "
        "and combined by pooling both models' probabilities with fixed equal weights in log "
        "space (their normalised geometric mean): on the voice folds below it beat a "
        "logistic-regression stacker fitted on out-of-fold predictions (the 'fitted stacker' "
        "rows). Scoring needs onnxruntime and tokenizers only. "
        "Categories, cues and word contributions come from the linear model.",
        "",
        f"Encoder training: {json.dumps(encoder.get('params', {}))}; best epoch "
        f"{encoder.get('best_epoch')}; {encoder.get('training_seconds')} s on this machine "
        f"(2 CPU cores).",
        "",
        "## Thresholds",
        "",
        f"- `flag` = {t['flag']}: precision {t['flag_precision']}, recall {t['flag_recall']} "
        "on the predictions it was chosen on",
        f"- `review` = {t['review']}: recall {t['review_recall']} on the same predictions",
        f"- why: {t['why']}",
        *_nested_lines(t.get("nested")),
        "",
        *comparison_lines(evaluation),
    ]
    costs = card.get("costs", {})
    if costs:
        lines += ["", "## Costs (measured in one run on this machine, 2 CPU cores)", "",
                  "| profile | units/s, corpus batch | ms, one short sentence (p50) |",
                  "|---|---:|---:|"]
        for profile, row in costs.items():
            lines.append(f"| {profile} | {row['units_per_second']:.0f} | "
                         f"{row['ms_one_sentence_p50']:.2f} |")
    return "\n".join(lines) + "\n"


def comparison_lines(evaluation: dict[str, Any]) -> list[str]:
    """The accurate card's held-out table: fast, encoder alone, accurate and the baselines on
    the same units (also what ``overclaim evaluate --profile accurate`` prints)."""
    lines = [f"## Held-out comparison ({evaluation['protocol']})", "",
             "| units | model | n | overclaim P | R | F1 | ROC-AUC | PR-AUC | Brier |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for subset, by_name in evaluation["figures"].items():
        for name, m in by_name.items():
            oc, o = m["per_label"]["overclaim"], m["overclaim"]
            lines.append(f"| {subset} | {name} | {m['n']} | {oc['precision']:.3f} | "
                         f"{oc['recall']:.3f} | {oc['f1']:.3f} | {o['roc_auc']:.3f} | "
                         f"{o['pr_auc']:.3f} | {o['brier']:.3f} |")
    return lines


def _nested_lines(nested: dict[str, Any] | None) -> list[str]:
    """The thresholds measured on documents they were not chosen on (the honest figures)."""
    if not nested:
        return []
    return [
        f"- on documents they were not chosen on (nested: {nested['why']}): `flag` precision "
        f"{nested['flag_precision']}, recall {nested['flag_recall']}; `review` recall "
        f"{nested['review_recall']}; the flag thresholds chosen ranged "
        f"{nested['flag_range'][0]}-{nested['flag_range'][1]}, the review thresholds "
        f"{nested['review_range'][0]}-{nested['review_range'][1]}",
    ]


def _category_lines(evaluation: dict[str, Any] | None) -> list[str]:
    """The category model's own held-out table."""
    if not evaluation:
        return []
    lines = ["## Category model (held-out)", "",
             f"{evaluation['why']}: {evaluation['units']} overclaim units in "
             f"{evaluation['documents']} documents, {evaluation['folds']} folds, a category "
             f"assigned at P >= {evaluation['threshold']}; macro F1 {evaluation['macro_f1']}.", "",
             "| category | precision | recall | F1 | ROC-AUC | support |",
             "|---|---:|---:|---:|---:|---:|"]
    for name, row in evaluation["per_category"].items():
        auc = "-" if row["roc_auc"] is None else f"{row['roc_auc']:.3f}"
        lines.append(f"| {name} | {row['precision']:.3f} | {row['recall']:.3f} | "
                     f"{row['f1']:.3f} | {auc} | {row['support']} |")
    return lines + [""]


def _settings(card: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in card["metrics"].items() if k in ev.SETTINGS}


# --- quality gate (overclaim.training.gate holds the logic) ----------------------------


def gate_path() -> Path:
    return gate_lib.gate_path()


def read_gate() -> dict[str, Any]:
    return gate_lib.read_gate(gate_path())


def check_gate(card: dict[str, Any], gate: dict[str, Any] | None = None) -> list[str]:
    """Problems of a freshly trained model: metrics measured in this training run below
    the pinned floors (compared by :func:`gate_lib.compare`, as ``overclaim gate`` does),
    a gated metric not measured, and a corpus other than the one the floors pin (a new
    corpus is pinned on purpose, with ``--pin``)."""
    gate = read_gate() if gate is None else gate
    problems = []
    if gate.get("corpus_sha256") and gate["corpus_sha256"] != card["corpus"]["sha256"]:
        problems.append("the model was trained on another corpus than the one the gate pins")
    for row in gate_lib.compare(card.get("gate_metrics", {}), gate_lib.floors(gate)):
        if row.floor is not None and (row.measured is None or row.ok is False):
            problems.append(f"{row.metric} = {row.measured} is below its floor {row.floor}")
    return problems


def pin_gate(card: dict[str, Any], allow_lower: bool = False) -> dict[str, Any]:
    """Pin floors just under the metrics this training run measured (``train --pin``)."""
    return gate_lib.pin(card["gate_metrics"], card["corpus"]["sha256"], card["name"],
                        allow_lower=allow_lower, path=gate_path())
