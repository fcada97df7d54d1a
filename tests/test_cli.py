"""The CLI end to end, in-process: scan formats, batches with bad inputs, exit codes, help."""

from __future__ import annotations

import csv
import io
import json

import click
import pytest

from overclaim.adapters.cli import main
from overclaim.paths import corpus_dir

from .conftest import DATA

SEEDS = corpus_dir() / "documents" / "seed"
PROMOTIONAL = {"002_4e2bdc03b0360f43.txt", "003_7664d97cd8ba6f1f.txt", "004_97bba7b982a2d487.txt"}
CLINICAL = {"000_d439fb6656c754a9.txt", "001_f209a26381bc3f52.txt"}


def _jsonl(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_seed_ranking(runner):
    """The three promotional or mixed articles rank above the two clinical summaries."""
    result = runner.invoke(main, ["scan", str(SEEDS), "--format", "jsonl", "--no-progress"])
    assert result.exit_code == 0, result.output
    records = _jsonl(result.stdout)
    ranked = sorted(records, key=lambda r: -r["score"])
    names = [r["source"].rsplit("/", 1)[-1] for r in ranked]
    assert set(names[:3]) == PROMOTIONAL and set(names[3:]) == CLINICAL


def test_jsonl_record_shape(runner):
    result = runner.invoke(main, ["scan", str(DATA / "clinic_page.html"), "--format", "jsonl"])
    record = _jsonl(result.stdout)[0]
    for key in ("source", "score", "flagged", "passages", "sentences", "error", "model",
                "categories", "category_scores", "spans", "input_sha256", "options", "scored_at"):
        assert key in record
    assert record["error"] is None and record["flagged"] is True
    assert {"name", "version", "sha256"} <= set(record["model"])


def test_table_summary(runner):
    result = runner.invoke(main, ["scan", str(DATA / "clinic_page.html"),
                                  str(DATA / "evidence_page.html")])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "clinic_page.html" in lines[1] and "evidence_page.html" in lines[2]
    assert "flagged units by category" in result.stdout
    assert "top flagged passages" in result.stdout


@pytest.mark.parametrize("fmt", ["json", "csv", "md", "html"])
def test_other_formats(runner, fmt):
    result = runner.invoke(main, ["scan", str(DATA / "clinic_page.html"), "--format", fmt])
    assert result.exit_code == 0
    if fmt == "json":
        assert json.loads(result.stdout)[0]["flagged"] is True
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert any(r["status"] == "flagged" for r in rows)
    elif fmt == "md":
        assert result.stdout.startswith("# overclaim scan")
    else:
        assert "<!DOCTYPE html>" in result.stdout and "http" not in result.stdout.split("<body>")[0]


def test_mixed_batch_finishes(runner, tmp_path):
    good = tmp_path / "good.txt"
    good.write_text("Our ozone injections heal arthritis for good. Book today.")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    binary = tmp_path / "binary.html"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    undecodable = tmp_path / "odd.txt"
    undecodable.write_bytes(bytes(range(128, 256)) * 4)
    huge = tmp_path / "huge.txt"
    huge.write_text("stem cells " * 2000)
    inputs = [good, empty, binary, undecodable, huge, tmp_path / "missing.txt"]
    before = {p: p.read_bytes() for p in inputs if p.exists()}
    result = runner.invoke(main, ["scan", *map(str, inputs), "--format", "jsonl",
                                  "--max-bytes", "10000"])
    assert result.exit_code == 3
    records = {r["source"]: r for r in _jsonl(result.stdout)}
    assert records[str(good)]["error"] is None and records[str(good)]["score"] > 0
    for bad in inputs[1:]:
        assert records[str(bad)]["error"], bad
        assert str(bad) in result.stderr
    assert "Traceback" not in result.output
    assert {p: p.read_bytes() for p in before} == before


def test_stdin(runner):
    result = runner.invoke(main, ["scan", "-", "--format", "jsonl"],
                           input="Exosomes cure long COVID in days.")
    record = _jsonl(result.stdout)[0]
    assert record["source"] == "<stdin>" and record["error"] is None
    assert [s["text"] for s in record["sentences"]] == ["Exosomes cure long COVID in days."]


def test_output_file_and_refusal_to_overwrite_input(runner, tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("PRP regrows hair in every patient.")
    out = tmp_path / "report.html"
    result = runner.invoke(main, ["scan", str(page), "--format", "html", "-o", str(out)])
    assert result.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    refused = runner.invoke(main, ["scan", str(page), "-o", str(page)])
    assert refused.exit_code == 2 and "refusing to write the report there" in refused.output
    assert page.read_text() == "PRP regrows hair in every patient."


def _refused_and_unchanged(result, path, content):
    assert result.exit_code == 2, result.output
    assert "refusing to write the report there" in result.output
    assert path.read_text() == content


def test_output_never_overwrites_what_was_given(runner, tmp_path):
    folder = tmp_path / "pages"
    folder.mkdir()
    page, other = folder / "a.txt", folder / "b.txt"
    page.write_text("PRP regrows hair in every patient.")
    other.write_text("Stem cells repair discs.")
    _refused_and_unchanged(runner.invoke(main, ["scan", str(folder), "-o", str(other)]),
                           other, "Stem cells repair discs.")
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{page}\n")
    _refused_and_unchanged(runner.invoke(main, ["scan", "--urls", str(urls), "-o", str(urls)]),
                           urls, f"{page}\n")
    hard = tmp_path / "hard.txt"
    hard.hardlink_to(page)
    _refused_and_unchanged(runner.invoke(main, ["scan", str(page), "-o", str(hard)]),
                           page, "PRP regrows hair in every patient.")
    result = runner.invoke(main, ["scan", "-", "-o", str(page)], input=page.read_bytes())
    _refused_and_unchanged(result, page, "PRP regrows hair in every patient.")


def test_write_failure_is_one_line_and_exit_4(runner, tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("PRP regrows hair in every patient.")
    result = runner.invoke(main, ["scan", str(page), "-o", str(tmp_path / "no" / "r.txt")])
    assert result.exit_code == 4 and "cannot write" in result.output
    assert "Traceback" not in result.output


def test_unreadable_inputs_are_reported_and_the_rest_scored(runner, tmp_path, monkeypatch):
    import os
    from pathlib import Path

    for i in range(3):
        (tmp_path / f"ok{i}.txt").write_text("Stem cells repair discs for good.")
    locked = tmp_path / "locked.txt"
    locked.write_text("x")
    (tmp_path / "dead.txt").symlink_to(tmp_path / "nowhere.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    real_read = Path.read_bytes

    def read_bytes(self):  # root reads anything: refuse as chmod 000 would for a user
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = runner.invoke(main, ["scan", str(tmp_path), "--format", "jsonl"])
    assert result.exit_code == 3
    records = {json.loads(line)["source"]: json.loads(line) for line in result.stdout.splitlines()}
    errors = {Path(k).name: v["error"] for k, v in records.items() if v["error"]}
    assert errors == {"locked.txt": f"cannot read {locked}: Permission denied",
                      "dead.txt": "broken link", "pipe.txt": "not a regular file"}
    assert sum(1 for v in records.values() if v["score"] is not None) == 3
    assert "Traceback" not in result.output


def test_unreadable_subfolder_is_reported(tmp_path, monkeypatch):
    from overclaim.inputs.sources import iter_files

    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("x")
    import os

    real_scandir = os.scandir

    def scandir(path="."):
        if str(path).endswith("sub"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = {p.name: reason for p, reason in iter_files(tmp_path)}
    assert found == {"a.txt": None, "sub": "cannot read folder: Permission denied"}


def test_fail_above(runner):
    args = ["scan", str(DATA / "clinic_page.html"), "--fail-above"]
    assert runner.invoke(main, args + ["0.2"]).exit_code == 1
    assert runner.invoke(main, args + ["0.99"]).exit_code == 0


def test_threshold_changes_flags(runner):
    page = str(DATA / "clinic_page.html")
    strict = _jsonl(runner.invoke(main, ["scan", page, "--format", "jsonl", "--threshold", "0.99"]).stdout)
    loose = _jsonl(runner.invoke(main, ["scan", page, "--format", "jsonl", "--threshold", "0.05"]).stdout)
    assert len(strict[0]["spans"]) < len(loose[0]["spans"])


@pytest.mark.parametrize("args", [["scan"], ["scan", "x", "--format", "pdf"],
                                  ["scan", "x", "--threshold", "2"], ["nonsense"],
                                  ["scan", "x", "--category-threshold", "hype=0.2"],
                                  ["scan", "x", "--category-threshold", "safety=high"]])
def test_usage_errors_exit_2(runner, args):
    result = runner.invoke(main, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_tampered_model_is_a_clean_error(runner, tmp_path):
    from .conftest import copy_model

    path = copy_model(tmp_path)
    fast = path.parent / json.loads(path.read_text())["fast_file"]
    fast.write_bytes(fast.read_bytes() + b"x")
    result = runner.invoke(main, ["scan", str(DATA / "clinic_page.html"), "--model", str(path)])
    assert result.exit_code == 4 and "does not match its card" in result.output


def test_missing_model_exits_4_saying_where_it_looked(runner, tmp_path):
    result = runner.invoke(main, ["scan", str(DATA / "clinic_page.html"), "--model",
                                  str(tmp_path / "none.card.json")])
    assert result.exit_code == 4 and "none.card.json" in result.output


def test_help_lists_exit_codes(runner):
    from overclaim.adapters.cli import EXIT_CODES

    flat = " ".join(runner.invoke(main, ["--help"]).output.split())
    for code, meaning in EXIT_CODES.items():
        assert f"{code} {meaning}" in flat


def test_pages_score_alone_unless_dedupe_site_is_asked(runner, tmp_path):
    """By default a page's result never depends on its neighbours in the batch; with
    --dedupe-site text repeated across a site's pages counts once, on its first page, and
    every page-level field is rebuilt from the units that still count."""
    banner = ("Our stem cell injections heal damaged joints and end arthritis pain for good, "
              "without surgery.")
    for i in range(3):
        (tmp_path / f"p{i}.txt").write_text(f"{banner}\nOur clinic is on Main Street, door {i}.\n")
    alone = _jsonl(runner.invoke(main, ["scan", str(tmp_path / "p1.txt"), "--format", "jsonl"]).stdout)
    plain = _jsonl(runner.invoke(main, ["scan", str(tmp_path), "--format", "jsonl"]).stdout)
    assert [s["repeated"] for r in plain for s in r["sentences"]] == [False] * 6
    assert plain[1]["score"] == alone[0]["score"]
    deduped = _jsonl(runner.invoke(main, ["scan", str(tmp_path), "--dedupe-site",
                                          "--format", "jsonl"]).stdout)
    repeated = [s["repeated"] for r in deduped for s in r["sentences"] if s["text"] == banner]
    assert repeated == [False, True, True]
    first, later = deduped[0], deduped[1]
    assert later["score"] < first["score"] == plain[0]["score"]
    assert later["passages"] == [] and first["passages"]
    assert all(later["category_scores"][c] <= first["category_scores"][c]
               for c in first["category_scores"])
    assert [s["repeated"] for s in later["spans"]] == [True] * len(later["spans"])


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from _commands(command, prefix + (name,))


def test_every_command_has_help_and_is_in_readme():
    readme = (corpus_dir().parent / "README.md").read_text(encoding="utf-8")
    for path, command in _commands(main):
        assert command.help, f"{' '.join(path)} has no help text"
        assert f"overclaim {' '.join(path)}" in readme, f"README does not mention {' '.join(path)}"


def test_evaluation_settings_match_the_library():
    from overclaim.training import evaluate
    from overclaim.adapters.cli import EVALUATION_SETTINGS

    assert EVALUATION_SETTINGS == evaluate.SETTINGS


def test_csv_and_markdown_outputs_are_inert(runner, tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("=HYPERLINK(\"http://x\") cures knees for good.\n\n"
                    "-2+3 sessions repair every disc, guaranteed.\n\n"
                    "@SUM(A1) <script>alert(1)</script> stem cells regrow cartilage in weeks.\n")
    rows = list(csv.reader(io.StringIO(
        runner.invoke(main, ["scan", str(page), "--format", "csv"]).stdout)))
    assert len(rows) > 3
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]
    markdown = runner.invoke(main, ["scan", str(page), "--format", "md", "--threshold", "0"]).stdout
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown


def test_scan_profile_is_recorded(runner, tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("Stem cells cure autism. The clinic opens at nine.\n")
    for profile in ("fast", "accurate"):
        result = runner.invoke(main, ["scan", str(page), "--profile", profile, "--format", "json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)[0]["model"]["profile"] == profile
    refused = runner.invoke(main, ["scan", str(page), "--profile", "medium"])
    assert refused.exit_code == 2
