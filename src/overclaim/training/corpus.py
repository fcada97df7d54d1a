"""The labeled sentence corpus: read, cut new documents, validate, merge, count.

``corpus/sentences.csv`` holds one row per unit of every document under
``corpus/documents/``; ``text == document[start:end]`` for every row, so each label
can be traced back to its place in its source. Seed documents are copied unchanged
from the project's five source texts; authored documents were written for the
project (see ``corpus/DATASHEET.md``).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pandas as pd

from overclaim import atomic
from overclaim.errors import CorpusError
from overclaim.paths import corpus_dir
from overclaim.text.segment import normalise, segment

from overclaim.schema import CATEGORIES, LABELS, PAGE_KINDS, VOICES  # noqa: E402 (re-exported)
SOURCES = ("seed", "authored")
COLUMNS = ["doc", "start", "end", "kind", "text", "label", "categories", "source", "treatment",
           "voice", "page_kind"]
#: Columns that describe a whole document: every row of a document carries the same value.
DOCUMENT_COLUMNS = ("source", "treatment", "voice", "page_kind")
#: No sequence of this many words (in sentences and bullets) may appear in more than
#: SHARED_NGRAM_MAX_DOCS documents: it would be a template, not writing.
SHARED_NGRAM_WORDS = 8
SHARED_NGRAM_MAX_DOCS = 3
SENTENCES_FILE = "sentences.csv"
#: The record of documents taken out of the corpus (and why); their text stays in git history.
RETIRED_FILE = "annotation/retired.csv"
RETIRED_COLUMNS = ["doc", "units", "reason"]
#: The labeling manual; its examples cite corpus units, which must not be retired.
GUIDELINES_FILE = "GUIDELINES.md"
#: How the manual cites a unit: `documents/...txt:START-END` in backticks.
GUIDELINE_CITATION = re.compile(r"`(documents/[^`:]+):(\d+)-(\d+)`")
#: Units with at least this many words must not nearly repeat another unit.
DUPLICATE_MIN_WORDS = 8
#: Cosine similarity of character n-gram profiles above which two units are near-duplicates.
DUPLICATE_SIMILARITY = 0.9
_TREATMENT = re.compile(r"[a-z0-9]+(?:-[a-z0-9+]+)*")
_WORD = re.compile(r"[a-z0-9']+")


@dataclass
class Report:
    """Problems found by validation, each a line a person can act on."""

    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, message: str) -> None:
        self.problems.append(message)


def sentences_path(root: Path | None = None) -> Path:
    return (root or corpus_dir()) / SENTENCES_FILE


def load(root: Path | None = None) -> pd.DataFrame:
    """The corpus as a DataFrame, in document order, with ``categories`` as a string."""
    path = sentences_path(root)
    if not path.is_file():
        raise CorpusError(f"no corpus at {path}")
    return read_rows(path)


def read_rows(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise CorpusError(f"{path}: missing columns {', '.join(missing)}")
    for column in ("start", "end"):
        numeric = pd.to_numeric(frame[column], errors="coerce")
        if numeric.isna().any():
            bad = frame.index[numeric.isna()][0] + 2
            raise CorpusError(f"{path}:{bad}: '{column}' is not a whole number")
        frame[column] = numeric.astype(int)
    return frame


def corpus_hash(root: Path | None = None) -> str:
    """SHA-256 over sentences.csv and every document, so a model can name its data exactly."""
    base = root or corpus_dir()
    digest = hashlib.sha256()
    for path in [sentences_path(base), *sorted((base / "documents").rglob("*.txt"))]:
        digest.update(path.relative_to(base).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def template(paths: Iterable[Path], treatment: str, root: Path | None = None,
             voice: str = "", page_kind: str = "") -> pd.DataFrame:
    """Unlabeled rows for new documents, cut by the shared segmenter, ready to label."""
    base = (root or corpus_dir()).resolve()
    rows = []
    for path in paths:
        resolved = Path(path).resolve()
        try:
            doc = resolved.relative_to(base).as_posix()
        except ValueError:
            raise CorpusError(f"{path}: documents must live under {base}/documents") from None
        source = "seed" if doc.startswith("documents/seed/") else "authored"
        for unit in segment(resolved.read_text(encoding="utf-8")):
            rows.append({"doc": doc, "start": unit.start, "end": unit.end, "kind": unit.kind,
                         "text": unit.text, "label": "", "categories": "", "source": source,
                         "treatment": treatment, "voice": voice, "page_kind": page_kind})
    return pd.DataFrame(rows, columns=COLUMNS)


def validate(frame: pd.DataFrame, root: Path | None = None, require_seeds: bool = True) -> Report:
    """Check every rule of the corpus; an empty report means it is sound."""
    base = root or corpus_dir()
    report = Report()
    _check_values(frame, report)
    _check_documents(frame, report)
    _check_coverage(frame, base, report, require_seeds)
    _check_duplicates(frame, report)
    _check_shared_ngrams(frame, report)
    return report


def _where(row) -> str:
    return f"{row.doc}:{row.start}-{row.end}"


def _check_values(frame: pd.DataFrame, report: Report) -> None:
    for row in frame.itertuples(index=False):
        if row.label not in LABELS:
            report.add(f"{_where(row)}: label {row.label!r} is not one of {', '.join(LABELS)}")
        if row.source not in SOURCES:
            report.add(f"{_where(row)}: source {row.source!r} is not one of {', '.join(SOURCES)}")
        if not _TREATMENT.fullmatch(row.treatment):
            report.add(f"{_where(row)}: treatment {row.treatment!r} is not a short tag")
        if row.voice not in VOICES:
            report.add(f"{_where(row)}: voice {row.voice!r} is not one of {', '.join(VOICES)}")
        if row.page_kind not in PAGE_KINDS:
            report.add(f"{_where(row)}: page_kind {row.page_kind!r} is not one of "
                       f"{', '.join(PAGE_KINDS)}")
        cats = split_categories(row.categories)
        unknown = [c for c in cats if c not in CATEGORIES]
        if unknown:
            report.add(f"{_where(row)}: unknown categories {', '.join(unknown)}")
        if row.label == "overclaim" and not cats:
            report.add(f"{_where(row)}: an overclaim needs at least one category")
        if row.label != "overclaim" and cats:
            report.add(f"{_where(row)}: only overclaims take categories (label {row.label})")


def _check_documents(frame: pd.DataFrame, report: Report) -> None:
    """Document-level columns hold one value per document."""
    for column in DOCUMENT_COLUMNS:
        counts = frame.groupby("doc")[column].nunique()
        for doc in counts.index[counts > 1]:
            report.add(f"{doc}: rows disagree on {column} "
                       f"({', '.join(sorted(set(frame.loc[frame['doc'] == doc, column])))})")


def shared_ngrams(frame: pd.DataFrame, n: int = SHARED_NGRAM_WORDS) -> dict[tuple[str, ...], set[str]]:
    """Word n-grams of sentences and bullets that appear in more than
    :data:`SHARED_NGRAM_MAX_DOCS` documents (headings and short chrome lines are left out)."""
    docs_of: dict[tuple[str, ...], set[str]] = defaultdict(set)
    prose = frame[frame["kind"] != "heading"]
    for doc, text in zip(prose["doc"], prose["text"]):
        words = _WORD.findall(text.lower())
        for i in range(len(words) - n + 1):
            docs_of[tuple(words[i:i + n])].add(doc)
    return {gram: docs for gram, docs in docs_of.items() if len(docs) > SHARED_NGRAM_MAX_DOCS}


def _check_shared_ngrams(frame: pd.DataFrame, report: Report) -> None:
    """One problem per set of documents sharing phrases, naming the first phrase."""
    by_documents: dict[frozenset[str], list[tuple[str, ...]]] = defaultdict(list)
    for gram, docs in shared_ngrams(frame).items():
        by_documents[frozenset(docs)].append(gram)
    for docs, grams in sorted(by_documents.items(), key=lambda item: sorted(item[0])):
        report.add(f"the words {' '.join(grams[0])!r} ({len(grams)} shared {SHARED_NGRAM_WORDS}-word "
                   f"sequences) appear in {len(docs)} documents (at most {SHARED_NGRAM_MAX_DOCS}): "
                   f"{', '.join(sorted(docs))}")


def _check_coverage(frame: pd.DataFrame, base: Path, report: Report, require_seeds: bool) -> None:
    """Every document's rows must be exactly the units the segmenter cuts from it."""
    documents = set(frame["doc"])
    if require_seeds:
        for path in sorted((base / "documents" / "seed").glob("*.txt")):
            doc = path.relative_to(base).as_posix()
            if doc not in documents:
                report.add(f"{doc}: seed document has no labeled units")
    for doc, rows in frame.groupby("doc", sort=True):
        path = base / doc
        if not path.is_file():
            report.add(f"{doc}: document file not found")
            continue
        text = path.read_text(encoding="utf-8")
        expected = {(u.start, u.end) for u in segment(text)}
        seen: set[tuple[int, int]] = set()
        for row in rows.itertuples(index=False):
            span = (row.start, row.end)
            if text[row.start:row.end] != row.text:
                report.add(f"{_where(row)}: text does not match the document at these offsets")
            elif span not in expected:
                report.add(f"{_where(row)}: not a unit the segmenter cuts")
            if span in seen:
                report.add(f"{_where(row)}: unit listed twice")
            seen.add(span)
        for start, end in sorted(expected - seen):
            report.add(f"{doc}:{start}-{end}: unit {text[start:end][:60]!r} is not labeled")
        if rows["source"].ne("seed" if doc.startswith("documents/seed/") else "authored").any():
            report.add(f"{doc}: source must be 'seed' under documents/seed/, else 'authored'")


