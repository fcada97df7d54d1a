"""Renderers for scan results: terminal summary, JSON, JSONL, CSV, Markdown, HTML.

Every renderer takes the same list of :class:`ScanRecord` (a page result or an
error per input) and returns text; the CLI only chooses one and writes it.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from overclaim.schema import CATEGORIES
from overclaim.scoring.results import PageResult

FORMATS = ("table", "json", "jsonl", "csv", "html", "md")


@dataclass
class ScanRecord:
    """One input of a scan: its result, or the error that stopped it."""

    source: str
    result: PageResult | None = None
    error: str | None = None

    def to_dict(self, model: dict[str, Any] | None = None) -> dict[str, Any]:
        if self.result is not None:
            return self.result.to_dict()
        return {"source": self.source, "score": None, "flagged": None, "passages": [],
                "sentences": [], "error": self.error, "model": model or {}}


def ranked(records: list[ScanRecord]) -> list[ScanRecord]:
    """Scored pages by score (highest first), then the errors in input order."""
    scored = sorted((r for r in records if r.result), key=lambda r: -r.result.score)
    return scored + [r for r in records if not r.result]


def category_counts(records: list[ScanRecord]) -> Counter:
    return Counter(c for r in records if r.result for s in r.result.sentences
                   if s.flagged and not s.repeated for c in s.categories)


def render(records: list[ScanRecord], fmt: str, model: dict[str, Any] | None = None,
           top: int = 10) -> str:
    if fmt == "table":
        return render_table(records, top)
    if fmt == "json":
        return json.dumps([r.to_dict(model) for r in records], indent=2, ensure_ascii=False) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(r.to_dict(model), ensure_ascii=False) + "\n" for r in records)
    if fmt == "csv":
        return render_csv(records)
    if fmt == "md":
        return render_markdown(records, top)
    if fmt == "html":
        return render_html(records, model)
    raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")


def _short(text: str, width: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def render_table(records: list[ScanRecord], top: int = 10) -> str:
    """Terminal summary: pages by score, counts by category, top flagged passages."""
    lines = [f"{'score':>6}  {'flagged':>7}  {'review':>6}  {'units':>5}  source"]
    for record in ranked(records):
        if record.result:
            r = record.result
            flagged = sum(s.flagged for s in r.sentences)
            review = sum(s.status == "review" for s in r.sentences)
            lines.append(f"{r.score:>6.3f}  {flagged:>7}  {review:>6}  {len(r.sentences):>5}  "
                         f"{record.source}")
        else:
            lines.append(f"{'error':>6}  {'':>7}  {'':>6}  {'':>5}  {record.source}: {record.error}")
    counts = category_counts(records)
    if counts:
        lines.append("")
        lines.append("flagged units by category: " + ", ".join(
            f"{c} {n}" for c, n in counts.most_common()))
    passages = sorted(((p, r.source) for r in records if r.result for p in r.result.passages),
                      key=lambda item: -item[0].score)[:top]
    if passages:
        lines.append("")
        lines.append(f"top flagged passages (of {sum(len(r.result.passages) for r in records if r.result)}):")
        for passage, source in passages:
            lines.append(f"  {passage.score:.2f}  [{', '.join(passage.categories) or '-'}]  "
                         f"{_short(passage.text)}")
            lines.append(f"        {source}; cues: {', '.join(passage.cues[:8]) or '-'}")
    return "\n".join(lines) + "\n"


#: Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    """A cell safe to open in a spreadsheet: text starting like a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def render_csv(records: list[ScanRecord]) -> str:
    """One row per unit (or per failed input), for spreadsheets; no cell can run as a formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["source", "page_score", "start", "end", "status", "overclaim", "label",
                     "categories", "cues", "text", "error"])
    for record in ranked(records):
        if not record.result:
            rows = [[record.source, "", "", "", "", "", "", "", "", "", record.error]]
        else:
            rows = [[record.source, record.result.score, s.start, s.end, s.status, s.overclaim,
                     s.label, ";".join(s.categories),
                     ";".join(sorted({c.text.lower() for c in s.cues if c.category})), s.text, ""]
                    for s in record.result.sentences]
        writer.writerows([csv_cell(v) for v in row] for row in rows)
    return out.getvalue()


def md_text(text: str) -> str:
    """Page text made inert in Markdown: HTML escaped, table pipes and emphasis escaped."""
    escaped = html.escape(text, quote=False).replace("|", "\\|")
    return "".join("\\" + ch if ch in "\\`*_[]#" else ch for ch in escaped)


def render_markdown(records: list[ScanRecord], top: int = 10) -> str:
    """A Markdown summary; page text and sources are escaped, so no markup comes through."""
    lines = ["# overclaim scan", "", "| score | flagged units | source |", "|---:|---:|---|"]
    for record in ranked(records):
        source = md_text(record.source)
        if record.result:
            lines.append(f"| {record.result.score:.3f} | "
                         f"{sum(s.flagged for s in record.result.sentences)} | {source} |")
        else:
            lines.append(f"| error | | {source}: {md_text(str(record.error))} |")
    for record in ranked(records):
        if record.result and record.result.passages:
            lines += ["", f"## {md_text(record.source)}", ""]
            for p in sorted(record.result.passages, key=lambda p: -p.score)[:top]:
                lines.append(f"- **{p.score:.2f}** ({', '.join(p.categories) or '-'}): "
                             f"{md_text(_short(p.text, 300))}")
    return "\n".join(lines) + "\n"


# --- HTML ---------------------------------------------------------------------------

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f6f4}
header{background:#22303c;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
main{max-width:1100px;margin:0 auto;padding:16px 24px}
.summary{display:flex;gap:24px;flex-wrap:wrap;background:#fff;padding:16px;border-radius:8px}
.filters label{margin-right:12px;white-space:nowrap}
.page{background:#fff;border-radius:8px;margin:16px 0;padding:16px}
.page h2{font-size:17px;margin:0 0 4px}.meta{color:#666;font-size:13px}
.text p{margin:6px 0}.u{padding:1px 2px;border-radius:3px}
.u.flagged{background:#ffd3cc;border-bottom:2px solid #c0392b}
.u.review{background:#fff1c2;border-bottom:2px dashed #b7950b}
.why{display:block;font-size:12px;color:#8a2b1f;margin:2px 0 6px 12px}
.u.review + .why{color:#7d6608}
.error{color:#a00}
table{border-collapse:collapse}td,th{padding:2px 8px;text-align:left;font-size:13px}
.hidden{display:none}
"""

