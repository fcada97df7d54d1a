"""One options schema: library, CLI and service accept the same options, validate them
alike, and give the same results; categories filter, never relabel."""

from __future__ import annotations

import json

import pytest

from overclaim import OptionError, Scorer, ScoringOptions
from overclaim.adapters.cli import main
from overclaim.schema import CATEGORIES

PAGE = ("Our stem cell therapy is completely safe and has no side effects. "
        "It regenerates damaged cartilage in weeks, with a 95% success rate. "
        "Stem cells are cells that can become other kinds of cells. "
        "A 2019 trial found no benefit over placebo.")

CHOSEN = ScoringOptions(flag_threshold=0.3, review_threshold=0.1, categories=("safety", "efficacy"),
                        category_thresholds={"statistic": 0.2}, contributions=2, detail="compact",
                        max_bytes=100_000)
CLI_ARGS = ["--threshold", "0.3", "--review-threshold", "0.1", "--category", "safety",
            "--category", "efficacy", "--category-threshold", "statistic=0.2",
            "--contributions", "2", "--detail", "compact", "--max-bytes", "100000"]


def test_every_option_is_a_cli_flag_and_a_service_field():
    from overclaim.adapters.cli import scan_command

    service = pytest.importorskip("overclaim.adapters.service")
    names = set(ScoringOptions.specs())
    assert names <= {p.name for p in scan_command.params}
    assert names == set(service.Options.model_fields)


def test_three_surfaces_give_the_same_result(scorer, runner, tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from overclaim.adapters import service

    page = tmp_path / "page.txt"
    page.write_text(PAGE)
    result = runner.invoke(main, ["scan", str(page), "--format", "jsonl", *CLI_ARGS])
    assert result.exit_code == 0, result.output
    from_cli = json.loads(result.stdout)
    from_library = Scorer(scorer.bundle, CHOSEN).score(PAGE).to_dict()
    body = {"text": PAGE, "options": CHOSEN.to_dict()}
    from_service = TestClient(service.create_app(scorer)).post("/v1/score", json=body).json()
    assert from_cli["options"] == from_library["options"] == from_service["options"] \
        == CHOSEN.to_dict()
    for key in ("score", "flagged", "spans", "categories", "category_scores", "passages"):
        assert from_cli[key] == from_library[key] == from_service[key], key
    assert "sentences" not in from_library  # compact


@pytest.mark.parametrize("bad, cli", [
    ({"flag_threshold": 1.5}, ["--threshold", "1.5"]),
    ({"categories": ("safty",)}, ["--category", "safty"]),
    ({"category_thresholds": {"safety": 2.0}}, ["--category-threshold", "safety=2"]),
    ({"category_thresholds": {"safty": 0.2}}, ["--category-threshold", "safty=0.2"]),
    ({"contributions": -1}, ["--contributions", "-1"]),
    ({"detail": "short"}, ["--detail", "short"]),
    ({"max_bytes": 0}, ["--max-bytes", "0"]),
])
def test_bad_options_are_refused_everywhere(bad, cli, scorer, runner, tmp_path):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from overclaim.adapters import service

    with pytest.raises(OptionError):
        ScoringOptions(**bad)
    with pytest.raises(OptionError):
        scorer.with_options(**bad)
    page = tmp_path / "page.txt"
    page.write_text(PAGE)
    result = runner.invoke(main, ["scan", str(page), *cli])
    assert result.exit_code == 2 and "Traceback" not in result.output
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in bad.items()}
    response = TestClient(service.create_app(scorer)).post(
        "/v1/score", json={"text": PAGE, "options": plain})
    assert response.status_code == 422


def test_category_filter_never_relabels(scorer):
    """With categories=("safety",) a unit is flagged only for safety, never tagged with a
    category it does not show; review units and clear units carry no categories."""
    every = scorer.score(PAGE)
    only_safety = scorer.with_options(categories=("safety",)).score(PAGE)
    for full, filtered in zip(every.sentences, only_safety.sentences):
        if filtered.flagged:
            assert filtered.categories == ["safety"]
            assert "safety" in full.categories
        else:
            assert filtered.categories == []
        if full.status != "flagged":
            assert full.categories == []
        assert set(filtered.category_scores) == {"safety"}
        assert filtered.category_scores["safety"] == full.category_scores["safety"]
    assert set(only_safety.categories) == {"safety"}
    unsafe = [s for s in every.sentences if s.flagged and "safety" not in s.categories]
    assert unsafe, "the page should have a flagged unit that is not about safety"
    assert all(not only_safety.sentences[every.sentences.index(s)].flagged for s in unsafe)


def test_every_category_can_be_chosen():
    assert ScoringOptions(categories=CATEGORIES).categories == CATEGORIES
