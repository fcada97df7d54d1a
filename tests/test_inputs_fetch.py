"""Fetching and crawling against httpx.MockTransport sites on a fake clock (never the network).

Dead links found while crawling are warnings, only start URLs fail; sitemaps add pages;
one host gets one request at a time with a politeness delay, hosts run side by side, and
results keep the input order.
"""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from overclaim.adapters.cli import main
from overclaim.errors import InputError
from overclaim.inputs import fetch
from overclaim.inputs.fetch import Fetcher, HostGate, sitemap_locations
from overclaim.scoring import scan as scan_module
from overclaim.scoring.scan import FetchOptions

CLINIC = "https://clinic.example"


class FakeClock:
    """A clock that only moves when slept on, so politeness costs no real time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


def page(title: str, claim: str, links: tuple[str, ...] = ()) -> bytes:
    anchors = "".join(f"<a href='{href}'>{href}</a>" for href in links)
    return (f"<html><body><main><h1>{title}</h1><p>{claim}</p>{anchors}</main></body></html>"
            ).encode()


def sitemap(*urls: str) -> bytes:
    entries = "".join(f"<url><loc>{url}</loc></url>" for url in urls)
    return (f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/'
            f'schemas/sitemap/0.9">{entries}</urlset>').encode()


class Site:
    """Routes by full URL: (status, content type, body), or a callable taking the request.

    Every request is logged with the fake clock's time.
    """

    def __init__(self, routes: dict, clock: FakeClock | None = None) -> None:
        self.routes = routes
        self.clock = clock or FakeClock()
        self.log: list[tuple[str, float]] = []
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        with self._lock:
            self.log.append((url, self.clock.now))
        answer = self.routes.get(url, (404, "text/plain", b"not found"))
        if callable(answer):
            return answer(request)
        status, content_type, body = answer
        return httpx.Response(status, headers={"content-type": content_type}, content=body)

    @property
    def requested(self) -> list[str]:
        return [url for url, _ in self.log]

    def fetcher(self, **options) -> Fetcher:
        return Fetcher(transport=httpx.MockTransport(self), clock=self.clock,
                       sleep=self.clock.sleep, **options)


def timeout(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadTimeout("the server is too slow", request=request)


def clinic_site() -> Site:
    """A clinic whose start page links to a good page and four that cannot be scored."""
    html = "text/html; charset=utf-8"
    return Site({
        f"{CLINIC}/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow: /private\n"),
        f"{CLINIC}/start": (200, html, page(
            "Knee Clinic", "Our stem cell injections rebuild knee cartilage for good.",
            ("/good", "/dead", "/slow", "/private/x", "/brochure.pdf",
             "https://elsewhere.example/x", "/good#again"))),
        f"{CLINIC}/good": (200, html, page("Results", "Every patient walks again within a week.")),
        f"{CLINIC}/slow": timeout,
        f"{CLINIC}/private/x": (200, html, page("Private", "Never fetched.")),
        f"{CLINIC}/brochure.pdf": (200, "application/pdf", b"%PDF-1.4"),
        f"{CLINIC}/sitemap.xml": (200, "application/xml", sitemap(
            f"{CLINIC}/from-sitemap", f"{CLINIC}/good", "https://elsewhere.example/y",
            f"{CLINIC}/start")),
        f"{CLINIC}/from-sitemap": (200, html, page("Exosomes", "Exosome therapy reverses "
                                                   "arthritis without any side effects.")),
    })


# --- crawling ------------------------------------------------------------------------


def test_crawl_is_breadth_first_links_then_sitemap_same_site_only():
    site = clinic_site()
    with site.fetcher(delay=0) as fetcher:
        pages = list(fetcher.crawl(f"{CLINIC}/start", limit=20))
    urls = [url for url, _ in pages]
    assert urls == [f"{CLINIC}/start", f"{CLINIC}/good", f"{CLINIC}/dead", f"{CLINIC}/slow",
                    f"{CLINIC}/private/x", f"{CLINIC}/brochure.pdf", f"{CLINIC}/from-sitemap"]
    assert not any("elsewhere" in url for url in site.requested)
    assert f"{CLINIC}/private/x" not in site.requested  # robots.txt was obeyed
    errors = {url: str(outcome) for url, outcome in pages if isinstance(outcome, Exception)}
    assert set(errors) == {f"{CLINIC}/dead", f"{CLINIC}/slow", f"{CLINIC}/private/x",
                           f"{CLINIC}/brochure.pdf"}


def test_a_one_page_crawl_reads_no_sitemap():
    site = clinic_site()
    with site.fetcher(delay=0) as fetcher:
        assert [url for url, _ in fetcher.crawl(f"{CLINIC}/start", limit=1)] == [f"{CLINIC}/start"]
    assert f"{CLINIC}/sitemap.xml" not in site.requested


def test_sitemap_is_read_up_to_a_cap():
    entries = [f"{CLINIC}/page-{i:06d}" for i in range(20_000)]
    body = sitemap(*entries)
    assert len(body) > 2 * fetch.SITEMAP_MAX_BYTES
    site = Site({f"{CLINIC}/sitemap.xml": (200, "application/xml", body)})
    with site.fetcher(respect_robots=False) as fetcher:
        found = fetcher.sitemap_urls(f"{CLINIC}/start")
    assert 1000 < len(found) < len(entries)
    assert found == entries[: len(found)]  # in order, and the entry cut at the cap is dropped


def test_sitemap_entities_are_not_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xxe = (f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY s SYSTEM "{secret.as_uri()}">]>'
           f"<urlset><url><loc>https://a.example/&s;</loc></url>"
           f"<url><loc>https://a.example/ok</loc></url></urlset>").encode()
    found = sitemap_locations(xxe)
    assert "https://a.example/ok" in found and not any("TOP-SECRET" in url for url in found)
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
              b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]>'
              b"<urlset><url><loc>https://a.example/&c;</loc></url></urlset>")
    assert all(len(url) < 100 for url in sitemap_locations(laughs))
    assert sitemap_locations(b"not xml") == [] and sitemap_locations(b"") == []
    index = b"<sitemapindex><sitemap><loc>https://a.example/s.xml</loc></sitemap></sitemapindex>"
    assert sitemap_locations(index) == []


# --- politeness and concurrency ---------------------------------------------------------


def test_politeness_delay_between_requests_to_one_host():
    clock = FakeClock()
    site = Site({
        f"{CLINIC}/start": (200, "text/html", page("Start", "Stem cells heal every joint.",
                                                   ("/b", "/c"))),
        f"{CLINIC}/b": (200, "text/html", page("B", "PRP regrows hair in every patient.")),
        f"{CLINIC}/c": (200, "text/html", page("C", "Ozone therapy cures back pain fast.")),
    }, clock)
    with site.fetcher(delay=2.0) as fetcher:
        assert len(list(fetcher.crawl(f"{CLINIC}/start", limit=10))) == 3
    assert site.requested == [f"{CLINIC}/robots.txt", f"{CLINIC}/start", f"{CLINIC}/sitemap.xml",
                              f"{CLINIC}/b", f"{CLINIC}/c"]
    assert [when for _, when in site.log] == [0.0, 2.0, 4.0, 6.0, 8.0]
    assert clock.sleeps == [2.0] * 4


def test_host_gate_delays_only_the_same_host():
    clock = FakeClock()
    gate = HostGate(1.5, clock, clock.sleep)
    for url in ("https://a.example/1", "https://b.example/1", "https://A.example:8443/2"):
        with gate.slot(url):
            pass
    assert clock.sleeps == [1.5]


def test_delay_defaults_to_one_second_for_crawls_only():
    assert FetchOptions().politeness_delay() == 0.0
    assert FetchOptions(crawl=5).politeness_delay() == 1.0
    assert FetchOptions(crawl=5, delay=0).politeness_delay() == 0.0
    assert FetchOptions(delay=0.25).politeness_delay() == 0.25


def test_hosts_are_fetched_in_parallel_one_request_at_a_time_each():
    meet = threading.Barrier(2, timeout=10)
    inflight: dict[str, int] = {}
    most: dict[str, int] = {}
    lock = threading.Lock()

    def answer(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        with lock:
            inflight[host] = inflight.get(host, 0) + 1
            most[host] = max(most.get(host, 0), inflight[host])
        try:
            if request.url.path == "/first":
                meet.wait()  # both hosts' first pages must be in flight at once
            return httpx.Response(200, headers={"content-type": "text/html"},
                                  content=page(host, f"Stem cells from {host} heal knees."))
        finally:
            with lock:
                inflight[host] -= 1

    urls = ["https://a.example/first", "https://a.example/second", "https://b.example/first",
            "https://b.example/second"]
    with Fetcher(transport=httpx.MockTransport(answer), respect_robots=False,
                 concurrency=2) as fetcher:
        fetcher.prefetch(urls)
        got = [[url for url, _ in fetcher.pages(url)] for url in urls]
    assert got == [[url] for url in urls]
    assert most == {"a.example": 1, "b.example": 1}


def test_results_keep_input_order_whatever_finishes_first():
    b_served = threading.Event()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.host == "a.example":
            assert b_served.wait(10)  # a answers only after b is done
        else:
            b_served.set()
        return httpx.Response(200, headers={"content-type": "text/html"},
                              content=page("P", f"Our PRP from {request.url.host} cures baldness."))

    urls = ["https://a.example/x", "https://b.example/y", "https://a.example/z"]
    with Fetcher(transport=httpx.MockTransport(answer), respect_robots=False) as fetcher:
        fetcher.prefetch(urls)
        outcomes = [outcome for url in urls for _, outcome in fetcher.pages(url)]
    assert [document.source for document in outcomes] == urls


def test_a_url_not_prefetched_is_fetched_on_demand():
    site = clinic_site()
    with site.fetcher(delay=0) as fetcher:
        [(url, document)] = list(fetcher.pages(f"{CLINIC}/good"))
    assert url == f"{CLINIC}/good" and "walks again" in document.text


# --- the scan command ------------------------------------------------------------------


@pytest.fixture
def clinic(monkeypatch) -> Site:
    """The clinic site behind every Fetcher the scan command builds (fake clock, no network)."""
    site = clinic_site()

    def build(**options) -> Fetcher:
        site.options = options
        return site.fetcher(**options)

    monkeypatch.setattr(scan_module, "Fetcher", build)
    return site


def _sources(output: str) -> list[str]:
    return [json.loads(line)["source"] for line in output.splitlines() if line.strip()]


def test_dead_links_while_crawling_are_warnings_not_failed_inputs(runner, clinic):
    result = runner.invoke(main, ["scan", f"{CLINIC}/start", "--crawl", "20", "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert _sources(result.stdout) == [f"{CLINIC}/start", f"{CLINIC}/good",
                                       f"{CLINIC}/from-sitemap"]
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 4
    for what in ("/dead: HTTP 404", "/slow: timed out", "/private/x: robots.txt",
                 "/brochure.pdf: https://clinic.example/brochure.pdf is application/pdf"):
        assert any(what in line for line in warnings), what
    assert "error:" not in result.stderr
    assert "summary: 3 page(s) scored, 0 input(s) failed, 4 warning(s)" in result.stderr
    assert clinic.options["delay"] == 1.0 and clinic.options["concurrency"] == 4
    # politeness waits one second between requests; the timed-out page was tried twice
    # more, after backoffs of one and two seconds
    assert clinic.options["retries"] == 2
    assert set(clinic.clock.sleeps) == {1.0, 2.0} and clinic.clock.sleeps.count(2.0) == 1


def test_a_start_url_that_cannot_be_fetched_is_an_error(runner, clinic):
    result = runner.invoke(main, ["scan", f"{CLINIC}/dead", "--crawl", "5", "--format", "jsonl"])
    assert result.exit_code == 3
    assert f"error: {CLINIC}/dead: HTTP 404" in result.stderr
    assert "summary: 0 page(s) scored, 1 input(s) failed, 0 warning(s)" in result.stderr


def test_delay_and_concurrency_flags_reach_the_fetcher(runner, clinic):
    result = runner.invoke(main, ["scan", f"{CLINIC}/good", "--delay", "0", "--concurrency", "2",
                                  "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert clinic.options["delay"] == 0 and clinic.options["concurrency"] == 2
    assert "summary:" not in result.stderr  # no crawl, nothing skipped: no summary line
    assert runner.invoke(main, ["scan", f"{CLINIC}/good", "--delay", "-1"]).exit_code == 2
    assert runner.invoke(main, ["scan", f"{CLINIC}/good", "--concurrency", "0"]).exit_code == 2


def test_scheme_less_arguments_and_url_lists_are_fetched_over_https(runner, clinic, tmp_path,
                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    urls = tmp_path / "urls.txt"
    urls.write_text("# our clinics\n\nclinic.example/from-sitemap   # found in the sitemap\n",
                    encoding="utf-8")
    result = runner.invoke(main, ["scan", "clinic.example/good", "missing.txt", "--urls",
                                  str(urls), "--format", "jsonl"])
    assert result.exit_code == 3  # the missing file, only
    assert _sources(result.stdout) == [f"{CLINIC}/from-sitemap", f"{CLINIC}/good", "missing.txt"]
    assert "error: missing.txt: no such file" in result.stderr


def test_fetch_options_build_a_fetcher_with_the_cli_defaults():
    fetcher = FetchOptions(crawl=3).fetcher([])
    try:
        assert (fetcher.gate.delay, fetcher.concurrency) == (1.0, 4)
    finally:
        fetcher.close()


# --- retries -----------------------------------------------------------------------------


def _flaky(statuses: list[int], headers: dict[str, str] | None = None):
    """A transport answering ``statuses`` in turn (then 200), counting requests."""
    calls: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status = statuses[len(calls)] if len(calls) < len(statuses) else 200
        calls.append(status)
        if status == 200:
            return httpx.Response(200, headers={"content-type": "text/html"},
                                  content=page("P", "PRP is prepared from a blood sample."))
        return httpx.Response(status, headers=headers or {})

    return answer, calls


def test_a_busy_server_is_retried_with_growing_backoff():
    answer, calls = _flaky([503, 502])
    clock = FakeClock()
    with Fetcher(transport=httpx.MockTransport(answer), respect_robots=False, retries=2,
                 backoff=0.5, clock=clock, sleep=clock.sleep) as fetcher:
        document = fetcher.fetch(f"{CLINIC}/p")
    assert "blood sample" in document.text
    assert calls == [503, 502, 200]
    assert clock.sleeps == [0.5, 1.0]


def test_retry_after_is_obeyed_and_the_last_failure_reported():
    answer, calls = _flaky([429, 429, 429], {"retry-after": "7"})
    clock = FakeClock()
    with Fetcher(transport=httpx.MockTransport(answer), respect_robots=False, retries=2,
                 clock=clock, sleep=clock.sleep) as fetcher:
        with pytest.raises(InputError, match="HTTP 429"):
            fetcher.fetch(f"{CLINIC}/p")
    assert calls == [429, 429, 429] and clock.sleeps == [7.0, 7.0]


def test_a_missing_page_is_not_retried():
    answer, calls = _flaky([404])
    clock = FakeClock()
    with Fetcher(transport=httpx.MockTransport(answer), respect_robots=False, retries=3,
                 clock=clock, sleep=clock.sleep) as fetcher:
        with pytest.raises(InputError, match="HTTP 404"):
            fetcher.fetch(f"{CLINIC}/p")
    assert calls == [404] and clock.sleeps == []


def test_a_refused_connection_is_retried():
    attempts: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        attempts.append(str(request.url))
        if len(attempts) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, headers={"content-type": "text/html"},
                              content=page("P", "Sessions take about an hour."))

    clock = FakeClock()
    with Fetcher(transport=httpx.MockTransport(answer), respect_robots=False, retries=1,
                 clock=clock, sleep=clock.sleep) as fetcher:
        assert "about an hour" in fetcher.fetch(f"{CLINIC}/p").text
    assert len(attempts) == 2
