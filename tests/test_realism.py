"""The realism measure: style masking, separability, and the figures beside REALISM.md."""

from __future__ import annotations

import json
import random

import pandas as pd

from overclaim.training import realism
from overclaim.adapters.cli import main


def test_mask_keeps_style_and_hides_topic_words():
    masked = realism.mask("Stem cells may rebuild YOUR discs (in 3 weeks)!")
    assert masked.split() == ["Xx1", "x1", "may", "x1", "your", "x1", "(", "in", "D", "x1", ")",
                              "!", "LEN3"]
    assert "stem" not in masked.lower() and "discs" not in masked


def _frame(authored: list[str], real: list[str]) -> pd.DataFrame:
    rows = [{"doc": f"a{i % 10}", "text": t, "source": "authored", "label": "neutral",
             "kind": "sentence", "page_kind": "promotional"} for i, t in enumerate(authored)]
    rows += [{"doc": f"r{i % 10}", "text": t, "source": "seed", "label": "neutral",
              "kind": "sentence", "page_kind": "promotional"} for i, t in enumerate(real)]
    return pd.DataFrame(rows)


def _sentences(rng: random.Random, pattern: str, n: int) -> list[str]:
    words = ["cells", "knee", "plasma", "clinic", "tissue", "growth", "doctor", "session"]
    return [pattern.format(*(rng.choice(words) for _ in range(3))) for _ in range(n)]


def test_style_separability_tells_styles_apart_and_not_topics():
    rng = random.Random(0)
    different = _frame(_sentences(rng, "The {} and the {} are in the {}.", 200),
                       _sentences(rng, "{}? {}!!! ({})", 200))
    same = _frame(_sentences(rng, "The {} and the {} are in the {}.", 200),
                  _sentences(rng, "The {} and the {} are in the {}.", 200))
    assert realism.measure(different).auc > 0.95
    assert 0.3 < realism.measure(same).auc < 0.7


def test_realism_cli_reports_auc_and_reference_figures(runner, tiny_corpus, tmp_path):
    pages = tmp_path / "real"
    pages.mkdir()
    for i in range(3):
        (pages / f"p{i}.html").write_text(
            f"<html><body><p>Platelet injections number {i} are offered here. The clinic opens "
            "at nine and closes at five on weekdays.</p></body></html>")
    result = runner.invoke(main, ["corpus", "realism", "--reference", str(pages), "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["units"]["real"] == 6 and figures["documents"]["real"] == 3
    assert figures["reference"]["shape"]["median words, overclaim"] == 20
    assert set(figures["shape"]) == set(realism.REFERENCE["shape"])
