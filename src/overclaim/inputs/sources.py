"""What the user named -> the inputs to read: files, folders, URL lists and URL arguments.

One job: turn command-line inputs and ``--urls`` files into a flat list of sources (paths,
URLs, ``-``) and read local files, so that every rule about *which* inputs a scan covers
lives in one place: the page suffixes (:data:`PAGE_SUFFIXES`, the one list the folder walk,
the file reader and the messages use), comment and blank lines of URL lists, and when a
scheme-less argument is a web address. Decoding is :mod:`overclaim.inputs.decode`'s job and
the network is :mod:`overclaim.inputs.fetch`'s; nothing here opens a connection.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

from overclaim.errors import InputError
from overclaim.inputs.decode import Document, from_bytes
from overclaim.limits import MAX_INPUT_BYTES

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
#: Every suffix a folder walk picks up as a page.
PAGE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES

#: A source to scan (a path, a URL or "-"), or a (source, error) pair for one that cannot be.
Source = str | tuple[str, str]

#: File suffixes that are also letter-only "top-level domains": a missing ``notes.md`` or
#: ``page.html`` is a missing file, not a web site.
_FILE_SUFFIXES = frozenset(s.lstrip(".") for s in PAGE_SUFFIXES) | frozenset({
    "pdf", "csv", "tsv", "json", "jsonl", "xml", "doc", "docx", "rtf", "odt", "py", "sh",
    "js", "css", "log", "yml", "yaml", "toml", "ini", "cfg", "gz", "zip", "tar", "png",
    "jpg", "jpeg", "gif", "svg", "webp", "bak", "tmp", "old"})


# --- local files ---------------------------------------------------------------------


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
    return from_bytes(raw, source=str(path), max_bytes=max_bytes, is_html=html_by_suffix(path))


def html_by_suffix(path: Path) -> bool | None:
    """True for an HTML suffix, False for a text one, None (sniff the bytes) otherwise."""
    suffix = Path(path).suffix.lower()
    return True if suffix in HTML_SUFFIXES else (False if suffix in TEXT_SUFFIXES else None)


def html_main_text(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> str | None:
    """The extracted main text of an HTML file; None for a text file (its bytes are its text).

    What is cut into units to label must be what a scan scores: the page's main text, not
    its markup. An HTML suffix says HTML; an unknown suffix is decided by the bytes.
    """
    if html_by_suffix(path) is False:
        return None
    document = from_path(path, max_bytes)
    return document.text if document.content_type == "text/html" else None


def iter_files(folder: Path) -> Iterator[tuple[Path, str | None]]:
    """Pages under a folder, recursively (:data:`PAGE_SUFFIXES`), in sorted order.

    Yields ``(path, None)`` for each page, and ``(path, reason)`` for what cannot be read
    (an unreadable subfolder, a broken link, a FIFO or other special file with a page
    suffix), so that a scan reports what it skipped. Hidden files and other suffixes are
    not pages and are passed over.
    """
    problems: list[tuple[Path, str]] = []

    def unreadable(error: OSError) -> None:
        problems.append((Path(error.filename), f"cannot read folder: {error.strerror or error}"))

    found: list[tuple[Path, str | None]] = []
    for root, dirs, files in os.walk(folder, onerror=unreadable):
        dirs.sort()
        for name in files:
            path = Path(root) / name
            if name.startswith(".") or path.suffix.lower() not in PAGE_SUFFIXES:
                continue
            if not path.exists():
                found.append((path, "broken link"))
            elif not path.is_file():
                found.append((path, "not a regular file"))
            else:
                found.append((path, None))
    yield from sorted(found + problems, key=lambda item: str(item[0]))


# --- URLs ----------------------------------------------------------------------------


def is_url(value: str) -> bool:
    """Whether ``value`` is an http(s) URL (with its scheme written out)."""
    return urlparse(value).scheme in ("http", "https")


def looks_like_host(value: str) -> bool:
    """Whether a scheme-less argument starts with a plausible host name.

    ``clinic.example/stem-cells`` and ``www.clinic.example`` do: dotted labels of letters,
    digits and hyphens, an optional port, no spaces, and a last label of letters that is
    not a file suffix (so a missing ``notes.md`` stays a missing file).
    """
    if not value or "://" in value or "\\" in value or any(ch.isspace() for ch in value):
        return False
    host = value.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    name, _, port = host.partition(":")
    if port and not port.isdigit():
        return False
    labels = name.lower().split(".")
    return len(labels) >= 2 and all(map(_is_label, labels)) and _plausible_tld(labels[-1])


def _is_label(label: str) -> bool:
    return (0 < len(label) <= 63 and not label.startswith("-") and not label.endswith("-")
            and all(ch.isalnum() or ch == "-" for ch in label))


def _plausible_tld(label: str) -> bool:
    if label.startswith("xn--"):
        return len(label) > 4
    return label.isalpha() and 2 <= len(label) <= 63 and label not in _FILE_SUFFIXES


def url_entry(line: str) -> str | None:
    """The URL on one line of a URL list; None for a blank or ``#`` comment line.

    A trailing comment after whitespace is dropped, and an entry written without a scheme
    gets ``https://`` (in a URL list every entry is a URL).
    """
    text = _without_comment(line.strip())
    if not text:
        return None
    if text.startswith("//"):
        return "https:" + text
    return text if "://" in text else "https://" + text


def _without_comment(text: str) -> str:
    """``text`` up to a ``#`` that starts it or follows whitespace (a URL's own ``#`` stays)."""
    at = text.find("#")
    while at > 0 and not text[at - 1].isspace():
        at = text.find("#", at + 1)
    return text if at < 0 else text[:at].rstrip()


def read_url_list(path: Path) -> list[Source]:
    """The URLs of a ``--urls`` file; an unreadable file or a non-http entry is an error pair."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as error:
        return [(str(path), f"cannot read URL list: {error.strerror}")]
    sources: list[Source] = []
    for entry in filter(None, map(url_entry, lines)):
        sources.append(entry if is_url(entry) else (entry, "not an http(s) URL"))
    return sources


# --- the plan of a scan ------------------------------------------------------------------


def plan(inputs: list[str], urls_file: Path | None = None) -> list[Source]:
    """Expand inputs into a list of sources (paths, URLs, "-") or (source, error) pairs.

    The URL list comes first, then each input in order; folders expand to their pages in
    sorted order, and a scheme-less argument that is no existing path but looks like a host
    name (:func:`looks_like_host`) is read as an https URL.
    """
    sources: list[Source] = []
    if urls_file is not None:
        sources.extend(read_url_list(urls_file))
    for item in inputs:
        sources.extend(_expand(item))
    return sources


def _expand(item: str) -> list[Source]:
    if item == "-" or is_url(item):
        return [item]
    if Path(item).is_dir():
        found: list[Source] = [str(p) if reason is None else (str(p), reason)
                               for p, reason in iter_files(Path(item))]
        names = ", ".join(sorted(PAGE_SUFFIXES))
        return found or [(item, f"folder holds no page files ({names})")]
    if not os.path.lexists(item) and looks_like_host(item):
        return ["https://" + item]
    return [item]
