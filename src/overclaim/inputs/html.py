"""HTML -> main text and title, and the links of a page.

One job: given markup already decoded (or raw bytes, for links), find the text a reader
came for. Main text comes from trafilatura (boilerplate removal is a research problem it
has solved better than we would), as Markdown so headings and list items stay on lines of
their own; the Markdown heading marks are then dropped. When trafilatura returns too
little, a plain block-level walk of the HTML (without navigation, headers, footers, forms,
scripts and cookie banners) takes over. Nothing here reads files or the network.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

_MD_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
_BOILERPLATE_HINT = re.compile(r"cookie|consent|banner|menu|nav|footer|header|sidebar|breadcrumb|newsletter|share|social|popup|modal",
                               re.IGNORECASE)
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "li", "h1", "h2", "h3", "h4", "h5", "h6",
               "blockquote", "td", "th", "tr", "dd", "dt", "figcaption", "br", "pre", "address"}
_DROP_TAGS = {"script", "style", "noscript", "nav", "footer", "header", "form", "aside", "svg",
              "iframe", "template", "button", "select", "option"}


def html_to_text(html: str) -> tuple[str, str | None]:
    """Main text of an HTML page (headings and list items on their own lines) and its title."""
    import trafilatura

    extracted = trafilatura.extract(html, output_format="markdown", favor_recall=True,
                                    include_comments=False, include_tables=True,
                                    include_links=False, include_images=False) or ""
    extracted = _MD_HEADING.sub("", extracted)
    fallback = _block_text(html)
    if len(extracted.strip()) < min(200, 0.5 * len(fallback.strip())):
        extracted = fallback
    title = None
    try:
        metadata = trafilatura.extract_metadata(html)
        title = metadata.title if metadata else None
    except Exception:  # metadata is a nicety; a page without it is still scored
        title = None
    return extracted, title


def links(raw: bytes, base: str) -> list[str]:
    """Absolute targets of a page's ``<a href>`` links, fragments dropped, in page order.

    A crawler follows them; an unparsable page simply has none.
    """
    import lxml.html

    try:
        hrefs = lxml.html.fromstring(raw).xpath("//a/@href")
    except Exception:  # lxml raises several types on broken markup
        return []
    return [urljoin(base, str(href)).split("#")[0] for href in hrefs]


def _block_text(html: str) -> str:
    """Visible text, one block element per line, without chrome (the fallback)."""
    import lxml.html

    try:
        root = lxml.html.fromstring(html)
    except Exception:  # lxml raises several types on broken markup
        return re.sub(r"<[^>]{0,2000}>", " ", html)
    lines: list[str] = []
    current: list[str] = []

    def flush() -> None:
        line = " ".join("".join(current).split())
        if line:
            lines.append(line)
        current.clear()

    stack = [(root, False)]
    while stack:
        node, closing = stack.pop()
        tag = node.tag if isinstance(node.tag, str) else ""
        if closing:
            if tag in _BLOCK_TAGS:
                flush()
            if node.tail:
                current.append(node.tail)
            continue
        if tag in _DROP_TAGS or _BOILERPLATE_HINT.search(
                f"{node.get('id', '')} {node.get('class', '')} {node.get('role', '')}"):
            if node.tail:
                current.append(node.tail)
            continue
        if tag in _BLOCK_TAGS:
            flush()
            if tag == "li":
                current.append("- ")
        if node.text and tag:
            current.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(node)))
    flush()
    return "\n".join(lines)