def _check_duplicates(frame: pd.DataFrame, report: Report) -> None:
    """Same text with different labels conflicts; long units must not nearly repeat."""
    by_text: dict[str, set[str]] = defaultdict(set)
    for text, label in zip(frame["text"], frame["label"]):
        by_text[normalise(text)].add(label)
    for text, labels in by_text.items():
        if len(labels) > 1:
            report.add(f"conflicting labels {sorted(labels)} for {text[:70]!r}")
    for a, b, score in near_duplicates(frame):
        report.add(f"near-duplicate ({score:.2f}): {_where(a)} {a.text[:50]!r} ~ "
                   f"{_where(b)} {b.text[:50]!r}")


def near_duplicates(frame: pd.DataFrame, threshold: float = DUPLICATE_SIMILARITY):
    """Pairs of long sentences or bullets whose character 3-5-gram profiles are nearly the same.

    Headings are left out: stock headings ("What happens on the day?") recur across real
    sites, and identical ones are still held to one label by the conflict check.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    long_rows = frame[(frame["text"].str.split().str.len() >= DUPLICATE_MIN_WORDS)
                      & (frame["kind"] != "heading")]
    if len(long_rows) < 2:
        return []
    vectors = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5)).fit_transform(
        long_rows["text"].map(normalise))
    similarity = (vectors @ vectors.T).tocoo()
    rows = list(long_rows.itertuples(index=False))
    pairs = []
    for i, j, score in zip(similarity.row, similarity.col, similarity.data):
        if i < j and score >= threshold:
            pairs.append((rows[i], rows[j], float(score)))
    return pairs


def split_categories(value: str) -> list[str]:
    return [c.strip() for c in str(value).split(";") if c.strip()]


def add(paths: Iterable[Path], root: Path | None = None, dry_run: bool = False) -> Report:
    """Validate new labeled rows together with the corpus and, if sound, merge them in.

    The corpus file is replaced atomically and only when everything validates, so a
    failed merge leaves it as it was.
    """
    base = root or corpus_dir()
    path = sentences_path(base)
    current = read_rows(path) if path.is_file() else pd.DataFrame(columns=COLUMNS)
    new = pd.concat([read_rows(Path(p)) for p in paths], ignore_index=True)
    clash = set(new["doc"]) & set(current["doc"])
    report = Report()
    for doc in sorted(clash):
        report.add(f"{doc}: already in the corpus; remove its rows first to relabel it")
    merged = pd.concat([current, new], ignore_index=True)[COLUMNS]
    merged = merged.sort_values(["doc", "start"], kind="stable").reset_index(drop=True)
    report.problems.extend(validate(merged, base, require_seeds=False).problems)
    if report.ok and not dry_run:
        write(merged, path)
    return report


def retire(docs: Iterable[str], reason: str, root: Path | None = None,
           dry_run: bool = False) -> Report:
    """Take authored documents out of the corpus: their rows, their files, and a line each
    in the retirement record saying why.

    Seed documents (the only real text) and documents whose units GUIDELINES.md quotes
    as examples are refused. The record is written first and the corpus file next, both
    atomically, and the document files are removed last, so an interrupted run is
    finished by running it again: documents already recorded are not refused.
    """
    base = root or corpus_dir()
    current = load(base)
    record_path = base / RETIRED_FILE
    record = (pd.read_csv(record_path, dtype=str, keep_default_na=False)
              if record_path.is_file() else pd.DataFrame(columns=RETIRED_COLUMNS))
    guidelines = base / GUIDELINES_FILE
    text = guidelines.read_text(encoding="utf-8") if guidelines.is_file() else ""
    cited = {doc for doc, _, _ in GUIDELINE_CITATION.findall(text)}
    recorded = set(record["doc"])
    docs = list(dict.fromkeys(docs))
    report = Report()
    if not reason.strip():
        report.add("say why the documents are retired (--reason)")
    units = current["doc"].value_counts()
    for doc in docs:
        if doc.startswith("documents/seed/"):
            report.add(f"{doc}: seed documents are the corpus's real text and cannot be retired")
        elif doc in cited:
            report.add(f"{doc}: {GUIDELINES_FILE} quotes its units as examples; replace them first")
        elif doc not in units.index and doc not in recorded:
            report.add(f"{doc}: not a document of the corpus")
    if not report.ok or dry_run:
        return report
    fresh = [d for d in docs if d in units.index]
    added = pd.DataFrame({"doc": fresh, "units": [str(units[d]) for d in fresh],
                          "reason": reason.strip()}, columns=RETIRED_COLUMNS)
    record_path.parent.mkdir(parents=True, exist_ok=True)
    atomic.write_text(record_path, pd.concat([record, added], ignore_index=True)
                      .to_csv(index=False))
    write(current[~current["doc"].isin(docs)], sentences_path(base))
    for doc in docs:
        (base / doc).unlink(missing_ok=True)
    return report


def write(frame: pd.DataFrame, path: Path) -> None:
    atomic.write_text(path, frame[COLUMNS].to_csv(index=False))


def stats(frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Counts by label, source, treatment, category and kind."""
    categories = pd.Series(
        [c for value in frame["categories"] for c in split_categories(value)], dtype=str)
    return {
        "total": {"units": len(frame), "documents": frame["doc"].nunique()},
        "label": frame["label"].value_counts().to_dict(),
        "source": frame["source"].value_counts().to_dict(),
        "treatment": frame["treatment"].value_counts().to_dict(),
        "voice": frame["voice"].value_counts().to_dict(),
        "page_kind": frame["page_kind"].value_counts().to_dict(),
        "category": categories.value_counts().to_dict(),
        "kind": frame["kind"].value_counts().to_dict(),
        "documents by source": frame.drop_duplicates("doc")["source"].value_counts().to_dict(),
        "documents by voice": frame.drop_duplicates("doc")["voice"].value_counts().to_dict(),
    }


