"""Auditing many sites: a farm of simulated sites on 127.0.0.x (slow pages, dead links,
redirect loops, dead sites, a busy server, a sitemap-only page), a resumable JSON-lines
output that survives a kill, and the per-site summary.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from overclaim.adapters.cli import main
from overclaim.scoring.audit import AuditLog, read_records

from tests.farm import Farm


def _audit_args(urls: Path, out: Path, *extra: str) -> list[str]:
    return ["scan", "--urls", str(urls), "--crawl", "10", "--delay", "0", "--timeout", "1.5",
            "--retries", "1", "--concurrency", "8", "--profile", "fast",
            "--resume", "-o", str(out), "--format", "jsonl", *extra]


def _sources(path: Path) -> list[str]:
    return [record["source"] for record in read_records(path)]


def test_audit_of_a_site_farm_scores_every_live_page_once(runner, tmp_path):
    with Farm(21) as farm:
        urls = tmp_path / "sites.txt"
        urls.write_text("\n".join(farm.start_urls) + "\n")
        out, summary = tmp_path / "audit.jsonl", tmp_path / "sites.csv"
        result = runner.invoke(main, _audit_args(urls, out, "--site-summary", str(summary)))
        dead = {site.url for site in farm.sites if not site.alive}
        busy = [site for site in farm.sites if site.trouble == "busy"]

        assert result.exit_code == 3, result.output  # the dead sites failed as inputs
        sources = _sources(out)
        assert len(sources) == len(set(sources))  # nothing scored twice
        assert set(sources) == farm.expected_pages() | dead
        errors = {r["source"] for r in read_records(out) if r["error"]}
        assert errors == dead
        # the busy server's 503 was retried, and the page scored
        assert all(site.hits["/p1"] == 2 for site in busy)
        # dead links, loops and timeouts found while crawling are warnings, not failures
        for kind in ("HTTP 404", "too many redirects", "timed out"):
            assert kind in result.output
        assert (tmp_path / "audit.jsonl.done").read_text().splitlines() == farm.start_urls

        with open(summary, newline="") as handle:
            rows = {row["site"]: row for row in csv.DictReader(handle)}
        assert len(rows) == len(farm.sites)
        for site in farm.sites:
            row = rows[f"{site.address}:{site.port}"]
            assert int(row["pages"]) == (len(site.pages()) if site.alive else 1)
            assert int(row["failed"]) == (0 if site.alive else 1)
        flagged = [row for row in rows.values() if int(row["flagged_units"]) > 0]
        assert flagged and all(row["worst_passages"] for row in flagged)


def test_a_killed_audit_resumes_without_losing_or_repeating_pages(runner, tmp_path):
    with Farm(7, first_address=60, page_delay=0.15) as farm:
        urls = tmp_path / "sites.txt"
        urls.write_text("\n".join(farm.start_urls) + "\n")
        out = tmp_path / "audit.jsonl"
        command = [sys.executable, "-m", "overclaim.adapters.cli",
                   *_audit_args(urls, out), "--concurrency", "2", "--no-progress"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            _wait_for_lines(out, 6, process)
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        before = _sources(out)
        assert 6 <= len(before) < len(farm.expected_pages())
        journal = tmp_path / "audit.jsonl.done"
        finished_before = set(journal.read_text().splitlines()) if journal.exists() else set()
        with open(out, "a") as handle:  # a record the kill cut short
            handle.write('{"schema": "overclaim.result/1", "source": "http://cut')

        hits_before = {site.url: sum(site.hits.values()) for site in farm.sites}
        result = runner.invoke(main, _audit_args(urls, out))
        assert result.exit_code == 3, result.output
        assert "resuming" in result.output

        after = _sources(out)
        assert after[: len(before)] == before  # what was written stays, in place
        assert Counter(after) == Counter(farm.expected_pages() | {
            site.url for site in farm.sites if not site.alive})
        finished = (tmp_path / "audit.jsonl.done").read_text().splitlines()
        assert sorted(finished) == sorted(farm.start_urls)
        # sites finished before the kill were not fetched again; the others were
        for site in farm.sites:
            fetched_again = sum(site.hits.values()) > hits_before[site.url]
            assert fetched_again == (site.alive and site.url not in finished_before), site.url


def _wait_for_lines(path: Path, lines: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and path.read_bytes().count(b"\n") >= lines:
            return
        if process.poll() is not None:
            pytest.fail(f"the audit ended (exit {process.returncode}) before it could be killed")
        time.sleep(0.05)
    pytest.fail("the audit wrote too little in 60 s")


def test_resume_drops_a_cut_line_and_keeps_whole_records(tmp_path):
    out = tmp_path / "audit.jsonl"
    out.write_text('{"source": "a", "error": null}\n{"source": "b", "err')
    with AuditLog(out) as log:
        assert log.held("a") and not log.held("b")
    assert out.read_text() == '{"source": "a", "error": null}\n'


def test_resume_refuses_a_file_that_is_not_results(runner, tmp_path, scorer):
    out = tmp_path / "notes.jsonl"
    out.write_text("my notes\n")
    page = tmp_path / "page.txt"
    page.write_text("Stem cells cure everything.")
    result = runner.invoke(main, ["scan", str(page), "--profile", "fast", "--resume",
                                  "-o", str(out), "--format", "jsonl"])
    assert result.exit_code == 4
    assert "not an overclaim JSON-lines record" in result.output
    assert out.read_text() == "my notes\n"  # left as it was


@pytest.mark.parametrize("args, message", [
    (["--resume"], "add -o FILE --format jsonl"),
    (["--resume", "-o", "x.jsonl"], "add -o FILE --format jsonl"),
    (["--resume", "-o", "x.jsonl", "--format", "jsonl", "--dedupe-site"], "cannot be resumed"),
    (["--site-summary", "sites.txt"], "--site-summary must end in"),
])
def test_audit_usage_errors(runner, tmp_path, args, message):
    page = tmp_path / "page.txt"
    page.write_text("PRP is made from your own blood.")
    result = runner.invoke(main, ["scan", str(page), *args])
    assert result.exit_code == 2
    assert message in result.output


def test_site_summary_html_escapes_page_text(runner, tmp_path):
    page = tmp_path / "site" / "page.txt"
    page.parent.mkdir()
    # blatant enough that any shipped model flags it, so its passage is in the summary
    page.write_text("<script>alert(1)</script> Our stem cell injections cure arthritis "
                    "permanently and repair every damaged joint without surgery, with "
                    "guaranteed results and no side effects.")
    summary = tmp_path / "sites.html"
    result = runner.invoke(main, ["scan", str(page), "--profile", "fast", "--format", "json",
                                  "--site-summary", str(summary)])
    assert result.exit_code == 0, result.output
    text = summary.read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert json.loads(result.stdout)[0]["source"] in text
