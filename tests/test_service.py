"""The HTTP service through its public surface, with FastAPI's in-process test client.

No test makes a network request: refused URLs are refused before any fetch, and the one
test that follows a redirect answers it from a patched transport.
"""

from __future__ import annotations

import socket
import warnings

import pytest

pytest.importorskip("fastapi")
with warnings.catch_warnings():  # starlette's client warns about httpx, which it still uses
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from overclaim import SCHEMA_VERSION
from overclaim.adapters import service  # noqa: E402
from overclaim.training.corpus import CATEGORIES  # noqa: E402
from overclaim.inputs import fetch  # noqa: E402
from overclaim.errors import InputError  # noqa: E402

from .conftest import DATA, serve_in_thread  # noqa: E402

PROMO = ("Our stem cell injections repair worn cartilage and restore pain-free movement in just "
         "weeks. It is a safe alternative to surgery with no side effects. Call today to book.")
CAUTIOUS = ("A 2021 systematic review of 14 trials found that PRP modestly reduced knee pain "
            "compared with saline at six months. More research is needed.")
MAX_BYTES = 100_000


@pytest.fixture(scope="module")
def client(scorer):
    return TestClient(service.create_app(scorer, max_bytes=MAX_BYTES))


@pytest.fixture
def no_fetch(monkeypatch):
    """Fail the test if anything tries to build a Fetcher."""
    def refuse(*args, **kwargs):
        raise AssertionError("a URL was fetched")

    monkeypatch.setattr(service, "Fetcher", refuse)


def test_score_text(client):
    response = client.post("/v1/score", json={"text": PROMO})
    assert response.status_code == 200
    data = response.json()
    assert data["schema"] == SCHEMA_VERSION
    assert data["flagged"] is True and 0 < data["score"] <= 1
    assert set(data["categories"]) == set(CATEGORIES)
    assert all(isinstance(v, bool) for v in data["categories"].values())
    assert all(isinstance(v, float) for v in data["category_scores"].values())
    span = data["spans"][0]
    assert {"begin", "end", "score"} <= set(span) and span["begin"] < span["end"]
    assert "text" not in data


def test_score_html_and_include_text(client):
    html = (DATA / "clinic_page.html").read_text(encoding="utf-8")
    data = client.post("/v1/score?include_text=true", json={"html": html}).json()
    assert data["flagged"] and data["source"] == "<html>"
    assert data["title"]
    assert "cookies" not in data["text"]  # boilerplate removed
    units = {s["start"]: s["text"] for s in data["sentences"]}
    for span in data["spans"]:  # offsets point into the returned text
        assert data["text"][span["begin"]:span["end"]] == units[span["begin"]]


def test_options_apply(client):
    strict = client.post("/v1/score", json={"text": PROMO, "options": {
        "flag_threshold": 0.99, "categories": ["safety"], "contributions": 0}}).json()
    assert strict["flagged"] is False
    assert strict["options"]["flag_threshold"] == 0.99
    assert list(strict["categories"]) == ["safety"]


def test_batch_keeps_order_and_reports_bad_items(client):
    items = [{"text": PROMO}, {"text": ""}, {"text": CAUTIOUS},
             {"text": "x", "html": "<p>x</p>"}, {"url": "https://clinic.example/"}]
    response = client.post("/v1/score-batch", json={"items": items})
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 5
    assert results[0]["flagged"] is True and results[2]["flagged"] is False
    assert results[1]["error"] == "empty input" and results[1]["source"] == "<text>"
    assert results[1]["score"] is None and results[1]["schema"] == results[0]["schema"]
    assert "exactly one" in results[3]["error"]
    assert "--allow-urls" in results[4]["error"]
    assert results[4]["source"] == "https://clinic.example/"


