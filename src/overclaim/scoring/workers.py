"""Scoring in worker processes: real parallelism for batches (threads share one GIL).

The model is loaded once per worker, not once per item. Items travel in chunks and come
back in input order, with a bounded number of chunks in flight so a long iterator streams.

How workers start: "fork" where the platform has it, the model has no encoder and this
process runs no other thread; the workers then share the loaded model with no import,
pickling or loading at all (a fast-profile batch of 898 pages went from 0.98x to 1.81x
of one process on 2 cores: benchmarks/results.md). Otherwise "spawn", each worker unpickling the scorer once:
a forked copy of onnxruntime's thread pool is not safe, and forking while another
thread (a crawl's fetcher) may hold a lock can deadlock the child. Each worker's encoder
gets its share of the cores, so workers do not oversubscribe them.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    from overclaim.scoring.results import PageResult
    from overclaim.scoring.scorer import Scorer

#: Items sent to a worker at once: large enough to amortise the trip, small enough to stream.
CHUNK_SIZE = 8

_worker_scorer: "Scorer | None" = None


def score_in_processes(scorer: "Scorer", items: Iterable[object], n_jobs: int,
                       chunk_size: int = CHUNK_SIZE) -> Iterator["PageResult"]:
    """``scorer.score_or_error`` over ``items`` in ``n_jobs`` processes, in input order.

    Items that are not text are answered here (their error result) rather than sent.
    """
    threads = max(1, (os.cpu_count() or 1) // n_jobs)
    method = start_method(scorer)
    payload = scorer if method == "fork" else pickle.dumps(scorer)  # fork: inherited as is
    pool = ProcessPoolExecutor(n_jobs, mp_context=multiprocessing.get_context(method),
                               initializer=_start_worker, initargs=(payload, threads))
    with pool:
        pending: deque = deque()
        for chunk in _chunks(items, chunk_size):
            texts = [item for item in chunk if isinstance(item, (str, bytes, bytearray))]
            pending.append((chunk, pool.submit(_score_chunk, texts)))
            if len(pending) >= 2 * n_jobs:
                yield from _merge(scorer, *pending.popleft())
        while pending:
            yield from _merge(scorer, *pending.popleft())


def start_method(scorer: "Scorer") -> str:
    """"fork" when it is safe here (see the module's docstring), else "spawn"."""
    forkable = ("fork" in multiprocessing.get_all_start_methods()
                and getattr(scorer.bundle.compiled, "encoder", None) is None
                and threading.active_count() == 1)
    return "fork" if forkable else "spawn"


def _merge(scorer: "Scorer", chunk: list, future) -> Iterator["PageResult"]:
    scored = iter(future.result())
    for item in chunk:
        yield next(scored) if isinstance(item, (str, bytes, bytearray)) else scorer.score_or_error(item)


def _chunks(items: Iterable[object], size: int) -> Iterator[list]:
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _start_worker(payload: "bytes | Scorer", threads: int) -> None:
    global _worker_scorer
    _worker_scorer = pickle.loads(payload) if isinstance(payload, bytes) else payload
    _worker_scorer.limit_threads(threads)


def _score_chunk(texts: list) -> list:
    assert _worker_scorer is not None, "the worker was not started"
    return [_worker_scorer.score_or_error(text) for text in texts]
