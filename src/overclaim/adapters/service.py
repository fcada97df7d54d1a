"""The HTTP service: ``POST /v1/score``, ``POST /v1/score-batch``, ``GET /healthz`` and a
small review page at ``/``, over one :class:`~overclaim.scoring.scorer.Scorer` loaded at start.

    from overclaim.adapters.service import create_app, serve
    app = create_app()                  # an ASGI app for any server
    serve(port=8000)                    # or run it with uvicorn

Bodies over ``max_bytes`` are refused (413) and bodies that arrive too slowly (408)
before they are parsed; bad input gets a 4xx JSON ``{"detail": ...}``. Scoring runs in a
worker pool off the event loop, within a time budget (503 past it). URLs are fetched only
when the app is built with ``allow_urls=True``, and then only from public addresses,
pinned at connection time (:func:`overclaim.inputs.extract.check_public_url`), so the service
cannot be used to reach the machine it runs on or its private network. ``/docs`` serves
its assets from the installed package (fastapi-offline): it works with no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from pathlib import Path
from typing import Any, Literal

try:
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import HTMLResponse, JSONResponse
    from fastapi_offline import FastAPIOffline
    from pydantic import BaseModel, ConfigDict, Field
except ImportError as error:  # pragma: no cover - depends on what is installed
    raise ImportError("the service needs the 'serve' extra: pip install 'overclaim[serve]'") \
        from error

import overclaim
from overclaim.schema import CATEGORIES
from overclaim.errors import InputError
from overclaim.inputs.extract import Fetcher, check_public_url
from overclaim.scoring.scorer import Scorer

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


# --- scoring, in a worker pool ---------------------------------------------------------

#: Seconds one request (or one batch) may take before it is answered 503.
TIME_BUDGET = 30.0
#: Seconds a client has to send its whole request body before it is answered 408.
BODY_TIMEOUT = 10.0
#: Connections served at once by ``serve``; more are answered 503 by the server.
CONNECTION_LIMIT = 64
#: Seconds a client has to send a request's headers before ``serve`` closes the connection.
HEADER_TIMEOUT = 10.0

_WORKER_SCORER: Scorer | None = None


def _init_worker(model: str, options) -> None:
    """Load the model once per worker process."""
    global _WORKER_SCORER
    _WORKER_SCORER = Scorer.load(model, options)


def _work_in_worker(allow_urls: bool, item: dict, defaults: dict | None,
                    include_text: bool) -> tuple:
    assert _WORKER_SCORER is not None, "worker not initialised"
    return score_item(_WORKER_SCORER, allow_urls, item, defaults, include_text)


def score_item(scorer: Scorer, allow_urls: bool, item: dict, defaults: dict | None,
               include_text: bool = False) -> tuple:
    """Score one request item (plain data, so it can cross to a worker process).

    Returns ``("ok", result_dict)`` or ``("error", status_code, detail)``.
    """
    given = [name for name in ("text", "html", "url") if item.get(name) is not None]
    if len(given) != 1:
        return ("error", 400, "give exactly one of text, html or url"
                + (f" (got {', '.join(given)})" if given else ""))
    own = {k: v for k, v in (item.get("options") or {}).items() if v is not None}
    changes = {**(defaults or {}), **own}
    if "categories" in changes:
        changes["categories"] = tuple(changes["categories"])
    page_scorer = scorer.with_options(**changes) if changes else scorer
    try:
        if item.get("url") is None:
            is_text = item.get("text") is not None
            page = page_scorer.score(item["text"] if is_text else item["html"],
                                     source="<text>" if is_text else "<html>")
        elif not allow_urls:
            return ("error", 400, NO_URLS)
        else:
            check_public_url(item["url"])  # refuse early; the fetcher checks again, pinned
            with Fetcher(public_only=True, max_bytes=page_scorer.options.max_bytes) as fetcher:
                page = page_scorer.score_document(fetcher.fetch(item["url"]))
    except InputError as error:
        return ("error", 400, str(error))
    return ("ok", page.to_dict(include_text=include_text))


def _executor(scorer: Scorer, workers: int):
    """Worker processes that each load the model once, or (``workers=0``) threads."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    import multiprocessing

    if workers <= 0:
        return ThreadPoolExecutor(max_workers=4), functools.partial(score_item, scorer)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker,
                               initargs=(str(scorer.bundle.path), scorer.options))
    return pool, _work_in_worker


# --- the app --------------------------------------------------------------------------


class _BodyLimit:
    """ASGI middleware: answer 413 to a body over ``max_bytes`` (by Content-Length, then by
    the bytes actually received) and 408 to a body not received within ``timeout`` seconds,
    before anything parses it; the app gets the buffered body."""

    def __init__(self, app, max_bytes: int, timeout: float = BODY_TIMEOUT):
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            return await self._refuse(scope, receive, send, 413,
                                      f"request body over the limit of {self.max_bytes} bytes")
        try:
            body = await asyncio.wait_for(self._read(receive), self.timeout)
        except asyncio.TimeoutError:
            return await self._refuse(scope, receive, send, 408,
                                      f"request body not received within {self.timeout} s")
        if body is None:
            return None
        if len(body) > self.max_bytes:
            return await self._refuse(scope, receive, send, 413,
                                      f"request body over the limit of {self.max_bytes} bytes")
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    async def _read(self, receive) -> bytearray | None:
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return body
            more = message.get("more_body", False)
        return body

    async def _refuse(self, scope, receive, send, status: int, detail: str) -> None:
        await JSONResponse({"detail": detail}, status_code=status)(scope, receive, send)


