"""The HTTP service: ``POST /v1/score``, ``POST /v1/score-batch``, ``POST /v1/moderations``
(``{"input": str | [str]}``, as moderation APIs take it), ``GET /healthz`` and a small
review page at ``/``, over one :class:`~overclaim.scoring.scorer.Scorer` loaded at start.

    from overclaim.adapters.service import create_app, serve
    app = create_app()                  # an ASGI app for any server
    serve(port=8000)                    # or run it with uvicorn

Bodies over ``max_bytes`` are refused (413) and bodies that arrive too slowly (408)
before they are parsed; bad input gets a 4xx JSON ``{"detail": ...}``. Scoring runs in a
worker pool off the event loop, within a time budget (503 past it). URLs are fetched only
when the app is built with ``allow_urls=True``, and then only from public addresses,
pinned at connection time (:func:`overclaim.inputs.fetch.check_public_url`), so the service
cannot be used to reach the machine it runs on or its private network. ``/docs`` serves
its assets from the installed package (fastapi-offline): it works with no network.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from pathlib import Path
from typing import Any

try:
    from fastapi import FastAPI, HTTPException
    from fastapi.responses import HTMLResponse, JSONResponse
    from fastapi_offline import FastAPIOffline
    from pydantic import BaseModel, ConfigDict, Field
except ImportError as error:  # pragma: no cover - depends on what is installed
    raise ImportError("the service needs the 'serve' extra: pip install 'overclaim[serve]'") \
        from error

import overclaim
from overclaim.errors import InputError, OptionError
from overclaim.inputs.fetch import Fetcher, check_public_url
from overclaim.render.review_page import REVIEW_PAGE
from overclaim.scoring.options import pydantic_model
from overclaim.scoring.scorer import Scorer

MAX_BATCH = 100
NO_URLS = "this service does not fetch URLs; start it with --allow-urls"


# --- request bodies -------------------------------------------------------------------


#: Scoring options for one request, built from :class:`~overclaim.ScoringOptions` (one
#: definition for library, CLI and service); unset fields keep the server's defaults.
Options = pydantic_model()


class ScoreRequest(BaseModel):
    """One page to score: exactly one of ``text``, ``html`` or ``url``."""

    model_config = ConfigDict(extra="forbid")
    text: str | None = None
    html: str | None = None
    url: str | None = None
    options: Options | None = None


class ModerationRequest(BaseModel):
    """Text to moderate, one string or a list (as moderation APIs take it)."""

    model_config = ConfigDict(extra="forbid")
    input: str | list[str] = Field(description="a text, or up to 100 texts")
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


def _init_worker(model: str, options, threads: int) -> None:
    """Load the model once per worker process, with its share of the cores."""
    global _WORKER_SCORER
    _WORKER_SCORER = Scorer.load(model, options)
    _WORKER_SCORER.limit_threads(threads)


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
    try:
        page_scorer = scorer.with_options(**changes) if changes else scorer
    except OptionError as error:
        return ("error", 422, str(error))
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
                               initargs=(str(scorer.bundle.path), scorer.options,
                                         max(1, (os.cpu_count() or 1) // workers)))
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

    @app.post("/v1/moderations", summary="Moderate text: {\"input\": str | [str]}")
    async def moderations(request: ModerationRequest) -> dict[str, Any]:
        """One compact result per input text, in order (`flagged`, `categories`,
        `category_scores`, `spans`, `passages`; set `options.detail` to "full" for units);
        a text that cannot be scored gets `error` set and `score` null."""
        texts = [request.input] if isinstance(request.input, str) else request.input
        if len(texts) > MAX_BATCH:
            raise HTTPException(422, f"at most {MAX_BATCH} inputs per request")
        given = request.options.model_dump(exclude_none=True) if request.options else {}
        defaults = Options(**{"detail": "compact", **given})
        outcomes = await within_budget(asyncio.gather(
            *(run(ScoreRequest(text=text), defaults, False) for text in texts)))
        results = [outcome[1] if outcome[0] == "ok"
                   else scorer.error_result("<text>", outcome[2], text).to_dict(detail="compact")
                   for text, outcome in zip(texts, outcomes)]
        return {"model": scorer.model_info(), "results": results}

    @app.get("/healthz", summary="Liveness and the loaded model")
    async def healthz() -> dict[str, Any]:
        return {"status": "ok", "model": scorer.model_info()}

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index() -> str:
        return REVIEW_PAGE

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
          connection_limit: int = CONNECTION_LIMIT, profile: str = "accurate") -> None:
    """Load the model and run the service with uvicorn: ``workers`` scoring processes, at
    most ``connection_limit`` connections at once, request headers due within
    :data:`HEADER_TIMEOUT` s and bodies within :data:`BODY_TIMEOUT` s, idle keep-alive
    connections closed after 5 s. ``profile`` picks the model profile ("accurate" or
    "fast") when ``model`` is not a card."""
    import uvicorn

    uvicorn.run(create_app(Scorer.load(model, profile=profile), allow_urls=allow_urls,
                           workers=workers),
                host=host, port=port, limit_concurrency=connection_limit, timeout_keep_alive=5,
                http=header_deadline_protocol())
