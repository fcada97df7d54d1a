"""A simulated audit: `overclaim scan --urls --crawl --resume` over hundreds of local sites.

    python benchmarks/audit.py          # prints its section; benchmarks/run.py includes it

The sites are the test farm (`tests/farm.py`: one HTTP server per loopback address, with
slow pages, dead links, redirect loops, dead sites and a busy server). Measured: pages per
second and the scan process's peak memory for two farm sizes (memory should not grow with
the number of pages), and correctness after a kill: a run killed part-way and resumed must
hold every page exactly once, the same pages as an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.farm import Farm  # noqa: E402

# Runs the CLI and reports the process's own peak memory (VmHWM) on exit.
SCAN = """
import atexit, json, sys
def peak():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
atexit.register(lambda: print(json.dumps({"peak_mb": peak()}), file=sys.stderr))
from overclaim.adapters.cli import main
sys.argv = ["overclaim"] + sys.argv[1:]
main()
"""


def _args(urls: Path, out: Path) -> list[str]:
    return ["scan", "--urls", str(urls), "--crawl", "6", "--delay", "0", "--timeout", "0.5",
            "--retries", "1", "--concurrency", "16", "--profile", "fast", "--resume",
            "-o", str(out), "--format", "jsonl", "--no-progress"]


def _sources(path: Path) -> list[str]:
    return [json.loads(line)["source"] for line in path.read_text().splitlines() if line.strip()]


def _scan(urls: Path, out: Path) -> tuple[float, float]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", SCAN, *_args(urls, out)], cwd=ROOT,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    peak = json.loads(done.stderr.strip().splitlines()[-1])["peak_mb"]
    return seconds, peak


def _killed_then_resumed(urls: Path, out: Path, kill_after: int) -> None:
    process = subprocess.Popen([sys.executable, "-c", SCAN, *_args(urls, out)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    while process.poll() is None and (not out.exists() or
                                      out.read_bytes().count(b"\n") < kill_after):
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    _scan(urls, out)


def run_audit(sizes: tuple[int, ...] = (100, 300)) -> list[str]:
    lines = ["## A simulated audit (`scan --urls --crawl 6 --resume`, fast profile)", "",
             "Local sites on 127.0.x.y (one in seven dead, one in seven with a page slower "
             "than the 0.5 s timeout, others with dead links, redirect loops, a sitemap-only "
             "page or a 503 answered once); politeness delay 0 here (a real audit uses the "
             "default 1 s per host), 16 hosts at once.", "",
             "| sites | pages written | seconds | pages/s | peak MB of the scan process |",
             "|---:|---:|---:|---:|---:|"]
    kill_report = ""
    for index, n in enumerate(sizes):
        with tempfile.TemporaryDirectory() as tmp, Farm(n, first_address=index * 400) as farm:
            urls = Path(tmp) / "sites.txt"
            urls.write_text("\n".join(farm.start_urls) + "\n")
            out = Path(tmp) / "audit.jsonl"
            seconds, peak = _scan(urls, out)
            pages = _sources(out)
            lines.append(f"| {n} | {len(pages):,} | {seconds:.1f} | {len(pages) / seconds:.1f} | "
                         f"{peak:.0f} |")
            if index == len(sizes) - 1:
                again = Path(tmp) / "killed.jsonl"
                _killed_then_resumed(urls, again, kill_after=len(pages) * 2 // 5)
                resumed = _sources(again)
                repeats = sum(c - 1 for c in Counter(resumed).values())
                kill_report = (
                    f"Killed (SIGKILL) after {len(pages) * 2 // 5} of {len(pages)} pages were "
                    f"written, then resumed: {len(resumed)} records, {repeats} repeated, "
                    f"{len(set(pages) - set(resumed))} missing and "
                    f"{len(set(resumed) - set(pages))} extra against the uninterrupted run.")
    return lines + ["", kill_report, ""]


if __name__ == "__main__":
    print("\n".join(run_audit()))
