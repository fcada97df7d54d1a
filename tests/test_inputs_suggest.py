"""`corpus suggest` on an HTML page cuts the page's main text, as a scan reads it."""

from __future__ import annotations

import pytest

from overclaim.errors import CorpusError
from overclaim.inputs.sources import from_path
from overclaim.training import grow

PAGE = """<!DOCTYPE html><html><head><title>Knee Clinic</title>
<script>window.tracking = {"id": 42};</script><style>p { color: red }</style></head>
<body><nav><a href="/">Home</a> | <a href="/about">About us</a></nav>
<div class="cookie-banner">We use cookies. Accept all?</div>
<main><h1>Regrow Your Knee Cartilage</h1>
<p>Our stem cell injections rebuild cartilage in three weeks.</p>
<ul><li>93% of our patients report lasting relief</li><li>No surgery, no downtime</li></ul>
<p>A 2019 trial of 40 adults found a small gain in walking distance.</p></main>
<footer>All rights reserved. Privacy policy</footer></body></html>
"""


def test_suggest_cuts_the_extracted_main_text_of_an_html_page(scorer, tiny_corpus, tmp_path):
    page = tmp_path / "knee-clinic.html"
    page.write_text(PAGE, encoding="utf-8")
    rows = grow.suggest([page], scorer, "stem-cell-knee", voice="clinic-service",
                        page_kind="promotional")
    placed = tiny_corpus / "corpus" / "documents" / "authored" / "knee-clinic.txt"
    text = placed.read_text(encoding="utf-8")
    assert text.strip() == from_path(page).text.strip()  # what a scan scores
    assert set(rows["doc"]) == {"documents/authored/knee-clinic.txt"}
    assert not (placed.parent / "knee-clinic.html").exists()
    units = " ".join(rows["text"])
    assert "rebuild cartilage" in units and "93% of our patients" in units
    for markup in ("<", "tracking", "color: red", "cookies", "All rights reserved", "About us"):
        assert markup not in units, markup
    for row in rows.itertuples(index=False):
        assert text[row.start:row.end] == row.text  # offsets point into the stored text


def test_suggest_on_an_unreadable_html_page_is_a_corpus_error(scorer, tiny_corpus, tmp_path):
    page = tmp_path / "empty.html"
    page.write_text("<html><body><script>only code</script></body></html>")
    with pytest.raises(CorpusError, match="empty.html"):
        grow.suggest([page], scorer, "stem-cell-knee", voice="clinic-service",
                     page_kind="promotional")
