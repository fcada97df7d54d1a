"""The quality gate: re-measure the model held-out and compare with pinned floors.

A gate that compares a card with floors computed from that same card cannot catch a
regression. Here the floors are pinned values in ``models/quality-gate.json``: only
``overclaim train --pin`` writes them, and lowering one needs ``--allow-lower``; nothing
derives them from a card at check time. :func:`check` re-trains the card's estimator with
the card's hyper-parameters on the authored documents and scores the five real seed
documents (the ``seed-transfer`` setting, a few minutes on two cores), then compares
what it measured with the floors. The grouped-CV floors are compared by ``overclaim
train``, which measures them; re-measuring them here would take five more full fits.

This module is the one source of truth for the gated metric names, where each is read
in an evaluation, and how a measurement is compared with a floor: ``check`` and
``overclaim train`` both call :func:`gate_metrics` and :func:`compare`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from overclaim import atomic
from overclaim.model import estimators as model_lib
from overclaim.paths import models_dir

GATE_FILE = "quality-gate.json"
GATE_SCHEMA = 2
#: Metrics the gate knows, as (setting, estimator, path in Metrics.to_dict()).
GATED = {
    "grouped_cv_overclaim_f1": ("grouped-cv", "overclaim", ("overclaim", "f1")),
    "grouped_cv_overclaim_roc_auc": ("grouped-cv", "overclaim", ("overclaim", "roc_auc")),
    "grouped_cv_macro_f1": ("grouped-cv", "overclaim", ("overclaim", "macro_f1")),
    "seed_transfer_overclaim_roc_auc": ("seed-transfer", "overclaim", ("overclaim", "roc_auc")),
    "seed_transfer_overclaim_f1": ("seed-transfer", "overclaim", ("overclaim", "f1")),
}
#: The settings :func:`check` re-measures: cheap enough for every CI run.
RECHECKED_SETTINGS = ("seed-transfer",)
#: How far below the measured value ``train --pin`` pins a floor (library noise only).
FLOOR_MARGIN = 0.01
#: Calibration folds fitted side by side while re-measuring (the figures are the same).
CHECK_JOBS = 2


class GateError(Exception):
    """The gate cannot run (no floors, a malformed gate file) or a floor would be lowered."""


@dataclass(frozen=True)
class Row:
    """One gated metric: what was measured now and the floor pinned for it."""

    metric: str
    measured: float | None
    floor: float | None

    @property
    def ok(self) -> bool | None:
        """True or False when both numbers exist; None when there is nothing to compare."""
        if self.measured is None or self.floor is None:
            return None
        return self.measured >= self.floor

    @property
    def status(self) -> str:
        if self.ok is None:
            return "no floor" if self.floor is None else "not re-measured"
        return "ok" if self.ok else "BELOW FLOOR"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: an undefined measurement (NaN, e.g. one class only) becomes null."""
        measured = None if self.measured is None or math.isnan(self.measured) else self.measured
        return {"metric": self.metric, "measured": measured, "floor": self.floor,
                "ok": self.ok, "status": self.status}


