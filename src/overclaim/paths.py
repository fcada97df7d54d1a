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


def project_root() -> Path:
    """The checkout holding ``corpus/`` and ``models/``.

    ``OVERCLAIM_HOME`` wins; otherwise the checkout the package was installed from
    in editable mode (``src/overclaim`` -> two levels up); otherwise the current
    directory, so a user can run the CLI from inside a checkout.
    """
    env = os.environ.get("OVERCLAIM_HOME")
    if env:
        return Path(env).resolve()
    candidate = PACKAGE_DIR.parent.parent
    if (candidate / "corpus").is_dir() and (candidate / "pyproject.toml").is_file():
        return candidate
    return Path.cwd()


def corpus_dir() -> Path:
    return project_root() / "corpus"


def models_dir() -> Path:
    return project_root() / "models"