_JS = """
function applyFilters(){
  const on=new Set([...document.querySelectorAll('.filters input:checked')].map(i=>i.value));
  document.querySelectorAll('[data-cats]').forEach(el=>{
    const cats=el.dataset.cats.split(' ').filter(Boolean);
    const show=cats.length===0||cats.some(c=>on.has(c));
    el.classList.toggle('muted',!show);
    if(el.classList.contains('u')){el.classList.toggle('flagged',show&&el.dataset.status==='flagged');
      el.classList.toggle('review',show&&el.dataset.status==='review');}
    const why=el.nextElementSibling; if(why&&why.classList.contains('why')) why.classList.toggle('hidden',!show);
  });
}
document.querySelectorAll('.filters input').forEach(i=>i.addEventListener('change',applyFilters));
"""


def _bar_chart(records: list[ScanRecord]) -> str:
    """Inline SVG bars of page scores (no network, no script)."""
    scored = [r for r in ranked(records) if r.result][:30]
    if not scored:
        return ""
    row, width = 18, 260
    parts = [f'<svg role="img" aria-label="page scores" width="{width + 330}" '
             f'height="{row * len(scored) + 4}" xmlns="http://www.w3.org/2000/svg">']
    for i, record in enumerate(scored):
        score = record.result.score
        y = i * row + 2
        colour = "#c0392b" if record.result.flagged else "#7f8c8d"
        parts.append(f'<rect x="0" y="{y}" width="{max(1, score * width):.1f}" height="{row - 4}" '
                     f'fill="{colour}"><title>{html.escape(record.source)}: {score:.3f}</title></rect>')
        parts.append(f'<text x="{width + 6}" y="{y + row - 6}" font-size="12">{score:.2f} '
                     f'{html.escape(_short(record.source, 44))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _page_html(index: int, record: ScanRecord) -> str:
    if not record.result:
        return (f'<section class="page" id="p{index}"><h2>{html.escape(record.source)}</h2>'
                f'<p class="error">Not scored: {html.escape(record.error or "")}</p></section>')
    r = record.result
    paragraphs: list[list[str]] = [[]]
    position = 0
    for s in r.sentences:
        # a new paragraph wherever a line break separates this unit from the last
        if paragraphs[-1] and "\n" in r.text[position:s.start]:
            paragraphs.append([])
        position = s.end
        text = html.escape(s.text)
        if s.status == "clear":
            paragraphs[-1].append(text)
            continue
        cues = ", ".join(sorted({c.text.lower() for c in s.cues if c.category}))
        reason = (f"{s.status}: P(overclaim) {s.overclaim:.2f}; categories: "
                  f"{', '.join(s.categories) or '-'}; cues: {cues or '-'}")
        paragraphs[-1].append(
            f'<span class="u {s.status}" data-status="{s.status}" data-cats="{" ".join(s.categories)}" '
            f'title="{html.escape(reason)}">{text}</span>'
            f'<span class="why">{html.escape(reason)}</span>')
    body = "".join(f"<p>{' '.join(p)}</p>" for p in paragraphs if p)
    flagged = sum(s.flagged for s in r.sentences)
    review = sum(s.status == "review" for s in r.sentences)
    title = f" ({html.escape(r.title)})" if r.title else ""
    return (f'<section class="page" id="p{index}" data-score="{r.score}">'
            f'<h2>{index + 1}. {html.escape(record.source)}{title}</h2>'
            f'<div class="meta">page score {r.score:.3f} &middot; {flagged} flagged, {review} to '
            f'review, {len(r.sentences)} units &middot; input sha256 {r.input_sha256[:12]}</div>'
            f'<div class="text">{body}</div></section>')


def render_html(records: list[ScanRecord], model: dict[str, Any] | None = None) -> str:
    """One self-contained HTML file: no external resources, works offline."""
    counts = category_counts(records)
    ordered = ranked(records)
    filters = "".join(
        f'<label><input type="checkbox" value="{c}" checked> {c} ({counts.get(c, 0)})</label>'
        for c in CATEGORIES)
    index_rows = "".join(
        f'<tr><td>{r.result.score:.3f}</td><td><a href="#p{i}">{html.escape(r.source)}</a></td></tr>'
        if r.result else
        f'<tr><td class="error">error</td><td><a href="#p{i}">{html.escape(r.source)}</a></td></tr>'
        for i, r in enumerate(ordered))
    model_line = ""
    if model:
        model_line = (f"model {html.escape(str(model.get('name')))} "
                      f"(sha256 {html.escape(str(model.get('sha256', ''))[:12])}), thresholds "
                      f"{html.escape(json.dumps(model.get('thresholds', {})))}")
    pages = "".join(_page_html(i, r) for i, r in enumerate(ordered))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>overclaim report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_CSS}</style></head>
<body><header><h1>overclaim report</h1><div>{len(records)} inputs &middot; {model_line}</div></header>
<main>
<section class="summary"><div><h3>Pages by score</h3><table><tr><th>score</th><th>page</th></tr>{index_rows}</table></div>
<div><h3>Page scores</h3>{_bar_chart(records)}</div></section>
<p class="filters"><strong>Show categories:</strong> {filters}</p>
<p class="meta">Highlighted: <span class="u flagged">flagged</span> and <span class="u review">to review</span>.
Hover a highlight, or read the note beside it, for the probability, categories and cues.
A reviewer's aid, not a verdict.</p>
{pages}
</main><script>{_JS}</script></body></html>
"""