def stats_markdown(counts: dict[str, dict[str, int]]) -> str:
    """The counts as Markdown tables (the generated block of DATASHEET.md)."""
    lines: list[str] = []
    for section, values in counts.items():
        lines += ["", f"| {section} | units |", "|---|---:|"]
        lines += [f"| {key} | {value} |" for key, value in values.items()]
    return "\n".join(lines).strip()


def update_datasheet(counts: dict[str, dict[str, int]], root: Path | None = None,
                     realism: str | None = None, agreement: str | None = None) -> Path:
    """Rewrite the generated blocks of DATASHEET.md: the counts and, if given, the realism
    and annotator-agreement figures (between ``<!-- NAME:start -->`` and
    ``<!-- NAME:end -->`` for NAME in stats, realism, agreement)."""
    path = (root or corpus_dir()) / "DATASHEET.md"
    text = path.read_text(encoding="utf-8")
    text = _replace_block(path, text, "stats", stats_markdown(counts))
    for name, content in (("realism", realism), ("agreement", agreement)):
        if content is not None:
            text = _replace_block(path, text, name, content)
    atomic.write_text(path, text)
    return path


def _replace_block(path: Path, text: str, name: str, content: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise CorpusError(f"{path} has no {start} ... {end} block")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{content}\n{end}{tail}"
