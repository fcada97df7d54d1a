"""Render: page results as a terminal table, JSON, JSON lines, CSV, Markdown or HTML.

Machine-readable formats (json, jsonl, csv) keep the input order, so a pipeline can zip
results with its inputs; human-readable ones (table, md, html) rank pages by score.
Every highlight's wording comes from :attr:`~overclaim.scoring.results.SentenceResult.reason`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # the format names stay importable without loading the renderers
    from overclaim.scoring.results import PageResult

MACHINE_FORMATS = ("json", "jsonl", "csv")
HUMAN_FORMATS = ("table", "md", "html")
FORMATS = ("table", "json", "jsonl", "csv", "html", "md")


def render(pages: "list[PageResult]", fmt: str, model: dict[str, Any] | None = None,
           top: int = 10) -> str:
    """``pages`` (input order; failed inputs are results with ``error`` set) in ``fmt``."""
    return _renderer(fmt)(pages, model=model, top=top)


def _renderer(fmt: str) -> Callable[..., str]:
    from overclaim.render import html, machine, markdown, table

    renderers = {"table": table.render_table, "json": machine.render_json,
                 "jsonl": machine.render_jsonl, "csv": machine.render_csv,
                 "md": markdown.render_markdown, "html": html.render_html}
    if fmt not in renderers:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return renderers[fmt]