def test_batch_options_and_limit(client):
    data = client.post("/v1/score-batch", json={
        "items": [{"text": PROMO}, {"text": PROMO, "options": {"flag_threshold": 0.2}}],
        "options": {"flag_threshold": 0.99}}).json()["results"]
    assert [r["options"]["flag_threshold"] for r in data] == [0.99, 0.2]
    response = client.post("/v1/score-batch", json={"items": [{"text": "a"}] * 101})
    assert response.status_code == 422


def test_healthz(client, scorer):
    data = client.get("/healthz").json()
    assert data == {"status": "ok", "model": scorer.model_info()}


def test_openapi_and_docs(client):
    spec = client.get("/openapi.json").json()
    assert {"/v1/score", "/v1/score-batch", "/healthz"} <= set(spec["paths"])
    assert spec["info"]["title"] == "overclaim" and spec["info"]["version"]
    assert client.get("/docs").status_code == 200


def test_index_page_is_self_contained(client):
    response = client.get("/")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    assert "/v1/score" in response.text
    assert "http://" not in response.text and "https://" not in response.text


@pytest.mark.parametrize("headers", [{}, {"content-length": str(MAX_BYTES + 1)}])
def test_oversized_body_is_413(client, headers):
    body = b'{"text": "' + b"a" * MAX_BYTES + b'"}'
    response = client.post("/v1/score", content=body,
                           headers={"content-type": "application/json", **headers})
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


def test_chunked_oversized_body_is_413(client):
    def chunks():
        for _ in range(20):
            yield b"a" * 10_000

    response = client.post("/v1/score", content=chunks(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413


@pytest.mark.parametrize("body, words", [
    ({"text": ""}, "empty"),
    ({"text": "   \n  "}, "empty"),
    ({"text": "a\x00b\x01c\x02" * 20}, "binary"),
    ({"text": "Die Behandlung mit Stammzellen ist eine neue Methode, die bei vielen Patienten "
              "mit Schmerzen in den Gelenken und im Rücken eingesetzt wird, aber die Wirkung "
              "ist noch nicht durch Studien belegt und sollte daher mit Vorsicht betrachtet "
              "werden."}, "English"),
    ({"text": PROMO, "html": "<p>x</p>"}, "exactly one"),
    ({}, "exactly one"),
    ({"url": "https://clinic.example/"}, "--allow-urls"),
])
def test_bad_input_is_400(client, no_fetch, body, words):
    response = client.post("/v1/score", json=body)
    assert response.status_code == 400
    assert words in response.json()["detail"]


@pytest.mark.parametrize("body", [
    {"text": 5}, {"text": PROMO, "extra": 1}, {"text": PROMO, "options": {"flag_threshold": 2}},
    {"text": PROMO, "options": {"categories": ["nonsense"]}},
])
def test_schema_errors_are_422(client, body):
    response = client.post("/v1/score", json=body)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_malformed_json_is_422(client):
    response = client.post("/v1/score", content=b"{not json",
                           headers={"content-type": "application/json"})
    assert response.status_code == 422


@pytest.mark.parametrize("url", ["http://127.0.0.1/", "http://localhost/", "http://10.0.0.1/",
                                 "http://[::1]/", "http://169.254.169.254/",
                                 "http://[::ffff:127.0.0.1]/", "http://0.0.0.0:8080/",
                                 "http://192.168.1.1/", "http://224.0.0.1/"])
def test_check_public_url_refuses_non_public(url):
    with pytest.raises(InputError, match="non-public"):
        fetch.check_public_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/", "http:///nohost"])
def test_check_public_url_refuses_other_schemes(url):
    with pytest.raises(InputError, match="not an http"):
        fetch.check_public_url(url)


def test_check_public_url_accepts_public(monkeypatch):
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, **kw: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))])
    assert fetch.check_public_url("https://clinic.example/knee") == "93.184.216.34"


def test_allow_urls_app_refuses_loopback(scorer, no_fetch):
    client = TestClient(service.create_app(scorer, allow_urls=True))
    response = client.post("/v1/score", json={"url": "http://127.0.0.1:9/admin"})
    assert response.status_code == 400
    assert "non-public" in response.json()["detail"]


