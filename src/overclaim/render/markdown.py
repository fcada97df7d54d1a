"""A Markdown summary, pages ranked; page text and sources escaped so no markup comes through."""

from __future__ import annotations

import html
from typing import Any

from overclaim.render.common import ranked, short
from overclaim.scoring.results import PageResult


def md_text(text: str) -> str:
    """Page text made inert in Markdown: HTML escaped, table pipes and emphasis escaped."""
    escaped = html.escape(text, quote=False).replace("|", "\\|")
    return "".join("\\" + ch if ch in "\\`*_[]#" else ch for ch in escaped)


def render_markdown(pages: list[PageResult], model: dict[str, Any] | None = None,
                    top: int = 10) -> str:
    lines = ["# overclaim scan", "", "| score | flagged units | source |", "|---:|---:|---|"]
    for page in ranked(pages):
        source = md_text(page.source)
        if page.error is not None:
            lines.append(f"| error | | {source}: {md_text(page.error)} |")
        else:
            lines.append(f"| {page.score:.3f} | {sum(s.flagged for s in page.sentences)} | "
                         f"{source} |")
    for page in ranked(pages):
        if page.passages:
            lines += ["", f"## {md_text(page.source)}", ""]
            for p in sorted(page.passages, key=lambda p: -p.score)[:top]:
                lines.append(f"- **{p.score:.2f}** ({', '.join(p.categories) or '-'}): "
                             f"{md_text(short(p.text, 300))}")
    return "\n".join(lines) + "\n"
