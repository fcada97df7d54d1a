"""The segmenter on a table of hard cases: each row is text -> the units a reader sees."""

import pytest

from overclaim.text.segment import MAX_UNIT_CHARS, segment

CASES = [
    # abbreviations do not end sentences
    ("Dr. Patel says stem cells help. Call today.", ["Dr. Patel says stem cells help.", "Call today."]),
    ("Smith et al. reported a gain. A second trial did not.",
     ["Smith et al. reported a gain.", "A second trial did not."]),
    ("Clinics in the U.S. sell it, e.g. for knees. Others warn.",
     ["Clinics in the U.S. sell it, e.g. for knees.", "Others warn."]),
    ("It costs approx. 5,000 dollars. Insurance rarely pays.",
     ["It costs approx. 5,000 dollars.", "Insurance rarely pays."]),
    # decimals and percentages
    ("A 40.7% success rate was seen. Only 30.5% improved function.",
     ["A 40.7% success rate was seen.", "Only 30.5% improved function."]),
    ("Pain fell by 2.5 points. It was small.", ["Pain fell by 2.5 points.", "It was small."]),
    # citation markers stay with their sentence
    ("No trial supports it [1]. Risks are real [2].", ["No trial supports it [1].", "Risks are real [2]."]),
    ("Evidence is weak 3, 4. See below.", ["Evidence is weak 3, 4.", "See below."]),
    ("Not recommended in humans. 1", ["Not recommended in humans. 1"]),
    # quotes
    ("\u201cIt is no panacea,\u201d says Adams. \u201cBe careful.\u201d",
     ["\u201cIt is no panacea,\u201d says Adams.", "\u201cBe careful.\u201d"]),
    ('She said it works. "I was pain-free," she wrote.',
     ["She said it works.", '"I was pain-free," she wrote.']),
    ('"It worked." Then it stopped.', ['"It worked."', "Then it stopped."]),
    # exclamations, questions, ellipses, missing space
    ("Book now!! Limited spots. Why wait?", ["Book now!!", "Limited spots.", "Why wait?"]),
    ("Results vary... Ask us.", ["Results vary...", "Ask us."]),
    ("It heals discs.It is safe.", ["It heals discs.", "It is safe."]),
    # headings without final punctuation
    ("Why PRP Works\nPRP uses your blood. It is spun.",
     ["Why PRP Works", "PRP uses your blood.", "It is spun."]),
    # bullets of many kinds
    ("Benefits:\n- No surgery\n* Fast recovery\n\u2022 Natural\n1. Book\n2) Relax\na) Heal",
     ["Benefits:", "No surgery", "Fast recovery", "Natural", "Book", "Relax", "Heal"]),
    ("  \u2022 Adult stem cells. Found in marrow.", ["Adult stem cells.", "Found in marrow."]),
    # web chrome on its own lines
    ("Home | Services | Contact\nAccept cookies\n\u00a9 2024 Clinic",
     ["Home | Services | Contact", "Accept cookies", "\u00a9 2024 Clinic"]),
    # hard-wrapped lines join when the next starts in lower case
    ("Stem cells are being studied\nfor many conditions. More later.",
     ["Stem cells are being studied\nfor many conditions.", "More later."]),
    # blank and whitespace-only input
    ("", []),
    ("   \n\n  ", []),
]


@pytest.mark.parametrize("text, expected", CASES)
def test_units(text, expected):
    assert [u.text for u in segment(text)] == expected


@pytest.mark.parametrize("text, _", CASES)
def test_offsets_reproduce_text(text, _):
    for unit in segment(text):
        assert text[unit.start:unit.end] == unit.text


def test_kinds():
    units = segment("Our Promise\n- Lasting relief\nWe care. Call us.")
    assert [u.kind for u in units] == ["heading", "bullet", "sentence", "sentence"]


def test_long_run_is_capped():
    text = "word " * 5000
    units = segment(text)
    assert all(len(u.text) <= MAX_UNIT_CHARS for u in units)
    assert sum(len(u.text.split()) for u in units) == 5000


def test_no_space_blob_is_cut():
    units = segment("x" * 10_000)
    assert all(len(u.text) <= MAX_UNIT_CHARS for u in units)
    assert "".join(u.text for u in units) == "x" * 10_000
