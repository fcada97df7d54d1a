"""Cue matching: the words and token patterns that signal (or argue against) overclaiming.

The lexicons live as data in ``overclaim/data/cues/`` (see its README). One matcher
serves both the model's features and the explanations shown to reviewers, so every
flag can name the cues behind it and the overclaim categories they support.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from overclaim.cache import WordMemo
from overclaim.paths import DATA_DIR
from overclaim.schema import CATEGORIES
from overclaim.text.tokenizer import Token, english

CUES_DIR = DATA_DIR / "cues"
#: What a cue kind does, as ``cues.json`` says: "promotional" cues push a unit towards
#: overclaim when no "limit" (hedge) or "evidence" cue stands beside them.
ROLES = ("promotional", "limit", "evidence", "modal", "treatment", "chrome")
#: Cue kinds the claim-structure features name directly; every lexicon must define them.
STRUCTURE_KINDS = ("benefit", "weak_modal", "treatment")
STRUCTURE = (
    "promo_any", "promo_unlimited", "benefit_modal_unlimited", "treatment_benefit_unlimited",
    "evidence_any", "evidence_unpromoted", "hedge_any", "question", "no_final_punct",
    "log_tokens", "has_digit",
)


@dataclass(frozen=True, slots=True)
class Cue:
    """One matched cue: where it is in the unit's text, what kind, which category it supports."""

    start: int
    end: int
    text: str
    cue: str
    category: str | None

    def to_dict(self) -> dict:
        return asdict(self)


class CueMatcher:
    """The cue lexicons (phrases) and token patterns, matched on English tokens.

    Tokens are spaCy's blank English tokenizer's, made by :mod:`overclaim.text.tokenizer`
    without importing spaCy; phrases match whole tokens case-insensitively, as spaCy's
    ``PhraseMatcher(attr="LOWER")`` does, and patterns as its ``Matcher`` does (tests
    compare both with spaCy on the corpus).
    """

    def __init__(self, directory: Path = CUES_DIR) -> None:
        self.directory = Path(directory)
        spec = read_spec(self.directory)
        self.categories: dict[str, str | None] = {name: v["category"] for name, v in spec.items()}
        self.roles: dict[str, str] = {name: v["role"] for name, v in spec.items()}
        self.names: tuple[str, ...] = tuple(spec)
        self._rank = {name: i for i, name in enumerate(self.names)}  # cues on one span: in this order
        self.tokenizer = english()
        self._phrases: dict[str, dict[tuple[str, ...], list[str]]] = {}  # first word -> ...
        for name in self.names:
            path = self.directory / f"{name}.txt"
            if path.is_file():
                for phrase in _read_lexicon(path):
                    words = tuple(t.text.lower() for t in self.tokenizer(phrase))
                    if words:
                        kinds = self._phrases.setdefault(words[0], {}).setdefault(words, [])
                        if name not in kinds:
                            kinds.append(name)
        patterns = self.directory / "patterns.json"
        spec = json.loads(patterns.read_text(encoding="utf-8")) if patterns.is_file() else {}
        self._patterns = TokenPatterns(spec, self.tokenizer.like_num)

    def __reduce__(self):
        """Pickled as its lexicon folder: a worker process builds (and shares) its own."""
        return default_matcher, (str(self.directory),)

    def match_many(self, texts: list[str]) -> list[list[Cue]]:
        docs = [self.tokenizer(text) for text in texts]
        return [self.match_tokens(text, tokens, hits)
                for text, tokens, hits in zip(texts, docs, self._patterns(docs))]

    def vectors(self, texts: list[str]) -> tuple[np.ndarray, list[list[Cue]]]:
        """Feature rows (log cue counts, then claim structure) and the cues matched.

        Why claim structure: "Stem cells may help regenerate your discs" and "Stem cells
        may one day help, but no trial has shown it" share most words; what separates
        them is a promised benefit with, or without, a stated limit or evidence.
        """
        found = self.match_many(texts)
        index = {name: i for i, name in enumerate(self.names)}
        counts = np.zeros((len(texts), len(self.names)), dtype=np.float64)
        for row, cues in enumerate(found):
            for cue in cues:
                counts[row, index[cue.cue]] += 1
        structure = _structure(texts, counts, index, self.roles)
        return np.hstack([np.log1p(counts), structure]), found

    def empty_row(self) -> np.ndarray:
        """The feature row of "" (no neighbour): computed once, returned as a copy."""
        if "_empty_row" not in self.__dict__:
            self._empty_row = self.vectors([""])[0][0]
        return self._empty_row.copy()

    def feature_names(self) -> list[str]:
        return [f"cue:{name}" for name in self.names] + [f"claim:{name}" for name in STRUCTURE]

    def match_tokens(self, text: str, tokens: list[Token],
                     pattern_hits: list[tuple[str, int, int]]) -> list[Cue]:
        """Cues in ``text`` (cut into ``tokens``) in order of position, longest first, kinds
        on one span in ``cues.json`` order; of two cues of one kind where one holds the
        other, only the outer. ``pattern_hits`` are the text's token-pattern matches."""
        found: dict[tuple[int, int, str], Cue] = {}
        for name, start, end in self._phrase_hits(tokens) + pattern_hits:
            start_char = tokens[start].idx
            end_char = tokens[end - 1].idx + len(tokens[end - 1].text)
            key = (start_char, end_char, name)
            found[key] = Cue(start_char, end_char, text[start_char:end_char], name,
                             self.categories.get(name))
        rank = self._rank
        return _drop_nested(sorted(found.values(), key=lambda c: (c.start, -c.end, rank[c.cue])))

    def _phrase_hits(self, tokens: list[Token]) -> list[tuple[str, int, int]]:
        """Every lexicon phrase whose words are a run of tokens (lower-cased), overlaps too."""
        words = [t.text.lower() for t in tokens]
        hits = []
        for i, word in enumerate(words):
            for phrase, kinds in self._phrases.get(word, {}).items():
                if tuple(words[i:i + len(phrase)]) == phrase:
                    hits += [(name, i, i + len(phrase)) for name in kinds]
        return hits


