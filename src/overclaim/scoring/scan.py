"""Scanning a batch: files, folders, URLs, URL lists and stdin -> one record per input.

One bad input never stops the batch: its record carries the error and the rest go on.
Inputs are only read, never written. Results stream out as they are scored, so a caller
can write them as they come (:mod:`overclaim.scoring.audit`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from overclaim.errors import InputError
from overclaim.inputs.decode import Document, from_bytes
from overclaim.inputs.fetch import Fetcher
from overclaim.inputs.sources import Source, from_path, is_url
from overclaim.limits import MAX_INPUT_BYTES
from overclaim.scoring.results import PageResult
from overclaim.scoring.scorer import Scorer


#: Seconds between requests to one host while crawling, unless ``--delay`` says otherwise.
CRAWL_DELAY = 1.0


@dataclass(frozen=True)
class FetchOptions:
    """How URLs are fetched; the CLI builds this from its flags.

    ``delay`` is the pause between requests to one host (None: :data:`CRAWL_DELAY` when
    crawling, none otherwise); ``concurrency`` is how many hosts are fetched at once.
    ``retries`` is how many more times a transient failure (timeout, refused connection,
    429/5xx) is tried, with backoff. ``warn`` receives what a crawl skipped (dead or
    refused links found on the way), which is not a failed input.
    """

    timeout: float = 15.0
    max_bytes: int = MAX_INPUT_BYTES
    respect_robots: bool = True
    crawl: int = 0
    delay: float | None = None
    concurrency: int = 4
    retries: int = 2
    warn: Callable[[str], None] | None = None

    def politeness_delay(self) -> float:
        """The delay in force: the one given, else one second for crawls and none otherwise."""
        if self.delay is not None:
            return self.delay
        return CRAWL_DELAY if self.crawl > 0 else 0.0

    def fetcher(self, sources: list[Source]) -> Fetcher:
        """A fetcher already fetching every URL among ``sources`` in the background."""
        fetcher = Fetcher(timeout=self.timeout, max_bytes=self.max_bytes,
                          respect_robots=self.respect_robots, delay=self.politeness_delay(),
                          concurrency=self.concurrency, retries=self.retries)
        fetcher.prefetch([s for s in sources if isinstance(s, str) and is_url(s)], self.crawl)
        return fetcher


def output_conflict(output: Path, inputs: list[str], urls_file: Path | None) -> str | None:
    """Why writing ``output`` could destroy something the user gave, or None.

    Refused: the output is an input file (same path, a link to it, or a hard link), lies
    inside an input folder being scanned, is the URL list, or exists while standard input
    is read (it may be where stdin comes from).
    """
    target = Path(output)
    real = Path(os.path.realpath(target))
    givens = [Path(i) for i in inputs if i != "-" and not is_url(i)]
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


def scan(sources: list[Source], scorer: Scorer, fetch: FetchOptions = FetchOptions(),
         stdin: bytes | None = None, held: Callable[[str], bool] | None = None,
         done: Callable[[str], None] | None = None) -> Iterator[PageResult]:
    """Score every source from :func:`plan`, in order, yielding each page's result as soon
    as it is scored; an input that cannot be scored gets a complete result with ``error``.

    For resumable audits: a page for which ``held(page)`` is true is not scored again (a
    crawl still reads it, to find its links), and ``done(source)`` is called when every
    page of a source has been yielded. Counting text repeated across a site once
    (``--dedupe-site``) needs every page: :func:`overclaim.scoring.page.dedupe_site`.
    """
    fetcher: Fetcher | None = None
    try:
        for source in sources:
            if isinstance(source, tuple):
                yield scorer.error_result(source[0], source[1])
            elif is_url(source):
                fetcher = fetcher or fetch.fetcher(sources)
                yield from _scan_url(source, scorer, fetcher, fetch, held)
            elif held is None or not held(_local_name(source)):
                yield _scan_local(source, scorer, fetch.max_bytes, stdin)
            if done:
                done(source_name(source))
    finally:
        if fetcher:
            fetcher.close()


def source_name(source: Source) -> str:
    """The name an input is reported and journaled under (see :mod:`overclaim.scoring.audit`)."""
    return source[0] if isinstance(source, tuple) else source


def _local_name(source: str) -> str:
    return "<stdin>" if source == "-" else source


def _score(source: str, load: Callable[[], Document], scorer: Scorer) -> PageResult:
    try:
        return scorer.score_document(load())
    except InputError as error:
        return scorer.error_result(source, str(error))


def _scan_local(source: str, scorer: Scorer, max_bytes: int, stdin: bytes | None) -> PageResult:
    if source == "-":
        data = stdin if stdin is not None else sys.stdin.buffer.read(max_bytes + 1)
        if len(data) > max_bytes:
            return scorer.error_result(
                "<stdin>", f"standard input is over the size cap of {max_bytes} bytes")
        return _score("<stdin>", lambda: from_bytes(data, source="<stdin>", max_bytes=max_bytes),
                      scorer)
    return _score(source, lambda: from_path(Path(source), max_bytes), scorer)


def _scan_url(url: str, scorer: Scorer, fetcher: Fetcher, fetch: FetchOptions,
              held: Callable[[str], bool] | None = None) -> Iterator[PageResult]:
    """The URL's record, or with a crawl its pages' records in breadth-first order.

    Only the start URL can fail as an input: a page found while crawling that cannot be
    fetched or read (dead link, timeout, robots.txt, not HTML) goes to ``fetch.warn``.
    Pages ``held`` already are passed over.
    """
    for index, (page_url, outcome) in enumerate(fetcher.pages(url, fetch.crawl)):
        if held is not None and held(page_url):
            continue
        if not isinstance(outcome, InputError):
            yield _score(page_url, _given(outcome), scorer)
        elif index == 0:
            yield scorer.error_result(page_url, str(outcome))
        elif fetch.warn is not None:
            fetch.warn(f"{page_url}: {outcome} (found while crawling {url}; skipped)")


def _given(document: Document) -> Callable[[], Document]:
    return lambda: document
