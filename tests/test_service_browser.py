"""The service's review page in headless Chromium, served by uvicorn on loopback."""

from __future__ import annotations

import pytest

pytest.importorskip("uvicorn")

from overclaim.adapters import service  # noqa: E402

from .conftest import serve_in_thread  # noqa: E402


PROMO = ("Regrow your knee cartilage without surgery. Our stem cell injections repair worn "
         "cartilage and restore pain-free movement in just weeks. Unlike cortisone, which only "
         "masks the pain, stem cells treat the root cause. It is a safe alternative to surgery "
         "with no side effects.\n\nWe draw a small amount of bone marrow from your hip under local "
         "anaesthetic. The procedure takes about two hours. Call 555-0142 to book.")


@pytest.fixture(scope="module")
def base_url(scorer):
    """The app served by uvicorn in a thread on a free loopback port, until the module ends."""
    with serve_in_thread(service.create_app(scorer)) as port:
        yield f"http://127.0.0.1:{port}"


def test_paste_score_and_read_highlights(page, base_url):
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(base_url + "/")
    page.fill("#input", PROMO)
    page.click("text=Score")
    page.wait_for_selector("#result:not([hidden])")
    flagged = page.locator("#text .u.flagged")
    assert flagged.count() >= 2
    assert flagged.first.is_visible()
    assert any("repair worn cartilage" in t for t in flagged.all_inner_texts())
    # the reason is in the tooltip and beside the highlight
    assert "P(overclaim)" in flagged.first.get_attribute("title")
    why = page.locator("#text .why.flagged").first
    assert why.is_visible() and "P(overclaim)" in why.inner_text()
    assert "categories:" in why.inner_text()
    # the page score is shown, and the plain sentences are there unhighlighted
    assert page.locator("#summary .score").inner_text().startswith("0.")
    assert "page score" in page.locator("#summary").inner_text()
    assert "two hours" in page.locator("#text").inner_text()
    page.screenshot(path="/tmp/service.png", full_page=True)
    assert all(url.startswith(base_url) for url in requests)


def test_empty_input_shows_the_error(page, base_url):
    page.goto(base_url + "/")
    page.click("text=Score")
    error = page.locator("#error")
    error.wait_for(state="visible")
    assert "empty input" in error.inner_text()
    assert page.locator("#result").is_hidden()


def test_payloads_pasted_into_the_review_page_stay_inert(page, base_url):
    requests, dialogs = [], []
    page.on("request", lambda r: requests.append(r.url))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(base_url + "/")
    payload = ('Stem cells cure every knee <img src=x onerror="window.__pwned=1"> for good. '
               'Our cells rebuild cartilage <script>window.__pwned=1</script> in weeks.')
    page.fill("#input", payload)
    page.click("text=Score")
    page.wait_for_selector("#result:not([hidden])")
    assert page.evaluate("window.__pwned === undefined")
    assert page.locator("#text img, #text script").count() == 0
    assert "onerror" in page.locator("#text").inner_text()
    assert not dialogs and all(url.startswith(base_url) for url in requests)
