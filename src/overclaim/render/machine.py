"""Machine-readable output in input order: JSON, JSON lines, CSV (formula-safe)."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from overclaim.scoring.results import PageResult

#: Characters that make a spreadsheet read a cell as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def render_json(pages: list[PageResult], **_: Any) -> str:
    return json.dumps([p.to_dict() for p in pages], indent=2, ensure_ascii=False) + "\n"


def render_jsonl(pages: list[PageResult], **_: Any) -> str:
    return "".join(json.dumps(p.to_dict(), ensure_ascii=False) + "\n" for p in pages)


def csv_cell(value: object) -> object:
    """A cell safe to open in a spreadsheet: text starting like a formula gets a leading ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def render_csv(pages: list[PageResult], **_: Any) -> str:
    """One row per unit (or per failed input), in input order; no cell runs as a formula."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["source", "page_score", "start", "end", "status", "overclaim", "label",
                     "categories", "cues", "repeated", "text", "error"])
    for page in pages:
        if page.error is not None:
            rows = [[page.source, "", "", "", "", "", "", "", "", "", "", page.error]]
        else:
            rows = [[page.source, page.score, s.start, s.end, s.status, s.overclaim, s.label,
                     ";".join(s.categories), ";".join(s.cue_words), s.repeated, s.text, ""]
                    for s in page.sentences]
        writer.writerows([csv_cell(v) for v in row] for row in rows)
    return out.getvalue()