def test_allow_urls_app_refuses_redirect_to_private(scorer, monkeypatch):
    """A public page that redirects to the metadata address is refused at the redirect."""
    import httpx

    real_getaddrinfo = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host == "clinic.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    sent = []

    def answer(self, request):
        sent.append(str(request.url))
        # pinned: the connection goes to the checked address, the name stays in Host and SNI
        assert request.url.host == "93.184.216.34"
        assert request.headers["host"] == "clinic.example"
        assert request.extensions["sni_hostname"] == "clinic.example"
        return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/"})

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", answer)
    client = TestClient(service.create_app(scorer, allow_urls=True))
    response = client.post("/v1/score", json={"url": "http://clinic.example/knee"})
    assert response.status_code == 400
    assert "169.254.169.254" in response.json()["detail"]
    assert all("169.254" not in url for url in sent)


@pytest.mark.parametrize("url", ["http://127.0.0.1./", "http://user@clinic.example/",
                                 "http://127.0.0.1:9\\@93.184.216.34/", "http://clinic%2eexample/"])
def test_ambiguous_urls_are_refused_before_any_lookup(url, monkeypatch):
    def no_lookup(*args, **kwargs):
        raise AssertionError("resolved an ambiguous URL")

    monkeypatch.setattr(socket, "getaddrinfo", no_lookup)
    with pytest.raises(InputError, match="ambiguous|disagree|not a valid"):
        fetch.check_public_url(url)


def test_dns_rebinding_cannot_redirect_the_connection(monkeypatch):
    """The resolver answers public, then private: the fetcher connects to the address it
    checked, resolving once per request."""
    import httpx

    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    lookups, connected = [], []

    def resolve(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    def answer(self, request):
        connected.append(request.url.host)
        return httpx.Response(200, headers={"content-type": "text/html"},
                              content=b"<p>Stem cells repair every disc, guaranteed.</p>")

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", answer)
    with fetch.Fetcher(public_only=True, respect_robots=False) as fetcher:
        fetcher.fetch("http://rebind.example/page")
    assert lookups == ["rebind.example"] and connected == ["93.184.216.34"]


def test_robots_txt_is_read_up_to_a_cap(monkeypatch):
    import httpx

    huge = b"User-agent: *\nAllow: /\n" + b"#" * (3 * fetch.ROBOTS_MAX_BYTES)
    served = []

    def answer(self, request):
        served.append(request.url.path)
        if request.url.path == "/robots.txt":
            return httpx.Response(200, content=huge)
        return httpx.Response(200, headers={"content-type": "text/html"},
                              content=b"<p>PRP regrows hair in every patient.</p>")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", answer)
    with fetch.Fetcher() as fetcher:
        lines = fetcher._robots_lines("http://clinic.example")
        assert sum(len(line) + 1 for line in lines) <= fetch.ROBOTS_MAX_BYTES + 1
        assert fetcher.allowed("http://clinic.example/page")


def test_healthz_answers_while_a_request_is_being_scored(scorer, monkeypatch):
    """Scoring runs off the event loop: a request stuck in scoring does not hold /healthz."""
    import threading

    started, release = threading.Event(), threading.Event()
    real = service.score_item

    def slow(*args, **kwargs):
        started.set()
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "score_item", slow)
    client = TestClient(service.create_app(scorer))
    results = []
    worker = threading.Thread(target=lambda: results.append(
        client.post("/v1/score", json={"text": PROMO}).status_code))
    worker.start()
    assert started.wait(30)
    assert client.get("/healthz").status_code == 200 and not results  # still scoring
    release.set()
    worker.join(30)
    assert results == [200]


