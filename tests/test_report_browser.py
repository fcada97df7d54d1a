"""The HTML report, rendered in headless Chromium and checked for what a reader sees."""

from __future__ import annotations

import pytest

from overclaim.adapters.cli import main

from .conftest import DATA


@pytest.fixture
def report(runner, tmp_path):
    missing = tmp_path / "missing.html"
    out = tmp_path / "report.html"
    result = runner.invoke(main, ["scan", str(DATA / "evidence_page.html"),
                                  str(DATA / "clinic_page.html"), str(missing),
                                  "--format", "html", "-o", str(out)])
    assert result.exit_code == 3  # one input could not be scored
    return out


def test_report_ranks_and_highlights(page, report):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    titles = page.locator("section.page h2").all_inner_texts()
    assert "clinic_page.html" in titles[0] and "evidence_page.html" in titles[1]
    assert "missing.html" in titles[2]
    assert page.locator("section.page").nth(2).locator(".error").is_visible()
    flagged = page.locator("#p0 .u.flagged")
    assert flagged.count() >= 3
    assert flagged.first.is_visible()
    texts = flagged.all_inner_texts()
    assert any("repair worn cartilage" in t for t in texts)
    # the reason is beside the highlight and in its tooltip
    assert "P(overclaim)" in flagged.first.get_attribute("title")
    assert page.locator("#p0 .why").first.is_visible()
    # the cautious page has nothing flagged
    assert page.locator("#p1 .u.flagged").count() == 0
    # the summary chart is drawn
    assert page.locator("svg rect").count() == 2
    assert all(url.startswith("file:") for url in requests)


def test_category_filter_hides_highlights(page, report):
    page.goto(report.as_uri())
    before = page.locator("#p0 .u.flagged").count()
    for box in page.locator(".filters input").all():
        box.uncheck()
    assert page.locator("#p0 .u.flagged").count() == 0
    assert not page.locator("#p0 .why").first.is_visible()
    page.locator(".filters input").first.check()
    page.locator(".filters input[value=safety]").check()
    after = page.locator("#p0 .u.flagged").count()
    assert 0 < after <= before


def test_screenshot_renders(page, report, tmp_path):
    page.goto(report.as_uri())
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


PAYLOADS = ('<script>window.__pwned = 1</script>', '<img src=x onerror="window.__pwned=1">',
            '"><svg onload="window.__pwned=1">', "javascript:window.__pwned=1",
            '<a href="https://evil.example/">click</a>')


def test_payloads_in_text_and_source_stay_inert(page, runner, tmp_path):
    """Markup in the page text and in the source name is shown as text: nothing runs and
    nothing is fetched."""
    folder = tmp_path / PAYLOADS[1].replace("/", "_")
    folder.mkdir()
    source = folder / "page.txt"
    source.write_text("\n\n".join(f"Stem cells heal every knee for good {p} guaranteed."
                                  for p in PAYLOADS))
    out = tmp_path / "report.html"
    result = runner.invoke(main, ["scan", str(source), "--format", "html", "-o", str(out),
                                  "--threshold", "0"])
    assert result.exit_code == 0, result.output
    requests, dialogs = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(out.as_uri())
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("img, svg[onload], a[href^='https:']").count() == 0
    body = page.locator("body").inner_text()
    assert "<script>window.__pwned = 1</script>" in body and "onerror" in body
    assert not dialogs and all(url.startswith("file:") for url in requests)
