"""Model files on disk: the card, the integrity check, finding and loading a model.

A model is named by its card, ``<name>.card.json``, which lists the model's files with
their SHA-256:

- ``<name>.<hash>.joblib``: the fitted scikit-learn model (the reference; used to
  retrain, explain and check the fast path);
- ``<name>.<hash>.fast.pkl``: the same model compiled for scoring
  (:mod:`overclaim.model.compile`).

The files carry their own hash in their names, so saving a new model never touches the
files of the old one: the new files are written first and the card is replaced last,
atomically. A kill at any moment leaves the old model loadable or the new one complete.

What loading trusts, and what it checks. Both binary files run code when unpickled: load
only models you trust. ``load`` reads each file once, checks its bytes against the card,
and unpickles those same bytes. The card carries the SHA-256 of its own canonical JSON
(``card_sha256``) and of the cue lexicons the model was trained with; it is validated
against a schema (thresholds in [0, 1], review <= flag, the known labels and categories,
plain file names). So a file, a card or a lexicon changed after training is refused with a
:class:`ModelError`. These are integrity checks, not signatures: someone who can write the
model folder can also write a matching card.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from overclaim import atomic
from overclaim.errors import ModelError
from overclaim.model.compile import CompiledModel
from overclaim.model.profiles import DEFAULT_NAME, DEFAULT_PROFILE, PROFILES

CARD_SUFFIX = ".card.json"
#: Environment variable naming the model to load when none is given.
MODEL_ENV = "OVERCLAIM_MODEL"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def card_digest(card: dict[str, Any]) -> str:
    """SHA-256 of the card's canonical JSON, without its own ``card_sha256`` field."""
    body = {k: v for k, v in card.items() if k != "card_sha256"}
    return sha256_bytes(json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def lexicon_digest() -> str:
    """SHA-256 over the cue lexicon files (names and bytes): features depend on them.

    The folder's README is prose about the files, not data, so editing it does not refuse
    the shipped models."""
    from overclaim.text.cues import CUES_DIR

    digest = hashlib.sha256()
    for path in sorted(Path(CUES_DIR).iterdir()):
        if path.is_file() and path.name != "README.md":
            digest.update(path.name.encode("utf-8") + b"\0" + path.read_bytes())
    return digest.hexdigest()


def validate_card(card: Any, name: str) -> dict[str, Any]:
    """The card if it is sound; else one :class:`ModelError` saying what is wrong."""
    from overclaim.schema import CATEGORIES, LABELS

    def refuse(problem: str) -> ModelError:
        return ModelError(f"{name}: {problem}; refusing to load it")

    if not isinstance(card, dict):
        raise refuse("is not a model card (not a JSON object)")
    if card.get("profile", "fast") not in PROFILES:
        raise refuse(f"names an unknown profile {card.get('profile')!r}")
    accurate = card.get("profile") == "accurate"
    keys = (("linear_card", "linear_card_sha256", "encoder_file", "encoder_sha256",
             "tokenizer_file", "tokenizer_sha256") if accurate else
            ("file", "fast_file", "sha256", "fast_sha256"))
    for key in keys + ("card_sha256",):
        value = card.get(key)
        if not isinstance(value, str) or not value or "/" in value or "\\" in value \
                or value.startswith("."):
            raise refuse(f"has no valid {key!r}")
    if card["card_sha256"] != card_digest(card):
        raise refuse("was changed after the model was saved (its card_sha256 does not match)")
    thresholds = card.get("thresholds")
    if not isinstance(thresholds, dict) or not all(
            isinstance(thresholds.get(k), (int, float)) and not isinstance(thresholds.get(k), bool)
            and 0 <= thresholds[k] <= 1 for k in ("flag", "review")):
        raise refuse("needs thresholds 'flag' and 'review' between 0 and 1")
    if thresholds["review"] > thresholds["flag"]:
        raise refuse("has a review threshold above its flag threshold")
    if list(card.get("labels", [])) != list(LABELS):
        raise refuse(f"labels must be {list(LABELS)}")
    if not isinstance(card.get("categories"), list) or not set(card["categories"]) <= set(CATEGORIES):
        raise refuse("names unknown categories")
    if accurate:
        _check_stacker(card.get("stacker"), refuse)
        if not isinstance(card.get("max_length"), int) or card["max_length"] < 8:
            raise refuse("needs the encoder's max_length")
    elif card.get("lexicon_sha256") != lexicon_digest():
        raise refuse("was trained with other cue lexicons than the installed ones "
                     "(src/overclaim/data/cues); retrain it")
    return card


def _check_stacker(stacker: Any, refuse) -> None:
    from overclaim.schema import LABELS

    n = len(LABELS)
    try:
        ok = (len(stacker["coef"]) == n and all(len(row) == 2 * n for row in stacker["coef"])
              and len(stacker["intercept"]) == n)
    except (TypeError, KeyError):
        ok = False
    if not ok:
        raise refuse(f"needs a stacker with a {n} x {2 * n} 'coef' and {n} 'intercept' values")


def card_file(directory: Path, name: str = DEFAULT_NAME) -> Path:
    return Path(directory) / f"{name}{CARD_SUFFIX}"


def _profile_name(profile: str) -> str:
    if profile not in PROFILES:
        raise ModelError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[profile]


def resolve(path: str | Path, profile: str = DEFAULT_PROFILE) -> Path:
    """The card of the model at ``path``: a card file, or a folder holding the profile's card."""
    path = Path(path)
    if path.is_dir():
        path = card_file(path, _profile_name(profile))
    if not path.name.endswith(CARD_SUFFIX):
        raise ModelError(f"{path}: give a model's card (a {CARD_SUFFIX} file) or the folder "
                         "holding it")
    return path


def default_card(profile: str = DEFAULT_PROFILE) -> Path:
    """The model used when none is given, and the places looked at, in order.

    1. the card named by the ``OVERCLAIM_MODEL`` environment variable;
    2. ``models/`` of the source checkout this package runs from (an editable install);
    3. the model shipped inside the installed package (``overclaim.bundled``).
    """
    from overclaim.paths import bundled_models_dir, checkout_root

    env = os.environ.get(MODEL_ENV)
    if env:
        return resolve(env, profile)
    name = _profile_name(profile)
    looked: list[Path] = []
    checkout = checkout_root()
    if checkout is not None:
        looked.append(card_file(checkout / "models", name))
    bundled = bundled_models_dir()
    if bundled is not None:
        looked.append(card_file(bundled, name))
    for candidate in looked:
        if candidate.is_file():
            return candidate
    places = ", ".join(str(p) for p in looked) or "no model folder found"
    raise ModelError(f"no model found (looked at: {places}); reinstall overclaim, train one "
                     f"with `overclaim train`, or name one with --model or {MODEL_ENV}")


@dataclass
class ModelBundle:
    """A verified model: its card, the model the scorer calls (``compiled``: a
    :class:`CompiledModel`, or for the accurate profile an ensemble over one), and (lazily)
    the reference scikit-learn model. ``linear`` is the accurate profile's fast bundle."""

    card: dict[str, Any]
    compiled: Any
    path: Path  # the card
    sha256: str  # of the card, which holds every file's hash: the model's identity
    thresholds: dict[str, float] = field(default_factory=dict)
    linear: "ModelBundle | None" = None
    _reference: Any = None

    @property
    def name(self) -> str:
        return self.card.get("name", "unnamed")

    @property
    def profile(self) -> str:
        return self.card.get("profile", "fast")

    @property
    def context_window(self) -> int:
        """Neighbouring units on each side the model was trained with as context."""
        if self.linear is not None:
            return self.linear.context_window
        return int(self.card.get("params", {}).get("context_window", 1))

    @property
    def model(self):
        """The scikit-learn :class:`~overclaim.model.estimators.OverclaimModel` (the linear
        part's, for the accurate profile), read, checked and unpickled on first use."""
        if self.linear is not None:
            return self.linear.model
        if self._reference is None:
            import joblib

            data = _read_checked(self.path.parent / self.card["file"], self.card.get("sha256"))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=UserWarning)
                self._reference = joblib.load(io.BytesIO(data))
        return self._reference


