"""English tokens exactly as spaCy's blank English tokenizer makes them, without spaCy.

Why: importing spaCy takes 1.3-2 s on a small machine (it imports its CLI, thinc and
pydantic), most of a one-page ``overclaim scan``; the segmenter and the cue matcher only
need its tokenizer, whose behaviour is data: prefix, suffix, infix and URL patterns
(Python regular expressions), special cases ("Dr.", "e.g.", "don't") and the words
``like_num`` knows. Those are exported from the pinned spaCy into
``data/tokenizer-en.json`` (``python -m overclaim.text.tokenizer`` writes it), and this
module follows spaCy's algorithm (``Tokenizer._tokenize_affixes``, ``_split_affixes``,
``_attach_tokens`` and ``_apply_special_cases`` in spacy/tokenizer.pyx) step by step.
Tests compare it with spaCy on the whole corpus, every corpus document and hostile
input, and check the shipped rules are those of the installed spaCy.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterator, NamedTuple

from overclaim.cache import WordMemo
from overclaim.paths import DATA_DIR

RULES_PATH = DATA_DIR / "tokenizer-en.json"
_RUNS = re.compile(r"\S+|\s+")  # \s is str.isspace(), as spaCy's loop tests


class Token(NamedTuple):
    """One token: its text and where it starts in the tokenized string."""

    text: str
    idx: int


class Tokenizer:
    """spaCy's tokenizer algorithm over exported English rules."""

    def __init__(self, rules: dict) -> None:
        self.rules = rules
        self._prefix = _search(rules["prefix"])
        self._suffix = _search(rules["suffix"])
        self._infix = re.compile(rules["infix"]).finditer if rules["infix"] else None
        self._url = re.compile(rules["url"]).match if rules["url"] else None
        self._token_match = re.compile(rules["token_match"]).match if rules["token_match"] else None
        self.specials: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in rules["specials"].items()}
        self.num_words = frozenset(rules["num_words"])
        self.ordinal_words = frozenset(rules["ordinal_words"])
        self._memo = WordMemo()  # span -> its tokens, as spaCy's cache
        # the special matcher's sequences by their first two tokens (None for one-token
        # ones): a full stop starts a few of them, but rarely with the right token after it
        self._special_starts: dict[tuple[str, str | None], list[tuple[str, ...]]] = {}
        for sequence in self._sequences_of_specials():
            second = sequence[1] if len(sequence) > 1 else None
            self._special_starts.setdefault((sequence[0], second), []).append(sequence)
        self._special_firsts = frozenset(first for first, _ in self._special_starts)

    def __call__(self, text: str) -> list[Token]:
        """The tokens of ``text`` with their offsets (single spaces between tokens are not
        tokens; other whitespace is)."""
        tokens: list[Token] = []
        append, specials, memo = tokens.append, self.specials, self._memo
        for start, span in _runs(text):
            pieces = specials.get(span) or memo.get(span) or self._span(span, True)
            if len(pieces) == 1:
                append(Token(span, start))
                continue
            for piece in pieces:
                append(Token(piece, start))
                start += len(piece)
        return self._apply_special_cases(tokens, text)

    def __reduce__(self):
        """Pickled as its rules (the compiled patterns are rebuilt on unpickling)."""
        return Tokenizer, (self.rules,)

    def like_num(self, text: str) -> bool:
        """spaCy's English ``like_num``: digits, fractions, number and ordinal words."""
        if text.startswith(("+", "-", "±", "~")):
            text = text[1:]
        text = text.replace(",", "").replace(".", "")
        if text.isdigit():
            return True
        if text.count("/") == 1:
            num, denom = text.split("/")
            if num.isdigit() and denom.isdigit():
                return True
        lower = text.lower()
        if lower in self.num_words or lower in self.ordinal_words:
            return True
        return lower.endswith(("st", "nd", "rd", "th")) and lower[:-2].isdigit()

    # --- one whitespace-delimited span (spaCy caches these; so do we) ---------------

    def _span(self, span: str, with_specials: bool) -> tuple[str, ...]:
        if with_specials and span in self.specials:
            return self.specials[span]
        key = span if with_specials else "\0" + span
        found = self._memo.get(key)
        if found is None:
            prefixes: list[str] = []
            suffixes: list[str] = []
            core = self._split_affixes(span, prefixes, suffixes, with_specials)
            found = self._memo.remember(key, tuple(
                prefixes + self._attach(core, with_specials) + suffixes[::-1]))
        return found

    def _split_affixes(self, string: str, prefixes: list[str], suffixes: list[str],
                       with_specials: bool) -> str:
        specials = self.specials if with_specials else {}
        last_size = 0
        while string and len(string) != last_size:
            if self._token_match and self._token_match(string):
                break
            if string in specials:
                break
            last_size = len(string)
            pre_len = self._prefix(string)
            if pre_len:
                prefix, minus_pre = string[:pre_len], string[pre_len:]
                if minus_pre and minus_pre in specials:
                    prefixes.append(prefix)
                    return minus_pre
            suf_len = self._suffix(string[pre_len:])
            if suf_len:
                suffix, minus_suf = string[-suf_len:], string[:-suf_len]
                if minus_suf and minus_suf in specials:
                    suffixes.append(suffix)
                    return minus_suf
            if pre_len and suf_len and pre_len + suf_len <= len(string):
                string = string[pre_len:-suf_len]
                prefixes.append(prefix)
                suffixes.append(suffix)
            elif pre_len:
                string = minus_pre
                prefixes.append(prefix)
            elif suf_len:
                string = minus_suf
                suffixes.append(suffix)
        return string

    def _attach(self, string: str, with_specials: bool) -> list[str]:
        if not string:
            return []
        if with_specials and string in self.specials:
            return list(self.specials[string])
        if (self._token_match and self._token_match(string)) or (self._url and self._url(string)):
            return [string]
        matches = list(self._infix(string)) if self._infix else []
        if not matches:
            return [string]
        out, start = [], 0
        for match in matches:
            infix_start, infix_end = match.start(), match.end()
            if infix_start == 0:
                continue
            if infix_start != start:
                out.append(string[start:infix_start])
            if infix_start != infix_end:
                out.append(string[infix_start:infix_end])
            start = infix_end
        if string[start:]:
            out.append(string[start:])
        return out

    # --- special cases the affix rules split apart ("a.m.", ":-)") --------------------

    def _sequences_of_specials(self) -> set[tuple[str, ...]]:
        """The token sequences spaCy's special matcher looks for: the special cases with an
        affix, an infix or a space, tokenised without special cases (as spaCy builds it)."""
        sequences = set()
        for special in self.specials:
            if self._prefix(special) or self._suffix(special) or " " in special or (
                    self._infix and any(True for _ in self._infix(special))):
                sequence = tuple(p for _, span in _runs(special) for p in self._span(span, False))
                if sequence:
                    sequences.add(sequence)
        return sequences

    def _apply_special_cases(self, tokens: list[Token], text: str) -> list[Token]:
        """Put back special cases the affix rules split apart ("a.m.", ":-)"), as spaCy's
        ``_apply_special_cases`` does."""
        firsts, starts = self._special_firsts, self._special_starts
        pieces = [t.text for t in tokens]
        if firsts.isdisjoint(pieces):
            return tokens
        matches = []
        n = len(pieces)
        for i in [i for i, piece in enumerate(pieces) if piece in firsts]:
            keys = [(pieces[i], None)] + ([(pieces[i], pieces[i + 1])] if i + 1 < n else [])
            for key in keys:
                for sequence in starts.get(key, ()):
                    if tuple(pieces[i:i + len(sequence)]) == sequence:
                        matches.append((i, i + len(sequence)))
        # spaCy's _filter_special_spans: longest first, then earliest; a span is kept when
        # neither its first nor its last token was seen, and every span marks its tokens seen
        matches.sort(key=lambda m: (m[1] - m[0], -m[0]))
        seen: set[int] = set()
        replaced: dict[int, tuple[int, tuple[str, ...]]] = {}
        for start, end in reversed(matches):
            if start not in seen and end - 1 not in seen:
                last = tokens[end - 1]
                span_text = text[tokens[start].idx:last.idx + len(last.text)]
                if span_text in self.specials:
                    replaced[start] = (end, self.specials[span_text])
            seen.update(range(start, end))
        out, i = [], 0
        while i < len(tokens):
            if i not in replaced:
                out.append(tokens[i])
                i += 1
                continue
            end, special = replaced[i]
            position = tokens[i].idx
            for piece in special:
                out.append(Token(piece, position))
                position += len(piece)
            i = end
        return out


