"""The per-site summary of an audit: one row per site (pages, scores, worst passages), as CSV
or a self-contained HTML table.

Built from result records (``PageResult.to_dict()`` or the lines of a JSON-lines output) one
at a time, keeping a few numbers and the worst passages per site, so summarising a
thousand-site audit read back from disk takes memory in the number of sites, not pages.
"""

from __future__ import annotations

import csv
import heapq
import html
import io
from dataclasses import dataclass, field
from typing import Iterable

from overclaim.render.common import short
from overclaim.render.machine import csv_cell
from overclaim.scoring.page import site_of

#: Passages kept per site (the highest scoring).
WORST_PASSAGES = 3
#: Suffixes :func:`render_sites` knows, with the format each means.
SUMMARY_FORMATS = {".csv": "csv", ".html": "html", ".htm": "html"}


@dataclass
class SiteRow:
    """What one site's pages add up to."""

    site: str
    pages: int = 0
    failed: int = 0
    flagged_pages: int = 0
    flagged_units: int = 0
    max_score: float = 0.0
    score_sum: float = 0.0
    worst_page: str = ""
    worst: list[tuple[float, str, str]] = field(default_factory=list)  # (score, text, page)

    @property
    def mean_score(self) -> float:
        scored = self.pages - self.failed
        return self.score_sum / scored if scored else 0.0

    def add(self, record: dict) -> None:
        self.pages += 1
        if record.get("error") is not None or record.get("score") is None:
            self.failed += 1
            return
        score = float(record["score"])
        self.score_sum += score
        if score >= self.max_score:
            self.max_score, self.worst_page = score, record.get("source", "")
        self.flagged_pages += bool(record.get("flagged"))
        self.flagged_units += sum(1 for span in record.get("spans", []) if not span.get("repeated"))
        for passage in record.get("passages", []):
            item = (float(passage["score"]), passage["text"], record.get("source", ""))
            if len(self.worst) < WORST_PASSAGES:
                heapq.heappush(self.worst, item)
            else:
                heapq.heappushpop(self.worst, item)

    def worst_passages(self) -> list[tuple[float, str, str]]:
        return sorted(self.worst, reverse=True)


def summarise(records: Iterable[dict]) -> list[SiteRow]:
    """Sites in the order first seen, then ranked by their worst page (highest first)."""
    rows: dict[str, SiteRow] = {}
    for record in records:
        site = site_of(record.get("source", ""))
        rows.setdefault(site, SiteRow(site)).add(record)
    return sorted(rows.values(), key=lambda r: (-r.max_score, r.failed == r.pages))


def render_sites(rows: list[SiteRow], fmt: str) -> str:
    """The summary as ``csv`` or ``html``."""
    return _csv(rows) if fmt == "csv" else _html(rows)


_COLUMNS = ["site", "pages", "failed", "flagged_pages", "flagged_units", "max_score",
            "mean_score", "worst_page", "worst_passages"]


def _csv(rows: list[SiteRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(_COLUMNS)
    for r in rows:
        passages = " | ".join(f"{s:.3f} {short(t, 200)}" for s, t, _ in r.worst_passages())
        values = [r.site, r.pages, r.failed, r.flagged_pages, r.flagged_units,
                  f"{r.max_score:.4f}", f"{r.mean_score:.4f}", r.worst_page, passages]
        writer.writerow([csv_cell(v) for v in values])
    return out.getvalue()


def _html(rows: list[SiteRow]) -> str:
    body = "".join(_html_row(r) for r in rows)
    head = "".join(f"<th>{c.replace('_', ' ')}</th>" for c in _COLUMNS if c != "worst_page")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>overclaim site summary</title>
<style>body{{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1f}}
table{{border-collapse:collapse}}td,th{{border-bottom:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}}li{{margin-bottom:4px}}.s{{color:#8a2b1f}}</style></head>
<body><h1>overclaim site summary</h1><p>{len(rows)} sites, {sum(r.pages for r in rows)} pages,
ranked by each site's highest page score. A reviewer's aid, not a verdict.</p>
<table><tr>{head}</tr>{body}</table></body></html>
"""


def _html_row(r: SiteRow) -> str:
    passages = "".join(
        f'<li><span class="s">{s:.3f}</span> {html.escape(short(t, 240))} '
        f'<small>({html.escape(page)})</small></li>' for s, t, page in r.worst_passages())
    return (f"<tr><td>{html.escape(r.site)}</td><td>{r.pages}</td><td>{r.failed}</td>"
            f"<td>{r.flagged_pages}</td><td>{r.flagged_units}</td><td>{r.max_score:.3f}</td>"
            f"<td>{r.mean_score:.3f}</td><td><ol>{passages}</ol></td></tr>")
