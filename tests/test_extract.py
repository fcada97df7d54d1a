"""Extraction: saved pages, encodings, bad inputs, and URL fetching against a local server."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from overclaim.inputs import decode, fetch, sources
from overclaim.errors import InputError
from overclaim.paths import corpus_dir

from .conftest import DATA


def test_clinic_page_drops_chrome_keeps_headings_and_bullets():
    document = sources.from_path(DATA / "clinic_page.html")
    lines = document.text.splitlines()
    assert "Regrow Your Knee Cartilage Without Surgery" in lines
    assert "- 93% of our patients report lasting relief" in lines
    for chrome in ("cookies", "About us", "All rights reserved", "Privacy policy"):
        assert chrome not in document.text
    assert document.content_type == "text/html"
    assert len(document.sha256) == 64


def test_declared_charset_is_used():
    document = sources.from_path(DATA / "latin1_page.html")
    assert "café" in document.text and "naïve" in document.text


@pytest.mark.parametrize("raw, expected", [
    ("caf\u00e9 stem cells".encode("utf-8"), "café stem cells"),
    (b"\xef\xbb\xbf" + "caf\u00e9".encode("utf-8"), "café"),
    ("caf\u00e9".encode("utf-16"), "café"),
    ("Our clinic\u2019s \u201cregenerative\u201d caf\u00e9 \u2014 open daily for all of our patients.".encode("cp1252"),
     "Our clinic\u2019s \u201cregenerative\u201d caf\u00e9 \u2014 open daily for all of our patients."),
])
def test_decode(raw, expected):
    assert decode.decode(raw) == expected


def test_fallback_when_extractor_returns_too_little():
    html = "<html><body><div>" + "".join(
        f"<div class='card'>Ozone therapy claim number {i} heals the joints of our patients and is safe for you.</div>" for i in range(30)
    ) + "</div></body></html>"
    document = decode.from_bytes(html.encode())
    assert "Ozone therapy claim number 29 heals the joints of our patients and is safe for you." in document.text


@pytest.mark.parametrize("raw, message", [
    (b"", "empty"),
    (b"   \n\t ", "empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
    (("Die Stammzelltherapie ist eine neue Methode, die von vielen Kliniken angeboten wird, "
      "aber ihre Wirksamkeit ist nicht belegt und die Risiken sind nicht bekannt. Sprechen "
      "Sie mit Ihrem Arzt über alle Möglichkeiten und lassen Sie sich nicht drängen.").encode(),
     "English"),
])
def test_bad_bytes(raw, message):
    with pytest.raises(InputError, match=message):
        decode.from_bytes(raw)


def test_size_cap_is_checked_before_reading(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * 1000)
    with pytest.raises(InputError, match="size cap"):
        sources.from_path(big, max_bytes=100)


def test_missing_and_directory_paths(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        sources.from_path(tmp_path / "nope.html")
    with pytest.raises(InputError, match="not a regular file"):
        sources.from_path(tmp_path)


def test_iter_files_is_recursive_and_filtered(tmp_path):
    (tmp_path / "a").mkdir()
    for name in ("a/page.html", "b.htm", "c.txt", "d.md", "e.pdf", ".hidden.txt"):
        (tmp_path / name).write_text("x")
    found = [p.relative_to(tmp_path).as_posix() for p, _ in sources.iter_files(tmp_path)]
    assert found == ["a/page.html", "b.htm", "c.txt", "d.md"]


# --- a local web server (never the internet) --------------------------------------

PAGE = (DATA / "clinic_page.html").read_bytes()


class Handler(BaseHTTPRequestHandler):
    routes = {
        "/robots.txt": (200, "text/plain", b"User-agent: *\nDisallow: /private\n"),
        "/page.html": (200, "text/html; charset=utf-8", PAGE),
        "/private/page.html": (200, "text/html", PAGE),
        "/image.png": (200, "image/png", b"\x89PNG...."),
        "/big.html": (200, "text/html", b"<p>" + b"stem cells " * 200_000 + b"</p>"),
        "/plain.txt": (200, "text/plain", b"PRP cures baldness in every patient, guaranteed."),
        "/site/a.html": (200, "text/html", b"<html><body><main><p>Our stem cell page one repairs knees "
                         b"and hips for good, and every patient walks away pain free.</p>"
                         b"<a href='/site/b.html'>b</a><a href='https://elsewhere.example/x'>x</a>"
                         b"</main></body></html>"),
        "/site/b.html": (200, "text/html", b"<html><body><main><p>Page two says that exosomes "
                         b"rebuild cartilage within weeks and never cause side effects.</p>"
                         b"<a href='/site/a.html'>a</a></main></body></html>"),
    }

    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path == "/loop":
            self.send_response(302)
            self.send_header("Location", "/loop")
            self.end_headers()
            return
        status, content_type, body = self.routes.get(self.path, (404, "text/plain", b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """The fetcher hangs up on over-size bodies on purpose; that is not an error here."""


@pytest.fixture(scope="module")
def server():
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def fetcher():
    with fetch.Fetcher(timeout=5, max_bytes=1_000_000) as f:
        yield f


def test_fetch_page(server, fetcher):
    document = fetcher.fetch(server + "/page.html")
    assert "Regrow Your Knee Cartilage Without Surgery" in document.text
    assert document.source == server + "/page.html"


def test_fetch_plain_text(server, fetcher):
    assert "guaranteed" in fetcher.fetch(server + "/plain.txt").text


@pytest.mark.parametrize("path, message", [
    ("/private/page.html", "robots.txt"),
    ("/image.png", "not an HTML or text page"),
    ("/big.html", "size cap"),
    ("/missing.html", "HTTP 404"),
    ("/loop", "too many redirects"),
])
def test_fetch_refusals(server, fetcher, path, message):
    with pytest.raises(InputError, match=message):
        fetcher.fetch(server + path)


def test_robots_can_be_ignored(server):
    with fetch.Fetcher(respect_robots=False) as fetcher:
        assert fetcher.fetch(server + "/private/page.html").text


def test_unreachable_host_is_a_clean_error():
    with fetch.Fetcher(timeout=2) as fetcher:
        with pytest.raises(InputError, match="cannot fetch|timed out"):
            fetcher.fetch("http://127.0.0.1:9/nothing-listens-here")


def test_crawl_stays_on_site_and_stops_at_limit(server, fetcher):
    pages = list(fetcher.crawl(server + "/site/a.html", limit=5))
    assert [url for url, _ in pages] == [server + "/site/a.html", server + "/site/b.html"]
    assert len(list(fetcher.crawl(server + "/site/a.html", limit=1))) == 1


@pytest.mark.parametrize("codec, bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"),
                                        ("utf-32-le", b"\xff\xfe\x00\x00"),
                                        ("utf-8", b"\xef\xbb\xbf")])
def test_text_with_a_byte_order_mark_is_decoded(codec, bom):
    page = "<html><body><p>Stem cells repair discs for good. Call us today.</p></body></html>"
    document = decode.from_bytes(bom + page.encode(codec))
    assert "Stem cells repair discs for good." in document.text
    assert document.content_type == "text/html"


def test_terse_english_copy_is_not_refused_and_other_languages_are():
    terse = "PRP restores hair fast. Proven results. Zero downtime. Book today. " * 4
    assert decode.looks_english(terse)
    german = ("Die Behandlung mit Stammzellen ist nicht zugelassen und wird von der Kasse "
              "nicht bezahlt, das ist für viele Patienten ein Problem mit dem Preis. ") * 2
    spanish = ("El tratamiento con células madre es una opción que los pacientes buscan para "
               "el dolor de la rodilla y por eso las clínicas la ofrecen. ") * 2
    greek = "Τα βλαστοκύτταρα θεραπεύουν τα πάντα σύμφωνα με την κλινική μας σήμερα. " * 4
    assert not any(decode.looks_english(t) for t in (german, spanish, greek))


def test_no_corpus_document_or_unit_is_refused_as_not_english():
    from overclaim.training import corpus

    frame = corpus.load()
    assert all(decode.looks_english(t) for t in frame["text"])
    for doc in frame["doc"].unique():
        assert decode.looks_english((corpus_dir() / doc).read_text(encoding="utf-8")), doc


@pytest.mark.parametrize("raw, expected", [
    ("Stem\x01 cells\x0b heal\x1f.\r\nTab\there.\rEnd", "Stem cells heal.\nTab\there.\nEnd"),
    ("\x7f and \x85 are not C0 controls", "\x7f and \x85 are not C0 controls"),
])
def test_control_characters_are_dropped_but_tabs_and_newlines_kept(raw, expected):
    assert decode.from_text(raw, is_html=False).text == expected


def test_pages_in_another_script_are_told_from_english():
    russian = "Стволовые клетки лечат всё и сразу без побочных эффектов, говорят в клинике. " * 5
    assert not decode.looks_english(russian)
    assert decode.looks_english("Stem cells heal everything at once, the clinic says. " * 5)
    assert decode.looks_english("Стволовые клетки. " + "Stem cells heal everything, they say. " * 5)
