"""The self-contained HTML report: ranked pages, highlighted units with their reasons,
category filters, an inline SVG chart; no external resources, no network."""

from __future__ import annotations

import html
import json
from typing import Any

from overclaim.render.common import category_counts, ranked, short
from overclaim.schema import CATEGORIES
from overclaim.scoring.results import PageResult

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


def _bar_chart(pages: list[PageResult]) -> str:
    """Inline SVG bars of page scores (no network, no script)."""
    scored = [p for p in ranked(pages) if p.error is None][:30]
    if not scored:
        return ""
    row, width = 18, 260
    parts = [f'<svg role="img" aria-label="page scores" width="{width + 330}" '
             f'height="{row * len(scored) + 4}" xmlns="http://www.w3.org/2000/svg">']
    for i, page in enumerate(scored):
        score = page.score
        y = i * row + 2
        colour = "#c0392b" if page.flagged else "#7f8c8d"
        parts.append(f'<rect x="0" y="{y}" width="{max(1, score * width):.1f}" height="{row - 4}" '
                     f'fill="{colour}"><title>{html.escape(page.source)}: {score:.3f}</title></rect>')
        parts.append(f'<text x="{width + 6}" y="{y + row - 6}" font-size="12">{score:.2f} '
                     f'{html.escape(short(page.source, 44))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _page_html(index: int, page: PageResult) -> str:
    if page.error is not None:
        return (f'<section class="page" id="p{index}"><h2>{html.escape(page.source)}</h2>'
                f'<p class="error">Not scored: {html.escape(page.error)}</p></section>')
    r = page
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
        reason = s.reason
        paragraphs[-1].append(
            f'<span class="u {s.status}" data-status="{s.status}" data-cats="{" ".join(s.categories)}" '
            f'title="{html.escape(reason)}">{text}</span>'
            f'<span class="why">{html.escape(reason)}</span>')
    body = "".join(f"<p>{' '.join(p)}</p>" for p in paragraphs if p)
    flagged = sum(s.flagged for s in r.sentences)
    review = sum(s.status == "review" for s in r.sentences)
    title = f" ({html.escape(r.title)})" if r.title else ""
    return (f'<section class="page" id="p{index}" data-score="{r.score}">'
            f'<h2>{index + 1}. {html.escape(page.source)}{title}</h2>'
            f'<div class="meta">page score {r.score:.3f} &middot; {flagged} flagged, {review} to '
            f'review, {len(r.sentences)} units &middot; input sha256 {r.input_sha256[:12]}</div>'
            f'<div class="text">{body}</div></section>')


def render_html(pages: list[PageResult], model: dict[str, Any] | None = None,
                top: int = 10) -> str:
    """One self-contained HTML file, pages ranked: no external resources, works offline."""
    counts = category_counts(pages)
    ordered = ranked(pages)
    filters = "".join(
        f'<label><input type="checkbox" value="{c}" checked> {c} ({counts.get(c, 0)})</label>'
        for c in CATEGORIES)
    index_rows = "".join(
        f'<tr><td>{r.score:.3f}</td><td><a href="#p{i}">{html.escape(r.source)}</a></td></tr>'
        if r.error is None else
        f'<tr><td class="error">error</td><td><a href="#p{i}">{html.escape(r.source)}</a></td></tr>'
        for i, r in enumerate(ordered))
    model_line = ""
    if model:
        model_line = (f"model {html.escape(str(model.get('name')))} "
                      f"(sha256 {html.escape(str(model.get('sha256', ''))[:12])}), thresholds "
                      f"{html.escape(json.dumps(model.get('thresholds', {})))}")
    sections = "".join(_page_html(i, r) for i, r in enumerate(ordered))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>overclaim report</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_CSS}</style></head>
<body><header><h1>overclaim report</h1><div>{len(pages)} inputs &middot; {model_line}</div></header>
<main>
<section class="summary"><div><h3>Pages by score</h3><table><tr><th>score</th><th>page</th></tr>{index_rows}</table></div>
<div><h3>Page scores</h3>{_bar_chart(pages)}</div></section>
<p class="filters"><strong>Show categories:</strong> {filters}</p>
<p class="meta">Highlighted: <span class="u flagged">flagged</span> and <span class="u review">to review</span>.
Hover a highlight, or read the note beside it, for the probability, categories and cues.
A reviewer's aid, not a verdict.</p>
{sections}
</main><script>{_JS}</script></body></html>
"""
