"""Shared fixtures: the shipped scorer, a tiny corpus in a temporary folder, a CLI runner."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from overclaim.training import corpus

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def scorer():
    from overclaim import Scorer

    return Scorer.load()


@pytest.fixture(scope="session")
def fast_scorer():
    from overclaim import Scorer

    return Scorer.load(profile="fast")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def tiny_corpus(tmp_path, monkeypatch) -> Path:
    """A corpus folder with two documents, fully labeled, set as the project home."""
    root = tmp_path / "home"
    docs = root / "corpus" / "documents" / "authored"
    docs.mkdir(parents=True)
    (root / "models").mkdir()
    (docs / "a.txt").write_text("Why PRP Works\nPRP repairs knees for good. Call us today.\n",
                                encoding="utf-8")
    (docs / "b.txt").write_text("A 2020 trial of 60 adults found no benefit over saline.\n"
                                "More research is needed.\n", encoding="utf-8")
    monkeypatch.setenv("OVERCLAIM_HOME", str(root))
    frame = corpus.template(sorted(docs.glob("*.txt")), "prp-joint", root / "corpus",
                            voice="clinic-service", page_kind="promotional")
    frame["label"] = ["overclaim", "overclaim", "neutral", "supported", "hedged"]
    frame["categories"] = ["efficacy", "efficacy", "", "", ""]
    frame.to_csv(root / "corpus" / "sentences.csv", index=False)
    return root


def copy_model(tmp_path: Path) -> Path:
    """A copy of the shipped model (card and files), safe to tamper with; returns the card."""
    from overclaim.model import artifact

    source = artifact.default_card(profile="fast")
    card = json.loads(source.read_text(encoding="utf-8"))
    target = tmp_path / "models"
    target.mkdir()
    for name in (source.name, card["file"], card["fast_file"]):
        shutil.copy(source.parent / name, target / name)
    return target / source.name


def copy_accurate_model(tmp_path: Path) -> Path:
    """A copy of the shipped accurate profile (its card, files, and the fast model it
    names); returns its card."""
    from overclaim.model import artifact

    fast = copy_model(tmp_path)
    source = artifact.default_card(profile="accurate")
    card = json.loads(source.read_text(encoding="utf-8"))
    for name in (source.name, card["encoder_file"], card["tokenizer_file"]):
        shutil.copy(source.parent / name, fast.parent / name)
    return fast.parent / source.name


@contextlib.contextmanager
def serve_in_thread(app, **config):
    """Serve an ASGI app with uvicorn in a thread on a free loopback port; yield the port."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="critical", **config))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def read_corpus() -> pd.DataFrame:
    return corpus.load()


# Browser fixtures live in tests/browser.py; registered here once for every module.
from .browser import browser, page  # noqa: E402,F401