def test_request_over_the_time_budget_is_503(scorer, monkeypatch):
    import threading

    release = threading.Event()
    real = service.score_item

    def stuck(*args, **kwargs):
        release.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(service, "score_item", stuck)
    client = TestClient(service.create_app(scorer, time_budget=0.2))
    try:
        response = client.post("/v1/score", json={"text": PROMO})
    finally:
        release.set()
    assert response.status_code == 503 and "time budget" in response.json()["detail"]


def test_slow_body_is_408():
    import asyncio

    sent = []

    async def app(scope, receive, send):  # never reached
        raise AssertionError("the app saw a body that never arrived")

    async def receive():
        await asyncio.sleep(10)

    async def send(message):
        sent.append(message)

    import threading

    limit = service._BodyLimit(app, max_bytes=1000, timeout=0.05)
    scope = {"type": "http", "headers": [(b"content-length", b"10")], "method": "POST",
             "path": "/v1/score"}
    # a thread of its own: other tests may leave an event loop running in this one
    runner = threading.Thread(target=lambda: asyncio.run(limit(scope, receive, send)))
    runner.start()
    runner.join(10)
    assert sent[0]["status"] == 408


def test_docs_page_needs_no_network(client):
    page = client.get("/docs").text
    assert "swagger" in page.lower()
    assert "cdn." not in page and "https://" not in page


def test_worker_processes_score_like_the_library(scorer):
    """With worker processes (each loading the model once) results equal in-process ones."""
    app = service.create_app(scorer, workers=1)
    with TestClient(app) as client:  # the context runs the lifespan, which stops the pool
        data = client.post("/v1/score", json={"text": PROMO}).json()
        batch = client.post("/v1/score-batch", json={"items": [{"text": PROMO}, {"text": ""}]})
    expected = scorer.score(PROMO)
    assert data["score"] == expected.score
    assert [s["overclaim"] for s in data["sentences"]] == [s.overclaim for s in expected.sentences]
    results = batch.json()["results"]
    assert results[0]["score"] == expected.score and results[1]["error"] == "empty input"


@pytest.fixture
def live_server(scorer):
    """The service on a free loopback port with short header and body deadlines."""
    with serve_in_thread(service.create_app(scorer, body_timeout=0.5),
                         http=service.header_deadline_protocol(0.5)) as port:
        yield port


def _closed_within(sock, seconds: float) -> bytes:
    sock.settimeout(seconds)
    data = b""
    try:
        while chunk := sock.recv(4096):
            data += chunk
    except TimeoutError:
        return b"still open"
    return data


def test_slow_headers_and_bodies_are_cut_off(live_server):
    with socket.create_connection(("127.0.0.1", live_server)) as slow_headers:
        slow_headers.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
        assert _closed_within(slow_headers, 5) == b""
    with socket.create_connection(("127.0.0.1", live_server)) as slow_body:
        slow_body.sendall(b"POST /v1/score HTTP/1.1\r\nHost: x\r\ncontent-type: application/json"
                          b"\r\ncontent-length: 100\r\n\r\n{\"text\": ")  # body never finished
        answer = _closed_within(slow_body, 5)
        assert answer.startswith(b"HTTP/1.1 408")
    with socket.create_connection(("127.0.0.1", live_server)) as normal:
        normal.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert _closed_within(normal, 5).startswith(b"HTTP/1.1 200")


def test_moderations_takes_input_as_a_string_or_a_list(client):
    one = client.post("/v1/moderations", json={"input": PROMO}).json()
    assert len(one["results"]) == 1 and one["results"][0]["flagged"] is True
    assert "sentences" not in one["results"][0]  # compact by default
    many = client.post("/v1/moderations", json={"input": [PROMO, "", CAUTIOUS]}).json()
    flags = [r["flagged"] for r in many["results"]]
    assert flags == [True, None, False]
    assert many["results"][1]["error"] == "empty input"
    full = client.post("/v1/moderations", json={"input": PROMO,
                                                "options": {"detail": "full"}}).json()
    assert full["results"][0]["sentences"]
    assert client.post("/v1/moderations", json={"input": 3}).status_code == 422
