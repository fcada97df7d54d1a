"""HTTP in: fetching pages politely and safely, robots.txt, sitemaps and crawling.

One job: get bytes from the web the way a well-behaved crawler does. Every request has a
timeout, a size cap and a redirect limit; robots.txt is obeyed unless asked otherwise;
one host gets one request at a time with a politeness delay between them, while different
hosts are fetched side by side (:class:`HostGate`, :meth:`Fetcher.prefetch`). The
public-URL guard (:func:`check_public_url`, pinned at connection time) keeps a server from
being turned against its own network. Turning the bytes into text is
:mod:`overclaim.inputs.decode`'s job; finding links is :mod:`overclaim.inputs.html`'s.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, NamedTuple
from urllib.parse import urlparse

from overclaim.errors import InputError
from overclaim.inputs import html
from overclaim.inputs.decode import Document, from_bytes
from overclaim.inputs.sources import is_url
from overclaim.limits import MAX_INPUT_BYTES

USER_AGENT = "overclaim/0.1 (health-claim review tool; respects robots.txt)"
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain")

#: robots.txt is read up to this many bytes (the first 500 KiB, as major crawlers do).
ROBOTS_MAX_BYTES = 512_000
#: /sitemap.xml is read up to this many bytes too; a longer one is parsed as far as it goes.
SITEMAP_MAX_BYTES = ROBOTS_MAX_BYTES

#: Answers worth asking again: the server is busy or briefly down, not the page missing.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Seconds before the first retry; each further retry waits twice as long, at most MAX_BACKOFF.
BACKOFF = 1.0
MAX_BACKOFF = 30.0

#: What fetching one page gives: its document, or why it could not be had.
Outcome = Document | InputError


class Fetched(NamedTuple):
    """A fetched body with what the response said about it."""

    body: bytes
    content_type: str
    final_url: str
    charset: str | None


# --- the public-URL guard ----------------------------------------------------------------


def checked_host(url: str) -> tuple[str, int]:
    """The host and port of an http(s) URL, refusing URLs whose host is ambiguous.

    Two parsers (the standard library's and httpx's) must agree on the host; user info
    (``user@host``), backslashes, percent-encoded or trailing-dot hosts are refused, since
    clients disagree on what such URLs name.
    """
    import httpx

    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"not an http(s) URL: {url}")
    if "@" in parts.netloc or "\\" in url or "%" in parts.netloc or parts.hostname.endswith("."):
        raise InputError(f"refusing {url}: its host is written ambiguously")
    try:
        other = httpx.URL(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except (httpx.InvalidURL, ValueError) as error:
        raise InputError(f"not a valid URL: {url} ({error})") from None
    if other.host.lower().strip("[]") != parts.hostname.lower():
        raise InputError(f"refusing {url}: URL parsers disagree on its host")
    return parts.hostname, port


def public_address(host: str, port: int) -> str:
    """Resolve ``host`` once; return an address if every address it has is public.

    A server that fetched whatever it was asked could be made to read its own loopback
    services, the private network or a cloud metadata endpoint.
    """
    import ipaddress
    import socket

    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as error:
        raise InputError(f"cannot resolve {host}: {error}") from None
    addresses = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if (address.is_private or address.is_loopback or address.is_link_local
                or address.is_reserved or address.is_multicast or address.is_unspecified
                or not address.is_global):
            raise InputError(f"refusing to fetch from {host}: it resolves to the non-public "
                             f"address {address}")
        addresses.append(address)
    if not addresses:
        raise InputError(f"cannot resolve {host}: no address")
    return str(addresses[0])


def check_public_url(url: str) -> str:
    """Raise InputError unless ``url`` is unambiguous and names only public addresses;
    return the address to connect to."""
    return public_address(*checked_host(url))


def _public_transport():
    """An httpx transport that resolves each request's host once, checks the address is
    public, and connects to that very address (Host header and TLS SNI keep the name), so
    a DNS answer that changes between check and connect (rebinding) cannot redirect it.
    Every request goes through it: robots.txt and each redirect too."""
    import httpx

    class PinnedPublic(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            host = request.url.host
            address = check_public_url(str(request.url))
            request.extensions = {**request.extensions, "sni_hostname": host}
            request.url = request.url.copy_with(host=address)
            return super().handle_request(request)

    return PinnedPublic()


# --- politeness ----------------------------------------------------------------------------


def host_of(url: str) -> str:
    """The host a request goes to, as politeness counts hosts (lower case, no port)."""
    return (urlparse(url).hostname or "").lower()


class HostGate:
    """One request at a time per host, and ``delay`` seconds from the end of one request to
    a host to the start of the next, so a crawl never hammers a clinic's server.

    ``clock`` and ``sleep`` are injectable so tests run on a fake clock.
    """

    def __init__(self, delay: float = 0.0, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.delay = delay
        self.clock = clock
        self.sleep = sleep
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    @contextlib.contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Hold ``url``'s host for one request, after waiting out the delay."""
        host = host_of(url)
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        with lock:
            last = self._last.get(host)
            wait = 0.0 if last is None else last + self.delay - self.clock()
            if wait > 0:
                self.sleep(wait)
            try:
                yield
            finally:
                self._last[host] = self.clock()