def _runs(text: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of the stretches spaCy tokenizes one by one: runs of non-space and
    of whitespace, less the single space that follows a token (it belongs to the token)."""
    previous_end = -1
    for run in _RUNS.finditer(text):
        start, span = run.start(), run.group()
        if span[0] == " " and start == previous_end:
            start, span = start + 1, span[1:]
            if not span:
                continue
        previous_end = run.end()
        yield start, span


def _search(pattern: str | None):
    """The length a prefix or suffix pattern takes off (0 when none)."""
    if not pattern:
        return lambda string: 0
    search = re.compile(pattern).search

    def length(string: str) -> int:
        match = search(string)
        return match.end() - match.start() if match else 0

    return length


@lru_cache(maxsize=1)
def english() -> Tokenizer:
    """The shipped English tokenizer, built once."""
    return Tokenizer(json.loads(RULES_PATH.read_text(encoding="utf-8")))


def export_rules() -> dict:
    """The installed spaCy's blank English tokenizer rules, as ``data/tokenizer-en.json``
    holds them (needs spaCy)."""
    import spacy
    from spacy.attrs import ORTH
    from spacy.lang.en import lex_attrs

    tokenizer = spacy.blank("en").tokenizer

    def pattern(function) -> str | None:
        return None if function is None else function.__self__.pattern

    return {
        "spacy": spacy.__version__,
        "prefix": pattern(tokenizer.prefix_search),
        "suffix": pattern(tokenizer.suffix_search),
        "infix": pattern(tokenizer.infix_finditer),
        "url": pattern(tokenizer.url_match),
        "token_match": pattern(tokenizer.token_match),
        "specials": {text: [t.get(ORTH, t.get("ORTH")) for t in tokens]
                     for text, tokens in sorted(tokenizer.rules.items())},
        "num_words": sorted(lex_attrs._num_words),
        "ordinal_words": sorted(lex_attrs._ordinal_words),
    }


if __name__ == "__main__":
    from overclaim import atomic

    atomic.write_text(Path(RULES_PATH), json.dumps(export_rules(), ensure_ascii=False, indent=0) + "\n")
    print(f"wrote {RULES_PATH}")