def create_app(scorer: Scorer | None = None, allow_urls: bool = False,
               max_bytes: int = 1_000_000, workers: int = 0,
               time_budget: float = TIME_BUDGET, body_timeout: float = BODY_TIMEOUT) -> FastAPI:
    """The service over one model (the shipped one when ``scorer`` is None).

    Scoring runs off the event loop, in ``workers`` processes that each load the model once
    (or, with ``workers=0``, in a few threads of this process), so ``/healthz`` and other
    requests are answered while a large page is scored. A request that takes longer than
    ``time_budget`` seconds is answered 503.
    """
    scorer = scorer or Scorer.load()
    executor, job = _executor(scorer, workers)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        executor.shutdown(wait=False, cancel_futures=True)

    app = FastAPIOffline(
        title="overclaim",
        version=overclaim.__version__,
        lifespan=lifespan,
        description="Find overclaiming in health-treatment marketing, sentence by sentence. "
                    "Each unit gets a calibrated probability of overclaiming, with categories "
                    "and the cues behind it; a reviewer's aid, not a verdict. Results follow "
                    "the JSON schema `overclaim.result/1`.")
    app.add_middleware(_BodyLimit, max_bytes=max_bytes, timeout=body_timeout)

    async def run(item: ScoreRequest, defaults: Options | None, include_text: bool) -> tuple:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            executor, job, allow_urls, item.model_dump(),
            defaults.model_dump(exclude_none=True) if defaults else None, include_text)

    async def within_budget(awaitable):
        try:
            return await asyncio.wait_for(awaitable, time_budget)
        except asyncio.TimeoutError:
            raise HTTPException(503, f"scoring took longer than the time budget of "
                                     f"{time_budget} s; send a smaller page") from None

    @app.post("/v1/score", summary="Score one page (text, HTML or URL)")
    async def score(item: ScoreRequest, include_text: bool = False) -> dict[str, Any]:
        """The page's result (schema `overclaim.result/1`); `include_text` adds the scored
        text, which `start`/`end` offsets point into."""
        outcome = await within_budget(run(item, None, include_text))
        if outcome[0] == "error":
            raise HTTPException(outcome[1], outcome[2])
        return outcome[1]

    @app.post("/v1/score-batch", summary="Score up to 100 pages, in order")
    async def score_batch(batch: BatchRequest) -> dict[str, list[dict[str, Any]]]:
        """One result per item, in order; an item that cannot be scored gets a complete
        record with `error` set and `score` null, and the others are still scored."""
        outcomes = await within_budget(asyncio.gather(
            *(run(item, batch.options, False) for item in batch.items)))
        results = []
        for item, outcome in zip(batch.items, outcomes):
            if outcome[0] == "ok":
                results.append(outcome[1])
                continue
            source = item.url or ("<html>" if item.html is not None else "<text>")
            given = item.text if item.text is not None else item.html
            results.append(scorer.error_result(source, outcome[2], given).to_dict())
        return {"results": results}

    @app.get("/healthz", summary="Liveness and the loaded model")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "model": scorer.model_info()}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return PAGE

    return app


def header_deadline_protocol(seconds: float = HEADER_TIMEOUT):
    """uvicorn's h11 protocol with a deadline for each request's headers.

    uvicorn times idle keep-alive connections but not a client that sends its headers a
    byte at a time (slowloris): this closes a connection whose request headers are not
    complete ``seconds`` after it opened or after its previous response.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        _deadline = None

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._arm()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def handle_events(self) -> None:
            super().handle_events()
            if self.cycle is not None and not self.cycle.response_complete:
                self._disarm()  # a request's headers are in: the body has its own timeout

        def connection_lost(self, exc) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            if self.cycle is None or self.cycle.response_complete:
                self.transport.close()

    return HeaderDeadline


def serve(host: str = "127.0.0.1", port: int = 8000, allow_urls: bool = False,
          model: str | Path | None = None, workers: int = 1,
          connection_limit: int = CONNECTION_LIMIT) -> None:
    """Load the model and run the service with uvicorn: ``workers`` scoring processes, at
    most ``connection_limit`` connections at once, request headers due within
    :data:`HEADER_TIMEOUT` s and bodies within :data:`BODY_TIMEOUT` s, idle keep-alive
    connections closed after 5 s."""
    import uvicorn

    uvicorn.run(create_app(Scorer.load(model), allow_urls=allow_urls, workers=workers),
                host=host, port=port, limit_concurrency=connection_limit, timeout_keep_alive=5,
                http=header_deadline_protocol())


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