@dataclass
class GateResult:
    """What :func:`check` measured, against which floors, and what it warns about."""

    model: str
    rows: list[Row]
    pinned_corpus: str | None
    current_corpus: str | None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Passed: no measured metric is below its floor."""
        return not any(row.ok is False for row in self.rows)

    @property
    def problems(self) -> list[str]:
        return [f"{r.metric} = {r.measured} is below its floor {r.floor}"
                for r in self.rows if r.ok is False]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "model": self.model, "seconds": round(self.seconds, 1),
                "metrics": [row.to_dict() for row in self.rows],
                "corpus": {"pinned": self.pinned_corpus, "current": self.current_corpus,
                           "changed": self.corpus_changed},
                "problems": self.problems, "warnings": self.warnings}

    @property
    def corpus_changed(self) -> bool:
        return bool(self.pinned_corpus and self.current_corpus
                    and self.pinned_corpus != self.current_corpus)

    def table(self) -> str:
        """The table ``overclaim gate`` prints: metric, measured, floor, ok."""
        width = max(len(row.metric) for row in self.rows)
        lines = [f"{'metric':<{width}}  {'measured':>8}  {'floor':>6}  ok",
                 "-" * (width + 30)]
        for row in self.rows:
            lines.append(f"{row.metric:<{width}}  {_number(row.measured):>8}  "
                         f"{_number(row.floor):>6}  {row.status}")
        verdict = "passed" if self.ok else "FAILED: " + "; ".join(self.problems)
        measured = sum(row.measured is not None for row in self.rows)
        lines.append(f"\nquality gate of {self.model} {verdict} ({measured} metrics re-measured "
                     f"in {self.seconds:.0f} s; grouped-CV floors are checked by "
                     "`overclaim train`)")
        return "\n".join(lines)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


# --- gated metrics and floors ----------------------------------------------------------


def gate_metrics(evaluation: Mapping[str, Any]) -> dict[str, float]:
    """The gated metrics found in an evaluation's ``to_dict()`` (settings it lacks are skipped)."""
    values = {}
    for key, (setting, name, path) in GATED.items():
        if setting in evaluation and name in evaluation[setting]:
            node = evaluation[setting][name]
            for part in path:
                node = node[part]
            values[key] = float(node)
    return values


def compare(measured: Mapping[str, float], floors: Mapping[str, float]) -> list[Row]:
    """A row per gated metric that was measured or has a floor, in :data:`GATED` order."""
    return [Row(key, measured.get(key), floors.get(key))
            for key in GATED if key in measured or key in floors]


def gate_path() -> Path:
    return models_dir() / GATE_FILE


def read_gate(path: Path | None = None) -> dict[str, Any]:
    """The gate file as written by :func:`pin`; ``{"floors": {}}`` when there is none."""
    path = path or gate_path()
    if not path.is_file():
        return {"floors": {}}
    try:
        gate = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise GateError(f"{path}: not valid JSON: {error}") from None
    floors(gate, path.name)
    return gate


def floors(gate: Mapping[str, Any], name: str = GATE_FILE) -> dict[str, float]:
    """The pinned floors, checked: known metric names, numbers in [0, 1]."""
    pinned = gate.get("floors") if isinstance(gate, Mapping) else None
    if not isinstance(pinned, Mapping):
        raise GateError(f"{name}: no 'floors' object")
    unknown = sorted(set(pinned) - set(GATED))
    if unknown:
        raise GateError(f"{name}: unknown gated metrics {', '.join(unknown)} "
                        f"(known: {', '.join(GATED)})")
    for key, value in pinned.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise GateError(f"{name}: the floor of {key} must be a number in [0, 1]")
    return {key: float(value) for key, value in pinned.items()}


def pin(measured: Mapping[str, float], corpus_sha256: str, model: str,
        allow_lower: bool = False, path: Path | None = None) -> dict[str, Any]:
    """Pin floors :data:`FLOOR_MARGIN` under freshly measured metrics (``train --pin``).

    Lowering a floor needs ``allow_lower``: a floor exists to stop a worse model from
    shipping quietly. Floors of metrics not measured this time are kept as they were.
    """
    path = path or gate_path()
    old = floors(read_gate(path), path.name)
    new = {key: round(value - FLOOR_MARGIN, 3) for key, value in measured.items() if key in GATED}
    lowered = [k for k, v in new.items() if k in old and v < old[k]]
    if lowered and not allow_lower:
        raise GateError("pinning would lower the floors of " + ", ".join(lowered)
                        + "; pass --allow-lower to do it on purpose")
    merged = {**old, **new}
    gate = {"schema": GATE_SCHEMA, "corpus_sha256": corpus_sha256, "model": model,
            "floors": {k: merged[k] for k in GATED if k in merged}, "margin": FLOOR_MARGIN,
            "note": ("floors are pinned: only `overclaim train --pin` writes them, and lowering "
                     "one needs --allow-lower; `overclaim gate` re-measures the seed-transfer "
                     "metrics and `overclaim train` all of them, and compares them with these "
                     "floors")}
    atomic.write_text(path, json.dumps(gate, indent=2) + "\n")
    return gate


