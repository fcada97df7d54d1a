"""Inputs to text: files, folders, URLs and raw bytes -> the main text of a page.

HTML main text comes from trafilatura (boilerplate removal is a research problem it
has solved better than we would), as Markdown so headings and list items stay on
lines of their own; the Markdown heading marks are then dropped. When trafilatura
returns too little, a plain block-level walk of the HTML (without navigation,
headers, footers, forms, scripts and cookie banners) takes over.

Encodings are detected (BOM, declared charset, UTF-8, then charset-normalizer),
never assumed. Every limit is applied before the expensive work.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from urllib.parse import urljoin, urlparse

from overclaim.errors import InputError
from overclaim.limits import MAX_INPUT_BYTES

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
USER_AGENT = "overclaim/0.1 (health-claim review tool; respects robots.txt)"
HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
_HTML_HINT = re.compile(rb"<(?:!doctype\s+html|html|head|body|div|p|h[1-6]|article|section|ul|li|span|br)\b",
                        re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset=["']?([A-Za-z0-9_\-:.]{1,40})""", re.IGNORECASE)
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
_BOILERPLATE_HINT = re.compile(r"cookie|consent|banner|menu|nav|footer|header|sidebar|breadcrumb|newsletter|share|social|popup|modal",
                               re.IGNORECASE)
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "li", "h1", "h2", "h3", "h4", "h5", "h6",
               "blockquote", "td", "th", "tr", "dd", "dt", "figcaption", "br", "pre", "address"}
_DROP_TAGS = {"script", "style", "noscript", "nav", "footer", "header", "form", "aside", "svg",
              "iframe", "template", "button", "select", "option"}


@dataclass(frozen=True)
class Document:
    """Text ready to segment, with where it came from and a hash of the raw input."""

    source: str
    text: str
    sha256: str
    title: str | None = None
    content_type: str = "text/plain"


# --- bytes -> text -------------------------------------------------------------------


def from_bytes(raw: bytes, source: str = "<bytes>", max_bytes: int = MAX_INPUT_BYTES,
               declared_charset: str | None = None, is_html: bool | None = None) -> Document:
    """Decode, detect HTML, extract the main text; raise InputError on unusable input."""
    if len(raw) > max_bytes:
        raise InputError(f"{len(raw)} bytes, over the size cap of {max_bytes}")
    if not raw.strip():
        raise InputError("empty input")
    if _looks_binary(raw):
        raise InputError("binary data, not text or HTML")
    if raw.startswith(_BOMS):  # the mark says how to decode; look for HTML in the text
        text = decode(raw)
        html = bool(_HTML_HINT.search(text[:8192].encode("utf-8"))) if is_html is None else is_html
    else:
        html = bool(_HTML_HINT.search(raw[:8192])) if is_html is None else is_html
        text = decode(raw, declared_charset or (_declared_in_html(raw) if html else None))
    if not text.strip():
        raise InputError("empty input")
    return _document(text, source, hashlib.sha256(raw).hexdigest(), html)


def from_text(text: str, source: str = "<text>", max_bytes: int = MAX_INPUT_BYTES,
              is_html: bool | None = None) -> Document:
    """Like :func:`from_bytes` for text already decoded (lone surrogates become "?").

    The cap counts the text's UTF-8 bytes, as for files and URLs.
    """
    if len(text) > max_bytes:  # a character is at least one byte: refuse before encoding
        raise InputError(f"{len(text)} characters, over the size cap of {max_bytes} bytes")
    raw = text.encode("utf-8", errors="replace")
    if len(raw) > max_bytes:
        raise InputError(f"{len(raw)} bytes, over the size cap of {max_bytes}")
    if not raw.strip():
        raise InputError("empty input")
    if _looks_binary(raw):
        raise InputError("binary data, not text or HTML")
    html = bool(_HTML_HINT.search(raw[:8192])) if is_html is None else is_html
    return _document(raw.decode("utf-8"), source, hashlib.sha256(raw).hexdigest(), html)


def _document(text: str, source: str, digest: str, html: bool) -> Document:
    title = None
    if html:
        text, title = html_to_text(text)
    text = _clean(text)
    if not text.strip():
        raise InputError("no readable text found")
    if not looks_english(text):
        raise InputError("the text does not look like English; overclaim reads English only")
    return Document(source=source, text=text, sha256=digest, title=title,
                    content_type="text/html" if html else "text/plain")


def decode(raw: bytes, declared: str | None = None) -> str:
    """BOM first, then the declared charset, then strict UTF-8, then a detector's guess."""
    for bom, codec in _BOM_CODECS:
        if raw.startswith(bom):
            return raw[len(bom):].decode(codec, errors="replace")
    if declared:
        try:
            return raw.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes as detect

    best = detect(raw[:200_000]).best()
    if best is None or best.encoding is None:
        raise InputError("cannot tell the text encoding (not UTF-8 and no charset detected)")
    return raw.decode(best.encoding, errors="replace")