class TokenPatterns:
    """spaCy's ``Matcher`` for the pattern language ``patterns.json`` uses, over a whole batch.

    Why not the ``Matcher`` itself: it tries every pattern at every token, which cost
    more than everything else in cue matching, and it needs spaCy. Here every condition
    a token test can make (``LIKE_NUM``; ``ORTH`` or ``LOWER`` equal to a string or ``IN``
    a list; ``TEXT`` matching a ``REGEX``) is one bit, found once per distinct token
    text; a pattern is followed only from the tokens that pass its first test, and its
    other tests are checked at those positions, shifted. An optional token (``"OP":
    "?"``) makes two fixed-length variants and both matches are kept, as the ``Matcher``
    keeps both. A test compares the two on the corpus. Anything else in a pattern is
    refused with the key named, rather than silently matched differently.
    """

    MAX_OPTIONAL = 4  # variants double with each optional token
    MAX_CONDITIONS = 63  # one bit each in an int64

    def __init__(self, spec: dict[str, list[list[dict]]], like_num) -> None:
        self.like_num = like_num
        self.conditions: list[tuple[str, object]] = []
        self.tests: list[int] = []  # per distinct token test: the condition bits it needs
        self.variants: list[tuple[str, list[int]]] = []  # (name, test index per token)
        for name, token_patterns in spec.items():
            for pattern in token_patterns:
                steps = [self._step(name, token) for token in pattern]
                optional = sum(flag for _, flag in steps)
                if not steps or optional == len(steps) or optional > self.MAX_OPTIONAL:
                    raise ValueError(f"patterns.json: a {name!r} pattern needs a required token "
                                     f"and at most {self.MAX_OPTIONAL} optional ones")
                self.variants += [(name, tests) for tests in _variants(steps)]
        self._memo = WordMemo()  # token text -> bits of the conditions it meets

    def _step(self, name: str, token: dict) -> tuple[int, bool]:
        """One pattern token as (index of its test, optional?)."""
        unknown = set(token) - {"LIKE_NUM", "ORTH", "LOWER", "TEXT", "OP"}
        if unknown or token.get("OP", "?") != "?":
            raise ValueError(f"patterns.json: {name!r} uses {sorted(unknown) or token['OP']!r}; "
                             "supported are LIKE_NUM, ORTH, LOWER (a string or IN), TEXT "
                             "(REGEX) and OP '?'")
        need = 0
        for attribute in ("LIKE_NUM", "ORTH", "LOWER", "TEXT"):
            if attribute in token:
                need |= 1 << self._condition(name, attribute, token[attribute])
        if need not in self.tests:
            self.tests.append(need)
        return self.tests.index(need), "OP" in token

    def _condition(self, name: str, attribute: str, value) -> int:
        """The bit of one condition, as (kind, value): LIKE_NUM, ORTH or LOWER (a set of
        accepted strings), REGEX (on the token's text)."""
        if attribute == "LIKE_NUM":
            condition = ("LIKE_NUM", bool(value))
        elif isinstance(value, str):
            condition = ("LOWER" if attribute == "LOWER" else "ORTH", frozenset([value]))
        elif isinstance(value, dict) and list(value) == ["IN"]:
            condition = ("LOWER" if attribute == "LOWER" else "ORTH", frozenset(value["IN"]))
        elif isinstance(value, dict) and list(value) == ["REGEX"] and attribute != "LOWER":
            condition = ("REGEX", re.compile(value["REGEX"]))
        else:
            raise ValueError(f"patterns.json: {name!r}: {attribute} {value!r} is not supported "
                             "(LIKE_NUM, ORTH/LOWER with a string or IN, TEXT with REGEX are)")
        if condition not in self.conditions:
            if len(self.conditions) == self.MAX_CONDITIONS:
                raise ValueError(f"patterns.json: more than {self.MAX_CONDITIONS} conditions")
            self.conditions.append(condition)
        return self.conditions.index(condition)

    def __call__(self, docs: list[list[Token]]) -> list[list[tuple[str, int, int]]]:
        """Per doc (a list of tokens), the (pattern name, start token, end token) of every
        match."""
        found: list[list[tuple[str, int, int]]] = [[] for _ in docs]
        lengths = np.array([len(doc) for doc in docs], dtype=np.int64)
        n = int(lengths.sum())
        if n == 0:
            return found
        bits_of = self._bits
        bits = np.fromiter((bits_of(t.text) for doc in docs for t in doc), np.int64, n)
        doc_of = np.repeat(np.arange(len(docs)), lengths)
        first_token = np.cumsum(lengths) - lengths
        passing: dict[int, np.ndarray] = {}
        for name, tests in self.variants:
            if tests[0] not in passing:
                need = self.tests[tests[0]]
                passing[tests[0]] = np.flatnonzero((bits & need) == need)
            size = len(tests)
            starts = passing[tests[0]]
            starts = starts[starts + size <= n]
            if size > 1 and len(starts):
                starts = starts[doc_of[starts] == doc_of[starts + size - 1]]  # within one doc
                for offset, test in enumerate(tests[1:], 1):
                    need = self.tests[test]
                    starts = starts[(bits[starts + offset] & need) == need]
            for position in starts.tolist():
                d = doc_of[position]
                start = position - int(first_token[d])
                found[d].append((name, start, start + size))
        return found

    def _bits(self, text: str) -> int:
        """The conditions a token with this text meets (remembered per distinct text)."""
        bits = self._memo.get(text)
        if bits is None:
            bits = self._memo.remember(text, sum(
                1 << i for i, condition in enumerate(self.conditions) if self._meets(text, condition)))
        return bits

    def _meets(self, text: str, condition: tuple[str, object]) -> bool:
        kind, value = condition
        if kind == "LIKE_NUM":
            return self.like_num(text) == value
        if kind == "ORTH":
            return text in value
        if kind == "LOWER":
            return text.lower() in value
        return value.search(text) is not None  # REGEX: re.search, as spaCy's REGEX


