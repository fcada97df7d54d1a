"""Scanning a batch: files, folders, URLs, URL lists and stdin -> one record per input.

One bad input never stops the batch: its record carries the error and the rest go on.
Inputs are only read, never written. Across the pages of one site, units repeated on
several pages (menus, banners, footers the extractor kept) count once in page scores.
"""

from __future__ import annotations

import os
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlparse

from overclaim.errors import InputError
from overclaim.inputs import extract
from overclaim.render.report import ScanRecord
from overclaim.scoring.scorer import Scorer, page_score
from overclaim.text.segment import normalise


@dataclass(frozen=True)
class FetchOptions:
    """How URLs are fetched; the CLI builds this from its flags."""

    timeout: float = 15.0
    max_bytes: int = extract.MAX_INPUT_BYTES
    respect_robots: bool = True
    crawl: int = 0


Job = tuple[str, Callable[[], extract.Document]]


def plan(inputs: list[str], urls_file: Path | None = None) -> list[str | tuple[str, str]]:
    """Expand inputs into a list of sources (paths, URLs, "-") or (source, error) pairs."""
    sources: list[str | tuple[str, str]] = []
    if urls_file is not None:
        try:
            lines = Path(urls_file).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as error:
            sources.append((str(urls_file), f"cannot read URL list: {error.strerror}"))
            lines = []
        sources.extend(line.strip() for line in lines
                       if line.strip() and not line.lstrip().startswith("#"))
    for item in inputs:
        if item == "-" or extract.is_url(item):
            sources.append(item)
        elif Path(item).is_dir():
            found = [str(p) if reason is None else (str(p), reason)
                     for p, reason in extract.iter_files(Path(item))]
            sources.extend(found or [(item, "folder holds no .html, .htm, .txt or .md files")])
        else:
            sources.append(item)
    return sources


def output_conflict(output: Path, inputs: list[str], urls_file: Path | None) -> str | None:
    """Why writing ``output`` could destroy something the user gave, or None.

    Refused: the output is an input file (same path, a link to it, or a hard link), lies
    inside an input folder being scanned, is the URL list, or exists while standard input
    is read (it may be where stdin comes from).
    """
    target = Path(output)
    real = Path(os.path.realpath(target))
    givens = [Path(i) for i in inputs if i != "-" and not extract.is_url(i)]
    if urls_file is not None:
        givens.append(Path(urls_file))
    for given in givens:
        given_real = Path(os.path.realpath(given))
        if real == given_real or _same_file(target, given):
            return f"{output} is one of the inputs"
        if given.is_dir() and given_real in real.parents:
            return f"{output} lies inside the scanned folder {given}"
    if "-" in inputs and target.exists():
        return f"{output} exists and standard input is read (it may be where the input comes from)"
    return None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def scan(sources: list[str | tuple[str, str]], scorer: Scorer,
         fetch: FetchOptions = FetchOptions(), progress: Callable[[int], None] | None = None,
         stdin: bytes | None = None) -> list[ScanRecord]:
    """Score every source from :func:`plan`; errors become records.

    ``progress`` is called once per source.
    """
    records: list[ScanRecord] = []
    fetcher: extract.Fetcher | None = None
    try:
        for source in sources:
            if isinstance(source, tuple):
                records.append(ScanRecord(source[0], error=source[1]))
            elif extract.is_url(source):
                fetcher = fetcher or extract.Fetcher(timeout=fetch.timeout, max_bytes=fetch.max_bytes,
                                                     respect_robots=fetch.respect_robots)
                records.extend(_scan_url(source, scorer, fetcher, fetch.crawl))
            else:
                records.append(_scan_local(source, scorer, fetch.max_bytes, stdin))
            if progress:
                progress(1)
    finally:
        if fetcher:
            fetcher.close()
    discount_boilerplate(records)
    return records


def _score(source: str, load: Callable[[], extract.Document], scorer: Scorer) -> ScanRecord:
    try:
        return ScanRecord(source, result=scorer.score_document(load()))
    except InputError as error:
        return ScanRecord(source, error=str(error))


def _scan_local(source: str, scorer: Scorer, max_bytes: int, stdin: bytes | None) -> ScanRecord:
    if source == "-":
        data = stdin if stdin is not None else sys.stdin.buffer.read(max_bytes + 1)
        if len(data) > max_bytes:
            return ScanRecord("<stdin>", error=f"standard input is over the size cap of {max_bytes} bytes")
        return _score("<stdin>", lambda: extract.from_bytes(data, source="<stdin>", max_bytes=max_bytes),
                      scorer)
    return _score(source, lambda: extract.from_path(Path(source), max_bytes), scorer)


def _scan_url(url: str, scorer: Scorer, fetcher: extract.Fetcher, crawl: int) -> Iterator[ScanRecord]:
    if crawl <= 0:
        yield _score(url, lambda: fetcher.fetch(url), scorer)
        return
    for page_url, outcome in fetcher.crawl(url, crawl):
        if isinstance(outcome, InputError):
            yield ScanRecord(page_url, error=str(outcome))
        else:
            yield ScanRecord(page_url, result=scorer.score_document(outcome))


def site_of(source: str) -> str:
    """Pages group into a site by host for URLs, by folder for files."""
    if extract.is_url(source):
        return urlparse(source).netloc
    return str(Path(source).parent)


def discount_boilerplate(records: list[ScanRecord]) -> None:
    """Mark units repeated on several pages of one site after their first page; rescore pages."""
    by_site: dict[str, list[ScanRecord]] = defaultdict(list)
    for record in records:
        if record.result:
            by_site[site_of(record.source)].append(record)
    for pages in by_site.values():
        if len(pages) < 2:
            continue
        seen_on: dict[str, set[int]] = defaultdict(set)
        for i, record in enumerate(pages):
            for s in record.result.sentences:
                seen_on[normalise(s.text)].add(i)
        counted: set[str] = set()
        for record in pages:
            for s in record.result.sentences:
                key = normalise(s.text)
                if len(seen_on[key]) > 1:
                    s.repeated = key in counted
                    counted.add(key)
            record.result.score = page_score(record.result.sentences)
