"""Cut text into units: sentences, bullet items and headings, with character offsets.

The corpus and the scorer share this segmenter, so that what the model was trained
on is cut exactly like what it scores. It uses spaCy's blank English tokenizer's rules
(:mod:`overclaim.text.tokenizer`, without importing spaCy) for abbreviations and
decimals, and a few rules on top:

1. Lines are grouped into blocks. A bullet marker or a blank line starts a new
   block; a line that ends without punctuation and is followed by a line starting
   in lower case is joined to it (hard-wrapped text).
2. A short block without final punctuation is a heading.
3. Inside a block, a sentence ends at ``.``, ``!``, ``?`` or an ellipsis, taking
   along closing quotes, brackets and citation markers ("[1]", "1, 2"), when the
   next token starts a new sentence (a capital, a digit, an opening quote).

Every unit satisfies ``text == document[start:end]``; bullet markers and
surrounding whitespace are left out of the unit, and stretches with no letter or digit
(rules like "###", runs of punctuation) are not units at all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Literal

from overclaim.limits import MAX_UNIT_CHARS
from overclaim.text.tokenizer import english

UnitKind = Literal["sentence", "bullet", "heading"]

#: A line with at most this many words and no final punctuation is a heading.
HEADING_MAX_WORDS = 14

_BULLET = re.compile(
    r"[ \t\u00a0]*(?:[-*+•·▪◦‣●○■□►▶✓✔➤→–—|>]|\(?\d{1,2}[.)]|\(?[a-z]\))[ \t\u00a0]+"
)
_LINE = re.compile(r"[^\n]*\n?")
_FINAL_PUNCT = re.compile(r"[.!?…:;]['\"”’)\]]*\s*(?:\[?\d{1,3}\]?(?:,\s*\d{1,3})*)?$")
#: How much of a block's end :data:`_FINAL_PUNCT` looks at (bounds its cost per call).
_TAIL = 64
_SENTENCE_END = re.compile(r"[.!?…]+|\.\.\.")
_CITATION_NUMBER = re.compile(r"\d{1,3}")
_HAS_WORD = re.compile(r"[^\W_]")
_WORDS = re.compile(r"[a-z0-9%]+")
_CLOSERS = {'"', "”", "’", "'", ")", "]", "»"}
_OPENERS = {'"', "“", "‘", "'", "(", "[", "«", "¿", "¡"}
# Words that end in a period without ending the sentence ("et al.", "approx. 5").
_NEVER_FINAL = {"al", "approx", "fig", "figs", "cf", "ca", "vol", "pp", "ref", "refs", "eq", "no",
                "nos", "vs", "dept", "est", "incl", "min", "max", "mg", "ml", "sq", "ft", "st"}


@dataclass(frozen=True, slots=True)
class Unit:
    """One unit of text a reader sees as a whole: a sentence, a bullet item or a heading."""

    start: int
    end: int
    text: str
    kind: UnitKind


def normalise(text: str) -> str:
    """Lower-case words and numbers only: how units are compared for repeats and duplicates."""
    return " ".join(_WORDS.findall(text.lower()))


def segment(text: str) -> list[Unit]:
    """Split ``text`` into units with offsets into ``text``."""
    units: list[Unit] = []
    for start, end, is_bullet in _blocks(text):
        units.extend(_split_block(text, start, end, is_bullet))
    return units


def _blocks(text: str) -> Iterator[tuple[int, int, bool]]:
    """Yield (start, end, is_bullet) for each block of non-blank lines."""
    current: list[int] | None = None  # [start, end, is_bullet]
    pos = 0
    for match in _LINE.finditer(text):
        line = match.group()
        if not line:
            break
        line_start = pos
        pos += len(line)
        content = line.rstrip("\r\n")
        stripped = content.strip()
        if not stripped:
            if current:
                yield current[0], current[1], bool(current[2])
            current = None
            continue
        bullet = _BULLET.match(content)
        if bullet and bullet.end() < len(content):
            if current:
                yield current[0], current[1], bool(current[2])
            current = [line_start + bullet.end(), line_start + len(content.rstrip()), 1]
            continue
        lead = len(content) - len(content.lstrip())
        if current and _continues(text, current[0], current[1], stripped):
            current[1] = line_start + len(content.rstrip())
            continue
        if current:
            yield current[0], current[1], bool(current[2])
        current = [line_start + lead, line_start + len(content.rstrip()), 0]
    if current:
        yield current[0], current[1], bool(current[2])


def _ends_sentence(text: str, start: int, end: int) -> bool:
    """Does ``text[start:end]`` end in final punctuation (with closers and citations)?

    Only a short tail is examined, and trailing whitespace is dropped first: the
    pattern is anchored at the end, and searching a whole block for every line, or a
    long run of spaces, would cost quadratic time on hostile input.
    """
    while end > start and text[end - 1].isspace():
        end -= 1
    return bool(_FINAL_PUNCT.search(text, max(start, end - _TAIL), end))


def _continues(text: str, start: int, end: int, line: str) -> bool:
    """Is ``line`` the wrapped continuation of the block ``text[start:end]``?"""
    return line[:1].islower() and not _ends_sentence(text, start, end)


def _split_block(text: str, start: int, end: int, is_bullet: bool) -> list[Unit]:
    chunk = text[start:end]
    if not chunk.strip():
        return []
    if not is_bullet and _looks_like_heading(chunk):
        return _units(text, [(start, end)], "heading")
    spans = [(start + a, start + b) for a, b in _sentence_spans(chunk)]
    return _units(text, spans, "bullet" if is_bullet else "sentence")


def _looks_like_heading(chunk: str) -> bool:
    return (
        "\n" not in chunk
        and len(chunk.split(None, HEADING_MAX_WORDS + 1)) <= HEADING_MAX_WORDS
        and not _SENTENCE_END.search(chunk[-1:])
        and not _ends_sentence(chunk, 0, len(chunk))
    )


def _units(text: str, spans: list[tuple[int, int]], kind: UnitKind) -> list[Unit]:
    """Units of the spans, trimmed; a span without a letter or digit says nothing and is dropped."""
    units = []
    for a, b in spans:
        for c, d in _cap_length(text, a, b):
            c, d = _trim(text, c, d)
            if d > c and _HAS_WORD.search(text, c, d):
                units.append(Unit(c, d, text[c:d], kind))
    return units


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return a, b


def _cap_length(text: str, a: int, b: int) -> Iterator[tuple[int, int]]:
    """Cut an over-long span at the last whitespace before the cap (or hard at the cap)."""
    while b - a > MAX_UNIT_CHARS:
        cut = text.rfind(" ", a + MAX_UNIT_CHARS // 2, a + MAX_UNIT_CHARS)
        cut = cut if cut > a else a + MAX_UNIT_CHARS
        yield a, cut
        a = cut
    yield a, b


def _sentence_spans(chunk: str) -> list[tuple[int, int]]:
    """Sentence spans (relative to ``chunk``) found on (spaCy's English) tokens."""
    if len(chunk) > 4 * MAX_UNIT_CHARS:
        # Tokenise long blocks piece by piece so that cost stays linear in the input.
        spans = []
        for a, b in _cap_length(chunk, 0, len(chunk)):
            spans.extend((a + c, a + d) for c, d in _sentence_spans(chunk[a:b]))
        return spans
    tokens = english()(chunk)
    n = len(tokens)
    spans = []
    sent_start = 0
    i = 0
    while i < n:
        if not _is_end(tokens, i):
            i += 1
            continue
        j = i + 1
        while j < n and _SENTENCE_END.fullmatch(tokens[j].text):
            j += 1
        j = _absorb_trailers(tokens, j)
        if j >= n:
            break
        if _starts_sentence(tokens, j):
            end = tokens[j - 1].idx + len(tokens[j - 1].text)
            spans.append((sent_start, end))
            sent_start = tokens[j].idx
        i = j
    spans.append((sent_start, len(chunk)))
    return spans


def _is_end(tokens, i: int) -> bool:
    text = tokens[i].text
    if not _SENTENCE_END.fullmatch(text):
        return False
    if text == "." and i > 0:
        previous = tokens[i - 1]
        glued = previous.idx + len(previous.text) == tokens[i].idx
        if glued and previous.text.lower() in _NEVER_FINAL:
            return False
    return True


def _absorb_trailers(tokens, j: int) -> int:
    """Move past closing quotes/brackets and citation markers that belong to the sentence."""
    n = len(tokens)
    while j < n:
        text = tokens[j].text
        if text in _CLOSERS and (text not in _OPENERS or _glued(tokens, j)):
            j += 1
        elif text == "[" and j + 2 < n and _CITATION_NUMBER.fullmatch(tokens[j + 1].text) \
                and tokens[j + 2].text == "]":
            j += 3
        elif _CITATION_NUMBER.fullmatch(text) and _is_trailing_citation(tokens, j):
            j += 1
            while j + 1 < n and tokens[j].text == "," and _CITATION_NUMBER.fullmatch(tokens[j + 1].text):
                j += 2
        else:
            break
    return j


def _glued(tokens, j: int) -> bool:
    """A straight quote right after the previous token closes it; after a space it opens."""
    previous = tokens[j - 1]
    return previous.idx + len(previous.text) == tokens[j].idx


def _is_trailing_citation(tokens, j: int) -> bool:
    """A bare number after a full stop is a citation when nothing but citations follow it."""
    k = j + 1
    while k + 1 < len(tokens) and tokens[k].text == "," and _CITATION_NUMBER.fullmatch(tokens[k + 1].text):
        k += 2
    return k >= len(tokens)


def _starts_sentence(tokens, j: int) -> bool:
    first = tokens[j].text[:1]
    if first.isupper() or first.isdigit():
        return True
    if tokens[j].text in _OPENERS and j + 1 < len(tokens):
        following = tokens[j + 1].text[:1]
        return following.isupper() or following.isdigit() or following in _OPENERS
    return False
