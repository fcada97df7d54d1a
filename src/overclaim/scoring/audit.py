"""A resumable audit: results appended to a JSON-lines file as they come, and a journal of
the inputs finished, so a killed run of hundreds of sites loses nothing already written.

``scan --resume -o audit.jsonl`` writes each page's record as one line the moment it is
scored (flushed, so a kill loses at most the line being written) and, when every page of an
input (a file, a URL, a site's crawl) is written, the input's name to ``audit.jsonl.done``.
Run the same command again and it skips the inputs the journal lists and, inside an
unfinished crawl, the pages the file holds; a line cut short by the kill is dropped first.
Memory stays flat in the number of pages: records are written, not kept.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Iterator

from overclaim.errors import InputError
from overclaim.scoring.results import PageResult


def journal_path(output: Path) -> Path:
    """Where the list of finished inputs of ``output`` is kept."""
    return output.with_name(output.name + ".done")


class AuditLog:
    """The JSON-lines output of a resumable scan and its journal of finished inputs."""

    def __init__(self, output: Path):
        self.output = Path(output)
        self.journal = journal_path(self.output)
        self.held_pages: set[str] = set()
        self.finished: set[str] = set()
        self.pages_before = 0
        self._out: IO[str] | None = None
        self._journal: IO[str] | None = None

    def open(self) -> "AuditLog":
        """Read what an earlier run wrote (repairing a cut last line), then open to append."""
        if self.output.exists():
            _drop_cut_line(self.output)
            for record in read_records(self.output):
                self.held_pages.add(record.get("source", ""))
                self.pages_before += 1
        if self.journal.exists():
            _drop_cut_line(self.journal)
            self.finished = set(self.journal.read_text(encoding="utf-8").splitlines())
        self._out = open(self.output, "a", encoding="utf-8")
        self._journal = open(self.journal, "a", encoding="utf-8")
        return self

    def close(self) -> None:
        for handle in (self._out, self._journal):
            if handle is not None:
                handle.close()

    def __enter__(self) -> "AuditLog":
        return self.open()

    def __exit__(self, *exc) -> None:
        self.close()

    def held(self, page: str) -> bool:
        """Whether an earlier run already wrote ``page``'s record."""
        return page in self.held_pages

    def write(self, record: PageResult) -> None:
        """Append ``record`` as one line, flushed to the operating system."""
        assert self._out is not None, "open() the log first"
        self._out.write(json.dumps(record.to_dict(), ensure_ascii=False) + "\n")
        self._out.flush()
        self.held_pages.add(record.source)

    def finish(self, source: str) -> None:
        """Record that every page of the input ``source`` is written."""
        assert self._journal is not None and self._out is not None, "open() the log first"
        os.fsync(self._out.fileno())  # the pages reach the disk before the journal says so
        self._journal.write(source + "\n")
        self._journal.flush()
        self.finished.add(source)


def read_records(path: Path) -> Iterator[dict]:
    """The records of a JSON-lines results file, one at a time.

    A line that is not a JSON object is a clear error naming the line, not a traceback.
    """
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if not isinstance(record, dict):
                raise InputError(f"{path}:{number} is not an overclaim JSON-lines record")
            yield record


def _drop_cut_line(path: Path) -> None:
    """Cut a last line that a kill left without its newline (the record it began is lost
    and will be written again)."""
    with open(path, "rb+") as handle:
        handle.seek(0, os.SEEK_END)
        size = handle.tell()
        if size == 0:
            return
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return
        keep = _last_newline(handle, size) + 1
        handle.truncate(keep)


def _last_newline(handle, size: int, block: int = 65536) -> int:
    """Offset of the last newline in a file (-1 when none), read backwards in blocks."""
    end = size
    while end > 0:
        start = max(0, end - block)
        handle.seek(start)
        found = handle.read(end - start).rfind(b"\n")
        if found >= 0:
            return start + found
        end = start
    return -1
