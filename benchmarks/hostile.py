"""Hostile input: time by size for adversarial shapes, through the library and the service.

    python benchmarks/hostile.py    # writes benchmarks/hostile.md; needs the test extra (its shapes)

For every shape, the library's ``Scorer.score`` is timed at 10 KB, 100 KB, 250 KB and 1 MB,
and the run fails (exit 1) if four times the input (250 KB -> 1 MB) takes eight times the
time or more: the mark of super-linear work. Then a real service (uvicorn, one worker
process) scores a 1 MB hostile request while ``/healthz`` is polled, and the slowest
``/healthz`` answer is reported against the one-second goal. Ratios only: wall-clock
figures depend on the machine and are not asserted.
"""

from __future__ import annotations

import json
import platform
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "hostile.md"
SIZES = (10_000, 100_000, 250_000, 1_000_000)
#: Four times the input may take at most this many times as long.
MAX_GROWTH = 8.0

sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))
from tests.test_hostile_input import ADVERSARIAL  # noqa: E402  (one list of shapes)

#: The test suite's adversarial shapes, plus a page of plausible claims as the baseline.
SHAPES = {**ADVERSARIAL,
          "claims": lambda n: ("Our stem cells repair every disc, with no risk at all. " * (n // 56 + 1))[:n]}


def seconds(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def library_table(scorer) -> tuple[list[str], list[str]]:
    from overclaim import InputError

    lines = ["| shape | " + " | ".join(f"{n // 1000} KB" for n in SIZES) + " | x4 input -> time |",
             "|---|" + "---:|" * (len(SIZES) + 1)]
    failures = []
    for name, make in SHAPES.items():
        times = []
        for n in SIZES:
            text = make(n)

            def run():
                try:
                    scorer.score(text)
                except InputError:
                    pass
            times.append(seconds(run))
        growth = times[-1] / max(times[-2], 1e-6)
        if growth >= MAX_GROWTH:
            failures.append(f"{name}: x{growth:.1f}")
        lines.append(f"| {name} | " + " | ".join(f"{t:.3f} s" for t in times) + f" | x{growth:.1f} |")
    return lines, failures


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def body_for(name: str, limit: int) -> bytes:
    """The largest JSON request of this shape under ``limit`` bytes."""
    n = limit
    while True:
        body = json.dumps({"text": SHAPES[name](n)}).encode()
        if len(body) <= limit:
            return body
        n = int(n * 0.95)


def post_while_polling(base: str, body: bytes) -> tuple[int, float, list[float]]:
    """POST ``body`` to /v1/score; meanwhile poll /healthz. Status, seconds, /healthz waits."""
    outcome = {}

    def post():
        request = urllib.request.Request(base + "/v1/score", data=body,
                                         headers={"content-type": "application/json"})
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                outcome["status"] = response.status
        except urllib.error.HTTPError as error:
            outcome["status"] = error.code
        outcome["seconds"] = time.perf_counter() - start

    worker = threading.Thread(target=post)
    worker.start()
    waits = []
    while worker.is_alive():
        waits.append(seconds(lambda: urllib.request.urlopen(base + "/healthz", timeout=30).read()))
        time.sleep(0.05)
    worker.join()
    return outcome["status"], outcome["seconds"], waits


def service_table() -> tuple[list[str], list[str]]:
    """Every shape through a real server (one worker process): time at a quarter and at the
    full 1 MB body, and the slowest /healthz answer while the full one is scored."""
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "overclaim", "serve", "--port", str(port),
                               "--workers", "1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    lines, failures = [], []
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("the service did not start on " + base)
        for name in SHAPES:
            _, quarter, _ = post_while_polling(base, body_for(name, 250_000))
            status, full, waits = post_while_polling(base, body_for(name, 999_000))
            growth = full / max(quarter, 1e-3)
            if growth >= MAX_GROWTH:
                failures.append(f"{name} (service): x{growth:.1f}")
            lines.append(f"| {name} | {status} | {quarter:.2f} s | {full:.2f} s | x{growth:.1f} | "
                         f"{max(waits, default=0) * 1000:.0f} ms |")
        return lines, failures
    finally:
        server.terminate()
        server.wait(30)


def main() -> int:
    from overclaim import Scorer

    scorer = Scorer.load()
    table, failures = library_table(scorer)
    stall, service_failures = service_table()
    failures += service_failures
    report = [
        "# Hostile input", "",
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}. "
        "Run: `python benchmarks/hostile.py`.", "",
        "## Library: `Scorer.score` time by input size", "", *table, "",
        "## Service: the same shapes through a real server (one worker process)", "",
        "Request bodies of 250 KB and just under the service's 1 MB limit; `/healthz` is polled "
        "while the large one is scored (goal: under a second).", "",
        "| shape | status | 250 KB body | 1 MB body | x4 input -> time | slowest /healthz |",
        "|---|---:|---:|---:|---:|---:|", *stall, "",
        f"Four times the input must take less than {MAX_GROWTH:.0f} times as long, in the library "
        "and through the service: "
        + ("**met** for every shape." if not failures else "**not met**: " + ", ".join(failures)),
    ]
    text = "\n".join(report) + "\n"
    from overclaim import atomic

    atomic.write_text(OUT, text)
    print(text)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
