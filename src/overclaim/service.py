"""The HTTP service: ``POST /v1/score``, ``POST /v1/score-batch``, ``GET /healthz`` and a
small review page at ``/``, over one :class:`~overclaim.scorer.Scorer` loaded at start.

    from overclaim.service import create_app, serve
    app = create_app()                  # an ASGI app for any server
    serve(port=8000)                    # or run it with uvicorn

Bodies over ``max_bytes`` are refused (413) before they are parsed; bad input gets a
4xx JSON ``{"detail": ...}``. URLs are fetched only when the app is built with
``allow_urls=True``, and then only from public addresses (see :func:`check_public_url`),
so the service cannot be used to reach the machine it runs on or its private network.
Scoring endpoints are plain ``def``: FastAPI runs them in its threadpool, and a Scorer
is safe to share across threads.
"""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse

try:
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.responses import HTMLResponse, JSONResponse
    from pydantic import BaseModel, ConfigDict, Field
except ImportError as error:  # pragma: no cover - depends on what is installed
    raise ImportError("the service needs the 'serve' extra: pip install 'overclaim[serve]'") \
        from error

import overclaim
from overclaim.labels import CATEGORIES
from overclaim.extract import ExtractError, Fetcher, InputError
from overclaim.results import PageResult
from overclaim.scorer import Scorer

MAX_BATCH = 100
NO_URLS = "this service does not fetch URLs; start it with --allow-urls"
Category = Literal[CATEGORIES]  # type: ignore[valid-type]


# --- request bodies -------------------------------------------------------------------


class Options(BaseModel):
    """Scoring options for one request; unset fields keep the model card's defaults."""

    model_config = ConfigDict(extra="forbid")
    flag_threshold: float | None = Field(None, ge=0, le=1)
    review_threshold: float | None = Field(None, ge=0, le=1)
    categories: list[Category] | None = Field(None, description="report only these categories")
    context_window: int | None = Field(None, ge=0, le=5,
                                       description="neighbouring units on each side used as context")
    category_thresholds: dict[Category, float] | None = Field(
        None, description="also flag a unit when its score for a category reaches this value")


class ScoreRequest(BaseModel):
    """One page to score: exactly one of ``text``, ``html`` or ``url``."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    html: str | None = None
    url: str | None = None
    options: Options | None = None


class BatchRequest(BaseModel):
    """Up to 100 pages; ``options`` apply to every item, an item's own options win."""

    model_config = ConfigDict(extra="forbid")
    items: list[ScoreRequest] = Field(max_length=MAX_BATCH)
    options: Options | None = None


# --- URL safety -----------------------------------------------------------------------


