"""Where the project's data lives.

One place derives every path, so that the corpus, the models and the package data
are found the same way by the CLI, the library, the tests and the notebooks.
Nothing happens at import time: each path is computed when asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR / "data"


def checkout_root() -> Path | None:
    """The source checkout this package runs from (an editable install), if any."""
    candidate = PACKAGE_DIR.parent.parent
    if (candidate / "pyproject.toml").is_file() and (candidate / "models").is_dir():
        return candidate
    return None


def project_root() -> Path:
    """The checkout holding ``corpus/`` and ``models/`` (for corpus work and training).

    ``OVERCLAIM_HOME`` wins; otherwise the checkout the package runs from; otherwise the
    current directory, so a researcher can work in a checkout with an installed wheel.
    """
    env = os.environ.get("OVERCLAIM_HOME")
    if env:
        return Path(env).resolve()
    return checkout_root() or Path.cwd()


def corpus_dir() -> Path:
    return project_root() / "corpus"


def models_dir() -> Path:
    """Where ``overclaim train`` writes models."""
    return project_root() / "models"


def bundled_models_dir() -> Path | None:
    """The models shipped inside the installed package (``models/`` built into the wheel)."""
    from importlib import resources

    try:
        folder = resources.files("overclaim.bundled")
    except ModuleNotFoundError:  # an editable install maps only src/; the checkout has them
        return None
    return Path(str(folder))
