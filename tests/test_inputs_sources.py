"""Which inputs a scan covers: URL lists, scheme-less arguments, folders, module layout."""

from __future__ import annotations

import subprocess
import sys

import pytest

from overclaim.inputs import sources
from overclaim.inputs.sources import plan, url_entry


@pytest.mark.parametrize("line, expected", [
    ("", None),
    ("   \t ", None),
    ("# a comment", None),
    ("   # an indented comment", None),
    ("https://a.example/x", "https://a.example/x"),
    ("  https://a.example/x  ", "https://a.example/x"),
    ("https://a.example/x   # note", "https://a.example/x"),
    ("https://a.example/x\t# note # more", "https://a.example/x"),
    ("https://a.example/x#section", "https://a.example/x#section"),
    ("https://a.example/x#section  # note", "https://a.example/x#section"),
    ("clinic.example/stem-cells", "https://clinic.example/stem-cells"),
    ("www.clinic.example", "https://www.clinic.example"),
    ("www.clinic.example  # the home page", "https://www.clinic.example"),
    ("//cdn.example/page", "https://cdn.example/page"),
    ("http://plain.example/", "http://plain.example/"),
])
def test_url_list_lines(line, expected):
    assert url_entry(line) == expected


def test_url_list_file_skips_blanks_and_comments_and_refuses_other_schemes(tmp_path):
    urls = tmp_path / "urls.txt"
    urls.write_text("# clinics to check\n\nhttps://a.example/x   # note\n"
                    "clinic.example/stem-cells\n   \nftp://files.example/page\n", encoding="utf-8")
    assert plan([], urls) == ["https://a.example/x", "https://clinic.example/stem-cells",
                              ("ftp://files.example/page", "not an http(s) URL")]


def test_unreadable_url_list_is_an_error_record(tmp_path):
    [(source, error)] = plan([], tmp_path / "missing.txt")
    assert source == str(tmp_path / "missing.txt") and error.startswith("cannot read URL list")


@pytest.mark.parametrize("value", [
    "clinic.example", "www.clinic.example", "clinic.example/stem-cells",
    "clinic.example:8443/page?x=1", "sub.clinic.co.uk/a/b.html", "xn--bcher-kva.example",
])
def test_host_like_arguments(value):
    assert sources.looks_like_host(value)


@pytest.mark.parametrize("value", [
    "missing.txt", "notes.md", "page.html", "report.pdf", "folder/page.html", "./x.example",
    "localhost", "no dot", "clinic .example", "clinic.example x", "-bad.example", "a..example",
    "clinic.123", "clinic.c", "/abs/clinic.example", "clinic.example:port", "C:\\x.example", "",
])
def test_not_host_like_arguments(value):
    assert not sources.looks_like_host(value)


def test_scheme_less_argument_becomes_https_only_when_no_such_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "www.clinic.example").write_text("A file that happens to look like a host.")
    assert plan(["clinic.example/stem-cells", "www.clinic.example", "missing.txt", "nope"]) == [
        "https://clinic.example/stem-cells", "www.clinic.example", "missing.txt", "nope"]


def test_page_suffixes_are_one_list(tmp_path):
    for suffix in sorted(sources.PAGE_SUFFIXES):
        (tmp_path / f"page{suffix}").write_text("x")
    (tmp_path / "page.pdf").write_text("x")
    found = {p.suffix for p, _ in sources.iter_files(tmp_path)}
    assert found == sources.PAGE_SUFFIXES == sources.TEXT_SUFFIXES | sources.HTML_SUFFIXES
    empty = tmp_path / "empty"
    empty.mkdir()
    [(_, message)] = plan([str(empty)])
    assert all(suffix in message for suffix in sources.PAGE_SUFFIXES)


def test_html_main_text_is_extracted_and_text_files_are_left_alone(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html><head><script>var tracking = 1;</script></head><body><nav>Home | "
                    "About</nav><main><h1>Knee Repair</h1><p>Our stem cell injections rebuild "
                    "cartilage for good.</p></main></body></html>")
    text = sources.html_main_text(page)
    assert "rebuild cartilage" in text and "<" not in text and "tracking" not in text
    note = tmp_path / "note.txt"
    note.write_text("<p>literal markup in a text file</p>")
    assert sources.html_main_text(note) is None


def test_imports_run_one_way():
    """decode is the bottom of the stage: importing it loads neither fetch nor sources."""
    code = ("import sys, overclaim.inputs.decode; "
            "print(sorted(m for m in sys.modules if m.startswith('overclaim.inputs.')))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert "overclaim.inputs.fetch" not in loaded and "overclaim.inputs.sources" not in loaded
    assert "overclaim.inputs.html" in loaded