# --- fetching ------------------------------------------------------------------------------


class _Transient(Exception):
    """A failure worth trying again (timeout, connection, 429/5xx), with the error to raise
    if it keeps failing and the wait a Retry-After header asked for."""

    def __init__(self, error: InputError, retry_after: float | None = None):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header given in seconds (an HTTP date is ignored)."""
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


@dataclass(frozen=True)
class _Failed:
    """A bug in a fetch thread, carried to the consumer, who raises it."""

    error: BaseException


_END = object()


class Fetcher:
    """Polite HTTP fetching: timeouts, size cap, redirect limit, content-type check, robots.txt.

    ``public_only`` (the service's setting) fetches only from public addresses, pinned at
    connection time (see :func:`_public_transport`). ``delay`` and ``concurrency`` are the
    politeness settings of :meth:`prefetch`: seconds between requests to one host, and how
    many hosts are fetched at once. ``retries`` is how many more times a request that timed
    out, could not connect or got 429/502/503/504 is tried, waiting ``backoff`` seconds,
    then twice that, and so on (or what a Retry-After header asks, up to
    :data:`MAX_BACKOFF`).
    """

    def __init__(self, timeout: float = 15.0, max_bytes: int = MAX_INPUT_BYTES,
                 max_redirects: int = 5, respect_robots: bool = True, transport=None,
                 public_only: bool = False, delay: float = 0.0, concurrency: int = 4,
                 retries: int = 0, backoff: float = BACKOFF,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        import httpx

        if public_only:
            transport = _public_transport()
        self.max_bytes = max_bytes
        self.respect_robots = respect_robots
        self.concurrency = max(1, concurrency)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.gate = HostGate(delay, clock, sleep)
        self.client = httpx.Client(timeout=timeout, follow_redirects=True,
                                   max_redirects=max_redirects, transport=transport,
                                   headers={"User-Agent": USER_AGENT})
        self._robots: dict[str, object] = {}
        self._streams: dict[tuple[str, int], queue.SimpleQueue] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._closed = threading.Event()

    def close(self) -> None:
        """Stop background fetching (after the requests in flight) and the HTTP client."""
        self._closed.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fetch(self, url: str) -> Document:
        """The document at ``url``; InputError when it cannot be fetched or read."""
        return self._document(url, self.fetch_bytes(url))

    def _document(self, url: str, fetched: Fetched) -> Document:
        return from_bytes(fetched.body, source=url, max_bytes=self.max_bytes,
                          declared_charset=fetched.charset,
                          is_html=not fetched.content_type.startswith("text/plain"))

    def fetch_bytes(self, url: str) -> Fetched:
        """The body, content type, final URL (after redirects) and declared charset.

        Transient failures are retried with backoff (see the class); the last one is raised.
        """
        if not is_url(url):
            raise InputError(f"not an http(s) URL: {url}")
        if self.respect_robots and not self.allowed(url):
            raise InputError(f"robots.txt of {urlparse(url).netloc} disallows {url}")
        for attempt in range(self.retries + 1):
            try:
                return self._fetch_once(url)
            except _Transient as transient:
                if attempt == self.retries:
                    raise transient.error from None
                wait = transient.retry_after
                if wait is None:
                    wait = self.backoff * 2 ** attempt
                self.gate.sleep(min(wait, MAX_BACKOFF))
        raise AssertionError("unreachable")

    def _fetch_once(self, url: str) -> Fetched:
        """One request; :class:`_Transient` wraps the failures worth retrying."""
        import httpx

        try:
            with self.gate.slot(url), self.client.stream("GET", url) as response:
                if response.status_code in RETRY_STATUSES:
                    raise _Transient(InputError(f"HTTP {response.status_code} from {url}"),
                                     _retry_after(response.headers.get("retry-after")))
                if response.status_code >= 400:
                    raise InputError(f"HTTP {response.status_code} from {url}")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if content_type and not content_type.startswith(HTML_TYPES):
                    raise InputError(f"{url} is {content_type}, not an HTML or text page")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise InputError(f"{url} is {declared} bytes, over the size cap of {self.max_bytes}")
                body = self._read_capped(response, url)
                return Fetched(body, content_type or "text/html", str(response.url),
                               response.charset_encoding)
        except httpx.TooManyRedirects:
            raise InputError(f"too many redirects from {url}") from None
        except httpx.TimeoutException:
            raise _Transient(InputError(f"timed out fetching {url}")) from None
        except httpx.TransportError as error:
            raise _Transient(InputError(
                f"cannot fetch {url}: {error.__class__.__name__}: {error}")) from None
        except httpx.HTTPError as error:
            raise InputError(f"cannot fetch {url}: {error.__class__.__name__}: {error}") from None

    def _read_capped(self, response, url: str) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise InputError(f"{url} is over the size cap of {self.max_bytes} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    # --- robots.txt and sitemaps -------------------------------------------------------------

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets our user agent fetch ``url`` (a missing robots.txt allows)."""
        from urllib.robotparser import RobotFileParser

        base = _base(url)
        if base not in self._robots:
            parser = RobotFileParser()
            try:
                lines = self._robots_lines(base)
            except InputError:
                raise
            except Exception:  # an unreachable robots.txt is treated as absent
                lines = []
            parser.parse(lines)
            self._robots[base] = parser
        return self._robots[base].can_fetch(USER_AGENT, url)  # type: ignore[attr-defined]

    def _robots_lines(self, base: str) -> list[str]:
        """robots.txt's lines, reading at most :data:`ROBOTS_MAX_BYTES` of it."""
        data = self._head_of(base + "/robots.txt", ROBOTS_MAX_BYTES)
        return [] if data is None else data.decode("utf-8", errors="replace").splitlines()

    def _head_of(self, url: str, cap: int) -> bytes | None:
        """At most ``cap`` bytes of ``url``'s body; None unless it answers 200."""
        with self.gate.slot(url), self.client.stream("GET", url) as response:
            if response.status_code != 200:
                return None
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk[: cap - len(data)]
                if len(data) >= cap:
                    break
        return bytes(data)

    def sitemap_urls(self, start: str) -> list[str]:
        """Page URLs listed in the ``/sitemap.xml`` of ``start``'s site ([] when it has none).

        A sitemap is a hint: one that is missing, disallowed, unreachable or malformed
        adds nothing and is not reported.
        """
        import httpx

        url = _base(start) + "/sitemap.xml"
        try:
            if self.respect_robots and not self.allowed(url):
                return []
            data = self._head_of(url, SITEMAP_MAX_BYTES)
        except (InputError, httpx.HTTPError):
            return []
        if data is None:
            return []
        found = sitemap_locations(data)
        return found[:-1] if len(data) >= SITEMAP_MAX_BYTES else found  # the last may be cut

    # --- crawling ------------------------------------------------------------------------

    def crawl(self, start: str, limit: int) -> Iterator[tuple[str, Outcome]]:
        """Breadth-first over same-site links from ``start``, up to ``limit`` pages.

        The first item is always ``start``'s own; the start page's links come next, then
        the same-site pages of the site's sitemap. A page that cannot be had is yielded
        with its error (callers decide what a dead link found on the way means).
        """
        site = urlparse(start).netloc
        waiting, seen = deque([start]), {start}
        done = 0
        while waiting and done < limit:
            url = waiting.popleft()
            done += 1
            try:
                fetched = self.fetch_bytes(url)
                document = self._document(url, fetched)
            except InputError as error:
                yield url, error
                continue
            yield url, document
            plain = fetched.content_type.startswith("text/plain")
            found = [] if plain else html.links(fetched.body, fetched.final_url)
            if done == 1 and limit > 1:
                found += self.sitemap_urls(start)
            for target in found:
                if target not in seen and urlparse(target).netloc == site and is_url(target):
                    seen.add(target)
                    waiting.append(target)

    def outcomes(self, url: str, crawl: int = 0) -> Iterator[tuple[str, Outcome]]:
        """``url``'s page (or, with ``crawl``, the pages of its crawl), each with its outcome."""
        if crawl > 0:
            yield from self.crawl(url, crawl)
            return
        try:
            yield url, self.fetch(url)
        except InputError as error:
            yield url, error

    # --- fetching many start URLs side by side -----------------------------------------------

    def prefetch(self, starts: Iterable[str], crawl: int = 0) -> None:
        """Start fetching ``starts`` (with ``crawl``) in background threads.

        Start URLs are grouped by host into lanes; a lane fetches its URLs one after the
        other (one request at a time per host), and up to ``concurrency`` lanes run at
        once. :meth:`pages` hands each start URL's outcomes back, so results keep the
        input order whatever order the threads finish in.
        """
        lanes: dict[str, list[tuple[str, queue.SimpleQueue]]] = {}
        for url in starts:
            if (url, crawl) in self._streams:
                continue
            stream: queue.SimpleQueue = queue.SimpleQueue()
            self._streams[(url, crawl)] = stream
            lanes.setdefault(host_of(url), []).append((url, stream))
        if not lanes:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency,
                                            thread_name_prefix="overclaim-fetch")
        for lane in lanes.values():
            self._pool.submit(self._run_lane, lane, crawl)

    def pages(self, url: str, crawl: int = 0) -> Iterator[tuple[str, Outcome]]:
        """``url``'s outcomes (see :meth:`outcomes`): from :meth:`prefetch` if it was given
        ``url``, else fetched now."""
        stream = self._streams.pop((url, crawl), None)
        if stream is None:
            yield from self.outcomes(url, crawl)
            return
        while (item := stream.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item

    def _run_lane(self, lane: list[tuple[str, queue.SimpleQueue]], crawl: int) -> None:
        for url, stream in lane:
            try:
                for item in () if self._closed.is_set() else self.outcomes(url, crawl):
                    stream.put(item)
                    if self._closed.is_set():
                        break
            except Exception as error:  # a bug: hand it to the consumer to raise
                stream.put(_Failed(error))
            finally:
                stream.put(_END)


def sitemap_locations(data: bytes) -> list[str]:
    """The ``<url><loc>`` entries of a sitemap, in order (a sitemap index lists none).

    Parsed without entity expansion, DTDs or network access (a sitemap is untrusted
    input), and leniently, so a document cut at the size cap still gives its first entries.
    """
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             recover=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return []
    if root is None:
        return []
    found = []
    for entry in root.iter("{*}url"):
        for loc in entry.iterchildren("{*}loc"):
            text = (loc.text or "").strip()
            if text:
                found.append(text)
    return found


def _base(url: str) -> str:
    parts = urlparse(url)
    return f"{parts.scheme}://{parts.netloc}"