def _variants(steps: list[tuple[int, bool]]) -> list[list[int]]:
    """Every fixed-length sequence of tests a pattern with optional tokens stands for."""
    out: list[list[int]] = [[]]
    for test, optional in steps:
        out = [v + [test] for v in out] + (out if optional else [])
    return out


def read_spec(directory: Path) -> dict[str, dict]:
    """``cues.json``, checked: every cue kind names a known category (or none) and role."""
    path = Path(directory) / "cues.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    for name, entry in spec.items():
        if entry.get("category") is not None and entry["category"] not in CATEGORIES:
            raise ValueError(f"{path}: cue {name!r} names unknown category {entry['category']!r}"
                             f" (categories are in data/schema.json)")
        if entry.get("role") not in ROLES:
            raise ValueError(f"{path}: cue {name!r} needs a role, one of {', '.join(ROLES)}")
    missing = [k for k in STRUCTURE_KINDS if k not in spec]
    if missing:
        raise ValueError(f"{path}: the claim-structure features need the cue kinds {missing}")
    return spec


def _structure(texts: list[str], counts: np.ndarray, index: dict[str, int],
               roles: dict[str, str]) -> np.ndarray:
    """The :data:`STRUCTURE` columns of each text, given its cue counts."""
    present = counts > 0

    def has(name: str) -> np.ndarray:
        return present[:, index[name]]

    def any_of(role: str) -> np.ndarray:
        return present[:, [index[name] for name, r in roles.items() if r == role]].any(axis=1)

    promo = any_of("promotional")
    limit, evidence = any_of("limit"), any_of("evidence")
    unlimited = ~(limit | evidence)
    ends = [text.rstrip()[-1:] for text in texts]
    columns = [
        promo,
        promo & unlimited,
        has("benefit") & has("weak_modal") & unlimited,
        has("treatment") & has("benefit") & unlimited,
        evidence,
        evidence & ~promo,
        limit,
        [end == "?" for end in ends],
        [end.isalnum() for end in ends],
        np.log1p([len(text.split()) for text in texts]),
        [any(map(str.isdigit, text)) for text in texts],
    ]
    return np.column_stack([np.asarray(c, dtype=np.float64) for c in columns]).reshape(
        len(texts), len(STRUCTURE))


def _drop_nested(cues: list[Cue]) -> list[Cue]:
    """Keep "clinically proven" and drop the "proven" inside it (same cue kind only)."""
    kept: list[Cue] = []
    for cue in cues:
        if any(k.cue == cue.cue and k.start <= cue.start and cue.end <= k.end for k in kept):
            continue
        kept.append(cue)
    return kept


def _read_lexicon(path: Path) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line]


def default_matcher(directory: str | None = None) -> CueMatcher:
    """A shared matcher per lexicon folder (default: the shipped lexicons)."""
    return _shared_matcher(str(Path(directory) if directory else CUES_DIR))


@lru_cache(maxsize=4)
def _shared_matcher(directory: str) -> CueMatcher:
    """Building a matcher costs tens of milliseconds: build one per folder."""
    return CueMatcher(Path(directory))
