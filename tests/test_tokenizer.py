"""The spaCy-free tokenizer makes spaCy's blank English tokens, offsets included."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest
import spacy

from overclaim.text.tokenizer import RULES_PATH, english, export_rules
from overclaim.training import corpus

ODD = ["e.g.", "Dr.", "U.S.", "http://x.com/a?b=1", "don't", "a.m.", ":)", "<3", "'s", "n't",
       "10km", "3.5mg", "co-op", "'em", "o'clock", "C++", "'cause", "\u00a0", "\u2019", "…"]


def _soup(n: int) -> list[str]:
    rng = random.Random(11)
    alphabet = list("aZ09 .,;:!?'\"()[]{}-–—/\\%$€£+*&@#\n\t“”") + ODD
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(n)]


def _documents() -> list[str]:
    table = corpus.load()
    return [(corpus.corpus_dir() / d).read_text(encoding="utf-8") for d in sorted(set(table["doc"]))]


@pytest.fixture(scope="module")
def nlp():
    return spacy.blank("en")


@pytest.mark.parametrize("source", ["corpus units", "corpus documents", "random soup", "edges"])
def test_tokens_and_offsets_are_spacys(nlp, source):
    texts = {"corpus units": lambda: corpus.load()["text"].tolist(),
             "corpus documents": _documents,
             "random soup": lambda: _soup(5000),
             "edges": lambda: ["", " ", "  ", " a", "a ", "a  b", "\n", " \n ", "a.m. and p.m.",
                               ":-) ok", "e.g.,", "(e.g.)", "Mr.Smith", "U.S.A.", "''", "..."]}[source]()
    ours = english()
    mismatched = [text for text in texts
                  if [(t.text, t.idx) for t in ours(text)] != [(t.text, t.idx) for t in nlp.tokenizer(text)]]
    assert mismatched == []


def test_like_num_is_spacys(nlp):
    words = {t.text for text in corpus.load()["text"].tolist()[:3000] + _soup(2000)
             for t in nlp.tokenizer(text)}
    words |= {"1/2", "+3", "-4.5", "1,000", "twenty", "Third", "21st", "3rd-", "½"}
    ours = english()
    assert [w for w in words if ours.like_num(w) != nlp.vocab[w].like_num] == []


def test_shipped_rules_are_the_installed_spacys():
    """Regenerate with ``python -m overclaim.text.tokenizer`` after upgrading spaCy."""
    import json

    assert json.loads(RULES_PATH.read_text(encoding="utf-8")) == export_rules()


def test_scoring_never_imports_spacy(tmp_path):
    page = tmp_path / "page.txt"
    page.write_text("Our stem cells cure arthritis, e.g. in 3 weeks. Dr. Lee agrees.\n")
    code = ("import sys\nfrom overclaim.adapters.cli import main\n"
            "try:\n    main(['scan', '--profile', 'fast', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
            "print('spacy' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, str(page)], capture_output=True, text=True,
                          timeout=120)
    assert done.stdout.strip().splitlines()[-1] == "False", done.stderr