def read_card(path: Path) -> tuple[dict[str, Any], bytes]:
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"model card not found: {path}")
    raw = path.read_bytes()
    try:
        card = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise ModelError(f"{path.name} is not valid JSON: {error}") from None
    return validate_card(card, path.name), raw


def _read_checked(path: Path, expected: str | None) -> bytes:
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    data = path.read_bytes()
    actual = sha256_bytes(data)
    if actual != expected:
        raise ModelError(
            f"{path.name} does not match its card (sha256 {actual[:12]}..., card says "
            f"{str(expected)[:12]}...): refusing to load a file that may have been tampered with")
    return data


def load(path: str | Path | None = None, profile: str = DEFAULT_PROFILE) -> ModelBundle:
    """Check a model's files against its card and load it.

    ``path``: a card, or a folder holding the profile's card; default :func:`default_card`.
    """
    card_path = resolve(path, profile) if path is not None else default_card(profile)
    card, raw = read_card(card_path)
    if card.get("profile") == "accurate":
        return _load_accurate(card_path, card, raw)
    data = _read_checked(card_path.parent / card["fast_file"], card.get("fast_sha256"))
    trained_with = card.get("versions", {}).get("scikit-learn")
    try:
        installed = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        installed = None
    if trained_with and installed and trained_with != installed:
        warnings.warn(f"{card_path.name} was trained with scikit-learn {trained_with}; this is "
                      f"{installed}: predictions may differ", UserWarning, stacklevel=2)
    try:
        compiled = CompiledModel.from_bytes(data)
    except Exception as error:  # an unreadable pickle is reported, not raised raw
        raise ModelError(f"{card['fast_file']} cannot be loaded: {error}") from None
    return ModelBundle(card=card, compiled=compiled, path=card_path, sha256=sha256_bytes(raw),
                       thresholds=dict(card.get("thresholds", {})))