# --- re-measuring ----------------------------------------------------------------------


def card_params(card: Mapping[str, Any]) -> model_lib.Params:
    """The hyper-parameters recorded in a card, as :class:`Params`."""
    raw = card.get("params")
    if not isinstance(raw, Mapping):
        raise GateError(f"{card.get('name', 'the card')}: no 'params' to re-train with")
    known = {f.name for f in dataclasses.fields(model_lib.Params)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise GateError(f"{card.get('name', 'the card')}: unknown hyper-parameters "
                        f"{', '.join(unknown)}")
    return model_lib.Params(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})


def _gate_estimator(params: model_lib.Params, n_jobs: int):
    estimator = model_lib.build_model(params)
    estimator.set_params(n_jobs=n_jobs)  # calibration folds in parallel; same predictions
    return estimator


def measure(params: model_lib.Params, corpus: pd.DataFrame, n_jobs: int = CHECK_JOBS,
            progress: Callable[[str], None] | None = None) -> dict[str, float]:
    """The gated metrics of :data:`RECHECKED_SETTINGS`, measured now, exactly as
    :func:`overclaim.training.evaluate.evaluate` measures them for the card."""
    from overclaim.training import evaluate as ev

    frame = ev.corpus_frame(corpus, params.context_window)
    is_seed = frame["source"].eq("seed")
    if not is_seed.any() or is_seed.all():
        raise GateError("the corpus needs seed and authored documents to measure seed transfer")
    results: dict[str, Any] = {}
    for setting in RECHECKED_SETTINGS:
        if progress:
            progress(f"{setting}: re-training the model and scoring the held-out units")
        make = functools.partial(_gate_estimator, params, n_jobs)
        proba, index = ev.held_out_proba(make, frame, setting)
        held_out = ev.metrics(frame["label"].to_numpy()[index], proba)
        results[setting] = {"overclaim": held_out.to_dict()}
    return gate_metrics(results)


def _read_card(card: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    from overclaim.model import artifact

    if isinstance(card, Mapping):
        return dict(card)
    path = artifact.resolve(card, "fast") if card is not None else artifact.default_card("fast")
    return artifact.read_card(path)[0]


def check(card: str | Path | Mapping[str, Any] | None = None,
          gate: Mapping[str, Any] | None = None, corpus: pd.DataFrame | None = None,
          corpus_sha256: str | None = None, n_jobs: int = CHECK_JOBS,
          progress: Callable[[str], None] | None = None) -> GateResult:
    """Re-measure the model of ``card`` (default: the shipped one) and compare with the floors.

    Only the card's name and hyper-parameters are read from it, never its metrics. A
    corpus other than the one the floors were pinned on is a warning: the figures are
    still measured on the corpus as it is now.
    """
    from overclaim.training import corpus as corpus_lib

    started = time.monotonic()
    card = _read_card(card)
    gate = read_gate() if gate is None else gate
    pinned = floors(gate)
    if not pinned:
        raise GateError(f"{GATE_FILE} pins no floors; pin them with `overclaim train --pin`")
    if corpus is None:
        corpus, corpus_sha256 = corpus_lib.load(), corpus_lib.corpus_hash()
    measured = measure(card_params(card), corpus, n_jobs, progress)
    result = GateResult(card.get("name", "unnamed"), compare(measured, pinned),
                        gate.get("corpus_sha256"), corpus_sha256)
    result.seconds = time.monotonic() - started
    if result.corpus_changed:
        result.warnings.append(
            f"the corpus changed since the floors were pinned (pinned {result.pinned_corpus[:12]}, "
            f"now {result.current_corpus[:12]}): the figures are measured on the corpus as it "
            "is now; retrain and re-pin with `overclaim train --pin` if the change is intended")
    return result
