"""Bytes -> text: the one place that decides what a run of bytes says.

Encodings are detected (BOM, declared charset, UTF-8, then charset-normalizer), never
assumed; binary data, empty input and text in another language are refused with an
:class:`~overclaim.errors.InputError`. HTML is recognised here and handed to
:mod:`overclaim.inputs.html` for its main text. Every limit is applied before the
expensive work. Files and the network are other modules' jobs (``sources``, ``fetch``),
so this one can be used on bytes from anywhere.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from overclaim.errors import InputError
from overclaim.inputs.html import html_to_text
from overclaim.limits import MAX_INPUT_BYTES

_HTML_HINT = re.compile(rb"<(?:!doctype\s+html|html|head|body|div|p|h[1-6]|article|section|ul|li|span|br)\b",
                        re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset=["']?([A-Za-z0-9_\-:.]{1,40})""", re.IGNORECASE)


@dataclass(frozen=True)
class Document:
    """Text ready to segment, with where it came from and a hash of the raw input."""

    source: str
    text: str
    sha256: str
    title: str | None = None
    content_type: str = "text/plain"


def from_bytes(raw: bytes, source: str = "<bytes>", max_bytes: int = MAX_INPUT_BYTES,
               declared_charset: str | None = None, is_html: bool | None = None) -> Document:
    """Decode, detect HTML, extract the main text; raise InputError on unusable input."""
    _check_raw(raw, max_bytes)
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
    _check_raw(raw, max_bytes)
    html = bool(_HTML_HINT.search(raw[:8192])) if is_html is None else is_html
    return _document(raw.decode("utf-8"), source, hashlib.sha256(raw).hexdigest(), html)


def _check_raw(raw: bytes, max_bytes: int) -> None:
    """Refuse, before any decoding work, input over the cap, empty, or binary."""
    if len(raw) > max_bytes:
        raise InputError(f"{len(raw)} bytes, over the size cap of {max_bytes}")
    if not raw.strip():
        raise InputError("empty input")
    if _looks_binary(raw):
        raise InputError("binary data, not text or HTML")


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


#: Control characters other than tab and newline (one character class: linear time).
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f]")
#: Characters past the Latin scripts (IPA extensions onwards).
_NOT_LATIN = re.compile("[^\x00-\u024f]")


def _clean(text: str) -> str:
    """Normalise line ends and drop control characters (keeping tabs and newlines)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


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
    letters = sum(map(str.isalpha, sample))
    latin_letters = sum(map(str.isalpha, _NOT_LATIN.sub("", sample)))
    if latin_letters < 0.5 * letters:
        return False
    english = sum(w in _ENGLISH for w in words)
    other = sum(w in _OTHER_LANGUAGES for w in words)
    return other <= english or other < 0.05 * len(words)