def _load_accurate(card_path: Path, card: dict[str, Any], raw: bytes) -> ModelBundle:
    """The fast bundle it names (checked by its card's hash), the encoder, the stacker."""
    from overclaim.model.encoder import EncoderModel
    from overclaim.model.ensemble import EnsembleModel, Stacker

    linear = load(card_path.parent / card["linear_card"], profile="fast")
    if linear.sha256 != card["linear_card_sha256"]:
        raise ModelError(f"{card_path.name} was trained over another {card['linear_card']} "
                         "than the one installed; retrain the accurate profile")
    onnx = _read_checked(card_path.parent / card["encoder_file"], card["encoder_sha256"])
    tokenizer = _read_checked(card_path.parent / card["tokenizer_file"], card["tokenizer_sha256"])
    try:
        encoder = EncoderModel.from_bytes(onnx, tokenizer, card["max_length"])
    except ModelError:
        raise
    except Exception as error:  # an unreadable graph is reported, not raised raw
        raise ModelError(f"{card['encoder_file']} cannot be loaded: {error}") from None
    ensemble = EnsembleModel(linear.compiled, encoder, Stacker.from_dict(card["stacker"]))
    return ModelBundle(card=card, compiled=ensemble, path=card_path, sha256=sha256_bytes(raw),
                       thresholds=dict(card.get("thresholds", {})), linear=linear)


def save(reference: bytes, compiled: bytes, card: dict[str, Any], directory: Path,
         name: str) -> Path:
    """Write a model's files, then switch to them by replacing its card; returns the card.

    Files are named by their hash, so the old model's files stay untouched until the new
    card is in place; only then are files no card names any more removed.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for key, data, suffix in (("file", reference, ".joblib"), ("fast_file", compiled, ".fast.pkl")):
        digest = sha256_bytes(data)
        target = directory / f"{name}.{digest[:16]}{suffix}"
        if not (target.is_file() and sha256_file(target) == digest):
            atomic.write_bytes(target, data)
        files[key] = target.name
        files["sha256" if key == "file" else "fast_sha256"] = digest
    path = card_file(directory, name)
    card = {**card, "name": name, **files, "lexicon_sha256": lexicon_digest()}
    card["card_sha256"] = card_digest(card)
    atomic.write_text(path, json.dumps(card, indent=2) + "\n")
    _remove_unused(directory, name, {files["file"], files["fast_file"]})
    return path


def save_accurate(encoder: bytes, tokenizer: bytes, card: dict[str, Any], directory: Path,
                  name: str = PROFILES["accurate"], linear_name: str = DEFAULT_NAME) -> Path:
    """Write the accurate profile's encoder files, then its card, naming the fast profile's
    card (already in ``directory``) by file name and hash; returns the card."""
    directory = Path(directory)
    linear_card = card_file(directory, linear_name)
    _, linear_raw = read_card(linear_card)
    files: dict[str, str] = {}
    for key, data, suffix in (("encoder", encoder, ".onnx"), ("tokenizer", tokenizer, ".tokenizer.json")):
        digest = sha256_bytes(data)
        target = directory / f"{name}.{digest[:16]}{suffix}"
        if not (target.is_file() and sha256_file(target) == digest):
            atomic.write_bytes(target, data)
        files[f"{key}_file"], files[f"{key}_sha256"] = target.name, digest
    card = {**card, "name": name, "profile": "accurate", **files,
            "linear_card": linear_card.name, "linear_card_sha256": sha256_bytes(linear_raw)}
    card["card_sha256"] = card_digest(card)
    atomic.write_text(card_file(directory, name), json.dumps(card, indent=2) + "\n")
    _remove_unused(directory, name, {files["encoder_file"], files["tokenizer_file"]})
    return card_file(directory, name)


def _remove_unused(directory: Path, name: str, keep: set[str]) -> None:
    for pattern in (f"{name}.*.joblib", f"{name}.*.fast.pkl", f"{name}.joblib", f"{name}.fast.pkl",
                    f"{name}.*.onnx", f"{name}.*.tokenizer.json"):
        for stale in directory.glob(pattern):
            if stale.name not in keep:
                stale.unlink(missing_ok=True)
