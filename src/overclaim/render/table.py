"""The terminal summary: pages by score, flagged units by category, top passages."""

from __future__ import annotations

from typing import Any

from overclaim.render.common import category_counts, ranked, short
from overclaim.scoring.results import PageResult


def render_table(pages: list[PageResult], model: dict[str, Any] | None = None,
                 top: int = 10) -> str:
    lines = [f"{'score':>6}  {'flagged':>7}  {'review':>6}  {'units':>5}  source"]
    for page in ranked(pages):
        if page.error is not None:
            lines.append(f"{'error':>6}  {'':>7}  {'':>6}  {'':>5}  {page.source}: {page.error}")
            continue
        flagged = sum(s.flagged for s in page.sentences)
        review = sum(s.status == "review" for s in page.sentences)
        lines.append(f"{page.score:>6.3f}  {flagged:>7}  {review:>6}  {len(page.sentences):>5}  "
                     f"{page.source}")
    counts = category_counts(pages)
    if counts:
        lines += ["", "flagged units by category: " + ", ".join(
            f"{c} {n}" for c, n in counts.most_common())]
    passages = [(p, page.source) for page in pages for p in page.passages]
    if passages:
        lines += ["", f"top flagged passages (of {len(passages)}):"]
        for passage, source in sorted(passages, key=lambda item: -item[0].score)[:top]:
            lines.append(f"  {passage.score:.2f}  [{', '.join(passage.categories) or '-'}]  "
                         f"{short(passage.text)}")
            lines.append(f"        {source}; cues: {', '.join(passage.cues[:8]) or '-'}")
    return "\n".join(lines) + "\n"
