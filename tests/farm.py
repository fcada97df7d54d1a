"""A farm of simulated clinic sites on 127.0.0.x for audit tests and benchmarks (no network).

Each site is its own HTTP server on its own loopback address (so politeness, which counts
hosts, sees separate hosts). Site ``i`` has a home page linking to a few pages; every
seventh site is dead (nothing listens), and others carry the troubles a real audit meets:
a slow page, a dead link, a redirect loop, a page found only in sitemap.xml, and a page
that answers 503 once before it answers. All page text is authored here.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_CLAIMS = [
    "Our regenerative injections repair worn cartilage and end joint pain for good.",
    "Stem cell therapy reverses nerve damage without any risk.",
    "Patients walk pain-free within days, with a 94% success rate.",
]
_PLAIN = [
    "Cartilage is the smooth tissue that covers the ends of bones in a joint.",
    "Appointments are available on weekdays between nine and five.",
    "The injection is given under ultrasound guidance and takes about twenty minutes.",
    "Please bring a list of the medicines you take to your first visit.",
]

#: Seconds the slow page takes to answer (tests give the scan a shorter timeout).
SLOW_SECONDS = 4.0


def _page(site: int, page: int, links: list[str]) -> bytes:
    claim = _CLAIMS[(site + page) % len(_CLAIMS)] if (site + page) % 2 == 0 else ""
    plain = " ".join(_PLAIN[(site + page + k) % len(_PLAIN)] for k in range(2))
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (f"<html><head><title>Clinic {site} page {page}</title></head><body><main>"
            f"<h1>Clinic {site}: page {page}</h1><p>{plain} {claim}</p>"
            f"<p>Site {site}, page {page}. {_PLAIN[page % len(_PLAIN)]}</p>"
            f"<ul>{anchors}</ul></main></body></html>").encode()


@dataclass
class Site:
    index: int
    address: str
    port: int
    alive: bool
    trouble: str  # "", "slow", "dead-link", "loop", "sitemap", "dead", "busy"
    hits: Counter = field(default_factory=Counter)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}/"

    def pages(self) -> list[str]:
        """The paths of this site's real pages (what a crawl of 10 should score)."""
        paths = ["/", "/p1", "/p2", "/p3"]
        if self.trouble == "sitemap":
            paths.append("/hidden")
        if self.trouble == "slow":
            paths.remove("/p2")
        return paths

    def expected_urls(self) -> set[str]:
        base = self.url.rstrip("/")
        return {base + p if p != "/" else self.url for p in self.pages()}


class Farm:
    """``n`` simulated sites; use as a context manager (servers stop on exit)."""

    def __init__(self, n: int, first_address: int = 10, page_delay: float = 0.0):
        self.page_delay = page_delay
        troubles = ["", "slow", "dead-link", "loop", "sitemap", "dead", "busy"]
        self.sites = [Site(i, _address(first_address + i), 0, alive=troubles[i % 7] != "dead",
                           trouble=troubles[i % 7]) for i in range(n)]

    def __enter__(self) -> "Farm":
        for site in self.sites:
            if site.alive:
                site.server = ThreadingHTTPServer((site.address, 0), self._handler(site))
                site.server.daemon_threads = True
                site.port = site.server.server_address[1]
                threading.Thread(target=site.server.serve_forever, daemon=True).start()
            else:
                site.port = _free_port(site.address)
        return self

    def __exit__(self, *exc) -> None:
        for site in self.sites:
            if site.server is not None:
                site.server.shutdown()
                site.server.server_close()

    @property
    def start_urls(self) -> list[str]:
        return [site.url for site in self.sites]

    def expected_pages(self) -> set[str]:
        return {url for site in self.sites if site.alive for url in site.expected_urls()}

    def _handler(self, site: Site):
        farm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                path = self.path
                site.hits[path] += 1
                if farm.page_delay:
                    time.sleep(farm.page_delay)
                links = ["/p1", "/p2", "/p3"] if path == "/" else ["/"]
                if path == "/" and site.trouble == "dead-link":
                    links.append("/gone")
                if path == "/" and site.trouble == "loop":
                    links.append("/loop")
                if path == "/loop":
                    return self._send(302, b"", {"Location": "/loop"})
                if path == "/sitemap.xml" and site.trouble == "sitemap":
                    body = (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/'
                            f'schemas/sitemap/0.9"><url><loc>{site.url}hidden</loc></url>'
                            f"</urlset>").encode()
                    return self._send(200, body, {"Content-Type": "application/xml"})
                if path == "/p2" and site.trouble == "slow":
                    time.sleep(SLOW_SECONDS)
                if path == "/p1" and site.trouble == "busy" and site.hits[path] == 1:
                    return self._send(503, b"busy", {"Retry-After": "0"})
                known = {"/": 0, "/p1": 1, "/p2": 2, "/p3": 3, "/hidden": 4}
                if path not in known or (path == "/hidden" and site.trouble != "sitemap"):
                    return self._send(404, b"not found", {})
                self._send(200, _page(site.index, known[path], links),
                           {"Content-Type": "text/html; charset=utf-8"})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout): nothing to answer

        return Handler


def _address(n: int) -> str:
    """The ``n``-th loopback address from 127.0.1.1 on (all of 127/8 is loopback on Linux)."""
    return f"127.0.{1 + n // 250}.{n % 250 + 1}"


def _free_port(address: str) -> int:
    """A port on ``address`` where nothing listens (a dead site)."""
    with socket.socket() as probe:
        probe.bind((address, 0))
        return probe.getsockname()[1]