def check_public_url(url: str) -> None:
    """Raise ExtractError unless ``url`` is http(s) and its host resolves only to public
    addresses: a server that fetched whatever it was asked could be made to read its own
    loopback services, the private network or a cloud metadata endpoint."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ExtractError(f"not an http(s) URL: {url}")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as error:
        raise ExtractError(f"cannot resolve {parts.hostname}: {error}") from None
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        if (address.is_private or address.is_loopback or address.is_link_local
                or address.is_reserved or address.is_multicast or address.is_unspecified
                or not address.is_global):
            raise ExtractError(f"refusing to fetch {url}: {parts.hostname} resolves to the "
                               f"non-public address {address}")


def _public_transport():
    """An httpx transport that checks every request (robots.txt, each redirect) is public."""
    import httpx

    class PublicOnly(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            check_public_url(str(request.url))
            return super().handle_request(request)

    return PublicOnly()


# --- the app --------------------------------------------------------------------------


class _BodyLimit:
    """ASGI middleware: answer 413 to a body over ``max_bytes`` (by Content-Length, then by
    the bytes actually received) before anything parses it; the app gets the buffered body."""

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            return await self._too_large(scope, receive, send)
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return await self._too_large(scope, receive, send)
            more = message.get("more_body", False)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _too_large(self, scope, receive, send) -> None:
        response = JSONResponse({"detail": f"request body over the limit of {self.max_bytes} bytes"},
                                status_code=413)
        await response(scope, receive, send)


def create_app(scorer: Scorer | None = None, allow_urls: bool = False,
               max_bytes: int = 1_000_000) -> FastAPI:
    """The service over one scorer (the shipped model when None), loaded once here."""
    scorer = scorer or Scorer.load()
    app = FastAPI(
        title="overclaim",
        version=overclaim.__version__,
        description="Find overclaiming in health-treatment marketing, sentence by sentence. "
                    "Each unit gets a calibrated probability of overclaiming, with categories "
                    "and the cues behind it; a reviewer's aid, not a verdict. Results follow "
                    "the JSON schema `overclaim.result/1`.")
    app.add_middleware(_BodyLimit, max_bytes=max_bytes)

    async def bad_input(request: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=400)

    app.add_exception_handler(ExtractError, bad_input)
    app.add_exception_handler(InputError, bad_input)

    def score_one(item: ScoreRequest, defaults: Options | None = None) -> PageResult:
        """Score one request, raising HTTPException/ExtractError/InputError on bad input."""
        given = [name for name in ("text", "html", "url") if getattr(item, name) is not None]
        if len(given) != 1:
            raise HTTPException(400, "give exactly one of text, html or url"
                                     + (f" (got {', '.join(given)})" if given else ""))
        changes = {**(defaults.model_dump(exclude_none=True) if defaults else {}),
                   **(item.options.model_dump(exclude_none=True) if item.options else {})}
        if "categories" in changes:
            changes["categories"] = tuple(changes["categories"])
        page_scorer = scorer.with_options(**changes) if changes else scorer
        if item.url is None:
            return page_scorer.score(item.text if item.text is not None else item.html,
                                     source="<text>" if item.text is not None else "<html>")
        if not allow_urls:
            raise HTTPException(400, NO_URLS)
        check_public_url(item.url)
        with Fetcher(transport=_public_transport()) as fetcher:
            return page_scorer.score_document(fetcher.fetch(item.url))

    @app.post("/v1/score", summary="Score one page (text, HTML or URL)")
    def score(item: ScoreRequest, include_text: bool = False) -> dict[str, Any]:
        """The page's result (schema `overclaim.result/1`); `include_text` adds the scored
        text, which `start`/`end` offsets point into."""
        return score_one(item).to_dict(include_text=include_text)

    @app.post("/v1/score-batch", summary="Score up to 100 pages, in order")
    def score_batch(batch: BatchRequest) -> dict[str, list[dict[str, Any]]]:
        """One result per item, in order; an item that cannot be scored gets a complete
        record with `error` set and `score` null, and the others are still scored."""
        results = []
        for item in batch.items:
            try:
                results.append(score_one(item, batch.options).to_dict())
            except (HTTPException, InputError) as error:
                detail = error.detail if isinstance(error, HTTPException) else str(error)
                source = item.url or ("<html>" if item.html is not None else "<text>")
                given = item.text if item.text is not None else item.html
                results.append(scorer.error_result(source, str(detail), given).to_dict())
        return {"results": results}

    @app.get("/healthz", summary="Liveness and the loaded model")
    def healthz() -> dict[str, Any]:
        return {"status": "ok", "model": scorer.model_info()}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return PAGE

    return app


def serve(host: str = "127.0.0.1", port: int = 8000, allow_urls: bool = False,
          model: str | Path | None = None) -> None:
    """Load the scorer (``model`` or the shipped one) and run the service with uvicorn."""
    import uvicorn

    uvicorn.run(create_app(Scorer.load(model), allow_urls=allow_urls), host=host, port=port)


# --- the review page (self-contained: no external resources) -----------------------------

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>overclaim</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f6f4}
header{background:#22303c;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px}
header p{margin:2px 0 0;font-size:13px;color:#cfd8dc}
main{max-width:1000px;margin:0 auto;padding:16px 24px}
textarea{width:100%;box-sizing:border-box;height:170px;font:14px/1.4 system-ui,sans-serif;
 padding:8px;border:1px solid #bbb;border-radius:6px}
button{font-size:15px;padding:6px 18px;margin:8px 0;border:0;border-radius:6px;
 background:#22303c;color:#fff;cursor:pointer}button:disabled{opacity:.5}
.card{background:#fff;border-radius:8px;padding:16px;margin-top:12px}
#summary{font-size:16px}#summary strong{font-size:22px}
#text{white-space:pre-wrap}
.u{padding:1px 2px;border-radius:3px}
.u.flagged{background:#ffd3cc;border-bottom:2px solid #c0392b}
.u.review{background:#fff1c2;border-bottom:2px dashed #b7950b}
.why{display:inline-block;font-size:12px;line-height:1.3;color:#8a2b1f;background:#fdf0ee;
 border-radius:3px;padding:0 5px;margin:0 4px}
.why.review{color:#7d6608;background:#fdf8e6}
.error{color:#a00}.meta{color:#666;font-size:13px}[hidden]{display:none}
</style></head>
<body><header><h1>overclaim</h1>
<p>Paste health-treatment copy (text or HTML) to see which sentences overclaim, and why.
A reviewer's aid, not a verdict.</p></header>
<main>
<label for="input"><strong>Text or HTML</strong></label>
<textarea id="input" placeholder="Paste a page, a paragraph or its HTML here"></textarea>
<button id="score">Score</button> <span class="meta">(Ctrl+Enter)</span>
<p id="error" class="error" hidden></p>
<section id="result" class="card" hidden>
<div id="summary"></div>
<p class="meta">Highlighted: <span class="u flagged">flagged</span> and
<span class="u review">to review</span>; the reason is beside each and on hover.</p>
<div id="text"></div></section>
</main>
<script>
const $ = id => document.getElementById(id);
function el(tag, cls, text){const e=document.createElement(tag);
  if(cls)e.className=cls; if(text!==undefined)e.textContent=text; return e;}
function reason(s){
  const cues=[...new Set(s.cues.filter(c=>c.category).map(c=>c.text.toLowerCase()))].sort();
  return `${s.status}: P(overclaim) ${s.overclaim.toFixed(2)}; categories: `+
    `${s.categories.join(', ')||'-'}; cues: ${cues.join(', ')||'-'}`;}
function show(r){
  const flagged=r.sentences.filter(s=>s.status==='flagged').length;
  const review=r.sentences.filter(s=>s.status==='review').length;
  const cats=Object.keys(r.categories).filter(c=>r.categories[c]);
  const summary=$('summary'); summary.textContent='';
  summary.append('page score ', el('strong','score',r.score.toFixed(3)),
    ` \\u00b7 ${flagged} flagged, ${review} to review, ${r.sentences.length} units`+
    (cats.length?` \\u00b7 categories: ${cats.join(', ')}`:''));
  const box=$('text'); box.textContent=''; let at=0;
  for(const s of r.sentences){
    box.append(r.text.slice(at,s.start)); at=s.end;
    if(s.status==='clear'){box.append(s.text); continue;}
    const why=reason(s), span=el('span','u '+s.status,s.text);
    span.title=why; box.append(span, el('span','why '+s.status,why));}
  box.append(r.text.slice(at));
  $('result').hidden=false;}
async function run(){
  const value=$('input').value, button=$('score');
  $('error').hidden=true; button.disabled=true;
  const field=/^\\s*<[a-z!]/i.test(value)?'html':'text';
  try{
    const response=await fetch('/v1/score?include_text=true',{method:'POST',
      headers:{'Content-Type':'application/json'},body:JSON.stringify({[field]:value})});
    const data=await response.json();
    if(!response.ok) throw new Error(typeof data.detail==='string'?data.detail:
      JSON.stringify(data.detail));
    show(data);
  }catch(e){$('result').hidden=true; $('error').textContent='Not scored: '+e.message;
    $('error').hidden=false;}
  finally{button.disabled=false;}}
$('score').addEventListener('click',run);
$('input').addEventListener('keydown',e=>{if(e.key==='Enter'&&e.ctrlKey)run();});
</script></body></html>
"""
