"""Model files on disk: the card, the integrity check, and loading for scoring.

A shipped model is three files side by side:

- ``<name>.joblib``: the fitted scikit-learn model (the reference; used to retrain,
  explain and check the fast path);
- ``<name>.fast.pkl``: the same model compiled for scoring (:mod:`overclaim.fastpath`);
- ``<name>.card.json``: how it was made, how well it does, and both files' SHA-256.

Both binary files run code when unpickled: load only models you trust. ``load`` refuses
any file whose SHA-256 differs from its card, which catches a file changed after the card
was written (not a malicious card). Scoring needs neither scikit-learn nor the joblib
file; the reference model is unpickled only when something asks for it.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from overclaim.fastpath import CompiledModel


DEFAULT_NAME = "overclaim-default"


class ModelError(Exception):
    """A model file is missing, does not match its card, or cannot be used."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def card_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name.removesuffix(".joblib") + ".card.json")


def fast_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name.removesuffix(".joblib") + ".fast.pkl")


@dataclass
class ModelBundle:
    """A verified model: its card, the compiled scorer, and (lazily) the reference model."""

    card: dict[str, Any]
    compiled: CompiledModel
    path: Path
    sha256: str
    thresholds: dict[str, float] = field(default_factory=dict)
    _reference: Any = None

    @property
    def name(self) -> str:
        return self.card.get("name", "unnamed")

    @property
    def model(self):
        """The scikit-learn :class:`~overclaim.model.OverclaimModel` (unpickled on first use)."""
        if self._reference is None:
            import joblib

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                self._reference = joblib.load(self.path)
        return self._reference


def read_card(path: Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    card_file = card_path(path)
    if not card_file.is_file():
        raise ModelError(f"no card for {path.name}: expected {card_file.name} beside it")
    try:
        return json.loads(card_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ModelError(f"{card_file.name} is not valid JSON: {error}") from None


def _check(path: Path, expected: str | None) -> str:
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    actual = sha256_file(path)
    if actual != expected:
        raise ModelError(
            f"{path.name} does not match its card (sha256 {actual[:12]}..., card says "
            f"{str(expected)[:12]}...): refusing to load a file that may have been tampered with")
    return actual


def load(path: Path) -> ModelBundle:
    """Check both files against the card, warn on another scikit-learn, load the fast model."""
    path = Path(path)
    card = read_card(path)
    sha = _check(path, card.get("sha256"))
    fast = fast_path(path)
    _check(fast, card.get("fast_sha256"))
    trained_with = card.get("versions", {}).get("scikit-learn")
    try:
        installed = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        installed = None
    if trained_with and installed and trained_with != installed:
        warnings.warn(f"{path.name} was trained with scikit-learn {trained_with}; this is "
                      f"{installed}: predictions may differ", UserWarning, stacklevel=2)
    try:
        compiled = CompiledModel.load(fast)
    except Exception as error:  # an unreadable pickle is reported, not raised raw
        raise ModelError(f"{fast.name} cannot be loaded: {error}") from None
    return ModelBundle(card=card, compiled=compiled, path=path, sha256=sha,
                       thresholds=dict(card.get("thresholds", {})))