#: Byte-order marks and their codecs; UTF-32's come first, as UTF-32-LE's starts like UTF-16-LE's.
_BOM_CODECS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
               (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
_BOMS = tuple(bom for bom, _ in _BOM_CODECS)


def _declared_in_html(raw: bytes) -> str | None:
    match = _META_CHARSET.search(raw[:4096])
    return match.group(1).decode("ascii") if match else None


def _looks_binary(raw: bytes) -> bool:
    """Control bytes where text has none; text with a byte-order mark is text by declaration."""
    if raw.startswith(_BOMS):
        return False
    head = raw[:8192]
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls > len(head) * 0.1


def _clean(text: str) -> str:
    """Normalise line ends and drop control characters (keeping tabs and newlines)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch >= " " or ch in "\n\t")


_ENGLISH = {"the", "and", "of", "to", "a", "in", "is", "for", "that", "with", "are", "on",
            "your", "you", "it", "this", "be", "or", "as", "can", "not", "by", "from", "we",
            "our", "at", "have", "was", "an", "may", "no", "more", "their", "has", "will"}


#: Common function words of the languages clinic pages are most often written in besides
#: English; words that are also English ("die", "per", "non", "et", "van", ...) are left out.
_OTHER_LANGUAGES = {
    "el", "los", "las", "del", "que", "por", "con", "una", "es", "y", "su", "sus", "como",
    "más", "le", "les", "des", "du", "est", "une", "pour", "avec", "dans", "sur", "qui",
    "pas", "au", "aux", "ce", "cette", "der", "und", "das", "ist", "nicht", "mit", "ein",
    "eine", "für", "auf", "dem", "zu", "sich", "von", "il", "di", "che", "della", "sono",
    "gli", "não", "uma", "com", "dos", "das", "het", "een", "niet", "voor", "zijn", "en",
}


def looks_english(text: str) -> bool:
    """False only for text of some length that is written in another language.

    Other writing systems are told by their letters; other Latin-script languages by their
    commonest function words outnumbering English's. Terse English ad copy ("Proven
    results. Zero downtime.") has few function words of either kind and passes.
    """
    sample = text[:20000]
    words = re.findall(r"[^\W\d_]+", sample.lower())
    if len(words) < 25:
        return True
    letters = [ch for ch in sample if ch.isalpha()]
    if sum(ch < "\u0250" for ch in letters) < 0.5 * len(letters):
        return False
    english = sum(w in _ENGLISH for w in words)
    other = sum(w in _OTHER_LANGUAGES for w in words)
    return other <= english or other < 0.05 * len(words)


# --- HTML -> text --------------------------------------------------------------------


def html_to_text(html: str) -> tuple[str, str | None]:
    """Main text of an HTML page (headings and list items on their own lines) and its title."""
    import trafilatura

    extracted = trafilatura.extract(html, output_format="markdown", favor_recall=True,
                                    include_comments=False, include_tables=True,
                                    include_links=False, include_images=False) or ""
    extracted = _MD_HEADING.sub("", extracted)
    fallback = _block_text(html)
    if len(extracted.strip()) < min(200, 0.5 * len(fallback.strip())):
        extracted = fallback
    title = None
    try:
        metadata = trafilatura.extract_metadata(html)
        title = metadata.title if metadata else None
    except Exception:  # metadata is a nicety; a page without it is still scored
        title = None
    return extracted, title


def _block_text(html: str) -> str:
    """Visible text, one block element per line, without chrome (the fallback)."""
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except Exception:  # lxml raises several types on broken markup
        return re.sub(r"<[^>]{0,2000}>", " ", html)
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = " ".join("".join(current).split())
        if line:
            lines.append(line)
        current.clear()

    stack = [(root, False)]
    while stack:
        node, closing = stack.pop()
        tag = node.tag if isinstance(node.tag, str) else ""
        if closing:
            if tag in _BLOCK_TAGS:
                flush()
            if node.tail:
                current.append(node.tail)
            continue
        if tag in _DROP_TAGS or _BOILERPLATE_HINT.search(
                f"{node.get('id', '')} {node.get('class', '')} {node.get('role', '')}"):
            if node.tail:
                current.append(node.tail)
            continue
        if tag in _BLOCK_TAGS:
            flush()
            if tag == "li":
                current.append("- ")
        if node.text and tag:
            current.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node)))
    flush()
    return "\n".join(lines)


# --- files and URLs ------------------------------------------------------------------


def from_path(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> Document:
    """Read a local file, refusing missing, non-regular and over-large files before reading."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"broken link: {path}" if path.is_symlink() else f"no such file: {path}")
    if not path.is_file():
        raise InputError(f"not a regular file: {path}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{size} bytes, over the size cap of {max_bytes}")
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    suffix = path.suffix.lower()
    is_html = True if suffix in HTML_SUFFIXES else (False if suffix in TEXT_SUFFIXES else None)
    return from_bytes(raw, source=str(path), max_bytes=max_bytes, is_html=is_html)


def iter_files(folder: Path) -> Iterator[tuple[Path, str | None]]:
    """Pages under a folder, recursively (.html, .htm, .txt, .md), in sorted order.

    Yields ``(path, None)`` for each page, and ``(path, reason)`` for what cannot be read
    (an unreadable subfolder, a broken link, a FIFO or other special file with a page
    suffix), so that a scan reports what it skipped. Hidden files and other suffixes are
    not pages and are passed over.
    """
    wanted = HTML_SUFFIXES | TEXT_SUFFIXES
    problems: list[tuple[Path, str]] = []

    def unreadable(error: OSError) -> None:
        problems.append((Path(error.filename), f"cannot read folder: {error.strerror or error}"))

    found: list[tuple[Path, str | None]] = []
    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs.sort()
        for name in files:
            path = Path(root) / name
            if name.startswith(".") or path.suffix.lower() not in wanted:
                continue
            if not path.exists():
                found.append((path, "broken link"))
            elif not path.is_file():
                found.append((path, "not a regular file"))
            else:
                found.append((path, None))
    yield from sorted(found + problems, key=lambda item: str(item[0]))


def is_url(value: str) -> bool:
    return urlparse(value).scheme in ("http", "https")


# --- the public-URL guard ----------------------------------------------------------------

#: robots.txt is read up to this many bytes (the first 500 KiB, as major crawlers do).
ROBOTS_MAX_BYTES = 512_000


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


class Fetcher:
    """Polite HTTP fetching: timeouts, size cap, redirect limit, content-type check, robots.txt.

    ``public_only`` (the service's setting) fetches only from public addresses, pinned at
    connection time (see :func:`_public_transport`).
    """

    def __init__(self, timeout: float = 15.0, max_bytes: int = MAX_INPUT_BYTES,
                 max_redirects: int = 5, respect_robots: bool = True, transport=None,
                 public_only: bool = False):
        import httpx

        if public_only:
            transport = _public_transport()
        self.max_bytes = max_bytes
        self.respect_robots = respect_robots
        self.client = httpx.Client(timeout=timeout, follow_redirects=True,
                                   max_redirects=max_redirects, transport=transport,
                                   headers={"User-Agent": USER_AGENT})
        self._robots: dict[str, object] = {}

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Fetcher":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def fetch(self, url: str) -> Document:
        raw, content_type, final_url, charset = self.fetch_bytes(url)
        return from_bytes(raw, source=url, max_bytes=self.max_bytes, declared_charset=charset,
                          is_html=not content_type.startswith("text/plain"))

    def fetch_bytes(self, url: str) -> tuple[bytes, str, str, str | None]:
        import httpx

        if not is_url(url):
            raise InputError(f"not an http(s) URL: {url}")
        if self.respect_robots and not self.allowed(url):
            raise InputError(f"robots.txt of {urlparse(url).netloc} disallows {url}")
        try:
            with self.client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise InputError(f"HTTP {response.status_code} from {url}")
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                if content_type and not content_type.startswith(HTML_TYPES):
                    raise InputError(f"{url} is {content_type}, not an HTML or text page")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise InputError(f"{url} is {declared} bytes, over the size cap of {self.max_bytes}")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise InputError(f"{url} is over the size cap of {self.max_bytes} bytes")
                    chunks.append(chunk)
                return (b"".join(chunks), content_type or "text/html", str(response.url),
                        response.charset_encoding)
        except httpx.TooManyRedirects:
            raise InputError(f"too many redirects from {url}") from None
        except httpx.TimeoutException:
            raise InputError(f"timed out fetching {url}") from None
        except httpx.HTTPError as error:
            raise InputError(f"cannot fetch {url}: {error.__class__.__name__}: {error}") from None

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets our user agent fetch ``url`` (a missing robots.txt allows)."""
        from urllib.robotparser import RobotFileParser

        parts = urlparse(url)
        base = f"{parts.scheme}://{parts.netloc}"
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
        with self.client.stream("GET", base + "/robots.txt") as response:
            if response.status_code != 200:
                return []
            data = bytearray()
            for chunk in response.iter_bytes():
                data += chunk[: ROBOTS_MAX_BYTES - len(data)]
                if len(data) >= ROBOTS_MAX_BYTES:
                    break
        return bytes(data).decode("utf-8", errors="replace").splitlines()

    def crawl(self, start: str, limit: int) -> Iterator[tuple[str, Document | InputError]]:
        """Breadth-first over same-site links from ``start``, up to ``limit`` pages."""
        import lxml.html

        site = urlparse(start).netloc
        queue, seen = [start], {start}
        done = 0
        while queue and done < limit:
            url = queue.pop(0)
            done += 1
            try:
                raw, content_type, final_url, charset = self.fetch_bytes(url)
                document = from_bytes(raw, source=url, max_bytes=self.max_bytes,
                                      declared_charset=charset,
                                      is_html=not content_type.startswith("text/plain"))
            except InputError as error:
                yield url, error
                continue
            yield url, document
            if content_type.startswith("text/plain"):
                continue
            try:
                links = lxml.html.fromstring(raw).xpath("//a/@href")
            except Exception:  # unparsable page: nothing to follow
                links = []
            for href in links:
                target = urljoin(final_url, str(href)).split("#")[0]
                if urlparse(target).netloc == site and is_url(target) and target not in seen:
                    seen.add(target)
                    queue.append(target)
