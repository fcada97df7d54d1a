"""The shipped corpus meets its promises, and validation catches each kind of problem."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from overclaim.training import corpus
from overclaim.adapters.cli import main
from overclaim.paths import corpus_dir
from overclaim.text.segment import segment
from overclaim.training.realism import AGREEMENT_FILE


@pytest.fixture(scope="module")
def shipped() -> pd.DataFrame:
    return corpus.load()


def test_shipped_corpus_is_valid(shipped):
    report = corpus.validate(shipped)
    assert report.ok, report.problems[:10]


def test_sizes_and_spread(shipped):
    assert len(shipped) >= 8000
    assert (shipped.drop_duplicates("doc")["source"] == "authored").sum() >= 250
    counts = shipped["label"].value_counts()
    assert set(counts.index) == set(corpus.LABELS)
    assert counts.min() >= 400
    treatments = shipped["treatment"].value_counts()
    assert len(treatments) >= 30
    assert treatments.max() <= 0.12 * len(shipped)
    assert set(shipped["voice"]) <= set(corpus.VOICES) and shipped["voice"].ne("").all()


def test_every_seed_unit_is_labeled(shipped):
    seeds = sorted((corpus_dir() / "documents" / "seed").glob("*.txt"))
    assert len(seeds) == 5
    for path in seeds:
        doc = path.relative_to(corpus_dir()).as_posix()
        rows = shipped[shipped["doc"] == doc]
        units = segment(path.read_text(encoding="utf-8"))
        assert {(u.start, u.end) for u in units} == set(zip(rows["start"], rows["end"]))
        assert (rows["source"] == "seed").all()


def test_seed_documents_are_unchanged_copies():
    shared = corpus_dir().parent.parent / "shared" / "seeds"
    if not shared.is_dir():
        pytest.skip("../shared/seeds not beside this checkout")
    for path in shared.glob("*.txt"):
        assert (corpus_dir() / "documents" / "seed" / path.name).read_bytes() == path.read_bytes()


def test_validate_cli_passes(runner):
    result = runner.invoke(main, ["corpus", "validate"])
    assert result.exit_code == 0, result.output
    assert "corpus is valid" in result.output


def test_stats_cli_counts(runner, shipped):
    result = runner.invoke(main, ["corpus", "stats", "--format", "json"])
    assert result.exit_code == 0
    counts = json.loads(result.output)
    assert counts["total"]["units"] == len(shipped)
    assert sum(counts["label"].values()) == len(shipped)


def test_datasheet_counts_are_current(runner):
    """DATASHEET.md embeds `overclaim corpus stats --format md`; stale counts fail."""
    datasheet = (corpus_dir() / "DATASHEET.md").read_text(encoding="utf-8")
    generated = runner.invoke(main, ["corpus", "stats", "--format", "md"]).output.strip()
    assert generated in datasheet


# --- validation catches problems (on a tiny corpus) ---------------------------------


def _rows(root):
    return pd.read_csv(root / "corpus" / "sentences.csv", dtype=str, keep_default_na=False)


def _invalid(root, frame, runner) -> str:
    frame.to_csv(root / "corpus" / "sentences.csv", index=False)
    result = runner.invoke(main, ["corpus", "validate"])
    assert result.exit_code == 1
    return result.output


def test_tiny_corpus_is_valid(tiny_corpus, runner):
    assert runner.invoke(main, ["corpus", "validate"]).exit_code == 0


@pytest.mark.parametrize("change, message", [
    (lambda f: f.assign(label=f["label"].replace("neutral", "promo")), "is not one of"),
    (lambda f: f.assign(start=f["start"].astype(int).where(f.index != 0, 1)), "does not match"),
    (lambda f: f.drop(index=2), "is not labeled"),
    (lambda f: f.assign(categories=f["categories"].where(f.index != 0, "")), "needs at least one"),
    (lambda f: f.assign(categories=f["categories"].where(f.index != 3, "efficacy")), "only overclaims"),
    (lambda f: f.assign(categories=f["categories"].where(f.index != 0, "hype")), "unknown categories"),
    (lambda f: pd.concat([f, f.iloc[[4]]]), "listed twice"),
    (lambda f: f.assign(source="seed"), "source must be"),
    (lambda f: f.assign(voice=""), "voice '' is not one of"),
    (lambda f: f.assign(page_kind="advert"), "page_kind 'advert' is not one of"),
    (lambda f: f.assign(voice=f["voice"].where(f.index != 0, "forum")), "rows disagree on voice"),
])
def test_validate_reports_problem(tiny_corpus, runner, change, message):
    output = _invalid(tiny_corpus, change(_rows(tiny_corpus)), runner)
    assert message in output


def test_conflicting_labels_and_near_duplicates(tiny_corpus, runner):
    docs = tiny_corpus / "corpus" / "documents" / "authored"
    (docs / "c.txt").write_text("A 2020 trial of 60 adults found no benefit over saline!\n"
                                "More research is needed.\n")
    extra = corpus.template([docs / "c.txt"], "prp-joint", tiny_corpus / "corpus",
                            voice="forum", page_kind="mixed")
    extra["label"] = ["supported", "neutral"]
    extra["categories"] = ["", ""]
    output = _invalid(tiny_corpus, pd.concat([_rows(tiny_corpus), extra.astype(str)]), runner)
    assert "near-duplicate" in output
    assert "conflicting labels" in output


def test_missing_corpus_is_a_clean_error(tmp_path, monkeypatch, runner):
    monkeypatch.setenv("OVERCLAIM_HOME", str(tmp_path))
    result = runner.invoke(main, ["corpus", "validate"])
    assert result.exit_code == 1
    assert "no corpus" in result.output
    assert "Traceback" not in result.output


def test_template_then_add(tiny_corpus, runner, tmp_path):
    doc = tiny_corpus / "corpus" / "documents" / "authored" / "d.txt"
    doc.write_text("Ozone Therapy\nOzone is a gas. It is sold as a cure for everything.\n")
    staged = tmp_path / "d.csv"
    result = runner.invoke(main, ["corpus", "template", str(doc), "--treatment", "ozone",
                                  "--voice", "clinic-blog", "--page-kind", "promotional",
                                  "-o", str(staged)])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(staged, dtype=str, keep_default_na=False)
    assert rows["text"].tolist() == ["Ozone Therapy", "Ozone is a gas.",
                                     "It is sold as a cure for everything."]
    # unlabeled rows are refused and the corpus is left as it was
    before = (tiny_corpus / "corpus" / "sentences.csv").read_bytes()
    assert runner.invoke(main, ["corpus", "add", str(staged)]).exit_code == 1
    assert (tiny_corpus / "corpus" / "sentences.csv").read_bytes() == before
    rows["label"] = ["neutral", "neutral", "overclaim"]
    rows["categories"] = ["", "", "efficacy"]
    rows.to_csv(staged, index=False)
    assert runner.invoke(main, ["corpus", "add", str(staged), "--dry-run"]).exit_code == 0
    assert (tiny_corpus / "corpus" / "sentences.csv").read_bytes() == before
    assert runner.invoke(main, ["corpus", "add", str(staged)]).exit_code == 0
    assert len(corpus.load()) == 8
    # the template refuses to overwrite
    again = runner.invoke(main, ["corpus", "template", str(doc), "--treatment", "ozone",
                                 "--voice", "clinic-blog", "--page-kind", "promotional",
                                 "-o", str(staged)])
    assert again.exit_code == 2 and "not overwriting" in again.output


def test_guideline_examples_are_quoted_exactly(shipped):
    """Every example in GUIDELINES.md cites a unit of the corpus and quotes its text."""
    import re

    guidelines = (corpus_dir() / "GUIDELINES.md").read_text(encoding="utf-8")
    cited = r"“([^”]*)”\s*\(" + corpus.GUIDELINE_CITATION.pattern + r"\)"
    quotes = re.findall(cited, guidelines)
    assert len(quotes) >= 40
    units = {(r.doc, r.start, r.end): r.text for r in shipped.itertuples()}
    for quote, doc, start, end in quotes:
        text = units.get((doc, int(start), int(end)))
        assert text is not None, f"{doc}:{start}-{end} is not a unit"
        assert " ".join(text.split()) == " ".join(quote.replace("⏎", " ").split())


def test_template_phrases_shared_by_many_documents_are_refused(tiny_corpus):
    docs = tiny_corpus / "corpus" / "documents" / "authored"
    line = "Our caring team will guide you through every single step of the way.\n"
    frames = [corpus.read_rows(tiny_corpus / "corpus" / "sentences.csv")]
    for i in range(4):
        (docs / f"t{i}.txt").write_text(f"Page {i} is about knees number {i}. {line}")
        extra = corpus.template([docs / f"t{i}.txt"], "prp-joint", tiny_corpus / "corpus",
                                voice="clinic-service", page_kind="promotional")
        extra["label"] = "neutral"
        frames.append(extra)
    frame = pd.concat(frames, ignore_index=True)

    def shared(frame):
        return [p for p in corpus.validate(frame, tiny_corpus / "corpus").problems
                if "documents (at most 3)" in p]

    problems = shared(frame)
    assert len(problems) == 1
    assert "'our caring team will guide you through every' (6 shared" in problems[0]
    assert shared(frame[~frame["doc"].str.endswith("t3.txt")]) == []


def test_second_annotation_log_matches_the_corpus(shipped):
    """Every unit of the adjudication log is a unit of the corpus, quoted exactly, and the
    corpus carries the adjudicated label (a decision logged but not applied would fail),
    unless its document was retired since; at least 600 logged units are still in it."""
    log = pd.read_csv(corpus_dir() / AGREEMENT_FILE, dtype=str, keep_default_na=False)
    units = {(r.doc, int(r.start), int(r.end)): (r.text, r.label) for r in shipped.itertuples()}
    retired = set(pd.read_csv(corpus_dir() / corpus.RETIRED_FILE, dtype=str)["doc"])
    assert len(log) >= 600 and log["id"].is_unique
    assert (~log["doc"].isin(retired)).sum() >= 600
    for row in log[~log["doc"].isin(retired)].itertuples():
        text, label = units[(row.doc, int(row.start), int(row.end))]
        assert (row.text, row.label_adjudicated) == (text, label), row.id


def test_retire_removes_documents_with_a_record(tiny_corpus, runner):
    corpus_root = tiny_corpus / "corpus"
    before = (corpus_root / "sentences.csv").read_bytes()
    dry = runner.invoke(main, ["corpus", "retire", "documents/authored/a.txt", "--reason", "x",
                               "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert (corpus_root / "sentences.csv").read_bytes() == before
    done = runner.invoke(main, ["corpus", "retire", "documents/authored/a.txt",
                                "--reason", "templated"])
    assert done.exit_code == 0, done.output
    assert set(corpus.load()["doc"]) == {"documents/authored/b.txt"}
    assert not (corpus_root / "documents" / "authored" / "a.txt").exists()
    record = pd.read_csv(corpus_root / corpus.RETIRED_FILE, dtype=str)
    assert record.to_dict("records") == [{"doc": "documents/authored/a.txt", "units": "3",
                                          "reason": "templated"}]
    # running it again (as after an interruption) changes nothing and is not an error
    again = runner.invoke(main, ["corpus", "retire", "documents/authored/a.txt",
                                 "--reason", "templated"])
    assert again.exit_code == 0, again.output
    assert len(pd.read_csv(corpus_root / corpus.RETIRED_FILE)) == 1
    assert runner.invoke(main, ["corpus", "validate"]).exit_code == 0


@pytest.mark.parametrize("doc, message", [
    ("documents/seed/000.txt", "seed documents"),
    ("documents/authored/b.txt", "quotes its units"),
    ("documents/authored/nope.txt", "not a document of the corpus"),
])
def test_retire_refuses_what_must_stay(tiny_corpus, runner, doc, message):
    corpus_root = tiny_corpus / "corpus"
    (corpus_root / "GUIDELINES.md").write_text(
        "An example: “More research is needed.” (`documents/authored/b.txt:57-81`)\n",
        encoding="utf-8")
    before = (corpus_root / "sentences.csv").read_bytes()
    result = runner.invoke(main, ["corpus", "retire", doc, "--reason", "test"])
    assert result.exit_code == 1
    assert message in result.output and "nothing retired" in result.output
    assert "Traceback" not in result.output
    assert (corpus_root / "sentences.csv").read_bytes() == before
