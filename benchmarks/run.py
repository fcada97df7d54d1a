"""Speed and memory of overclaim's two profiles, as ratios against baselines run in the
same process, plus parallelism, memory by input size, start-up and a simulated audit.

    python benchmarks/run.py            # writes benchmarks/results.md and prints it
    python benchmarks/run.py --quick    # fewer repetitions

Baselines: regex sentence splitting (the floor), overclaim's segmentation alone (spaCy's
English tokens, made without spaCy; spaCy's own tokenizer is timed beside it), and
a plain word+char TF-IDF + logistic regression pipeline trained on the same corpus (the
frozen-MiniLM peer is `benchmarks/minilm_peer.py`: it needs torch). Not part of the test
suite: timings depend on the machine, so only ratios mean anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results.md"


def timed(function, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def percentiles(times: list[float]) -> dict[str, float]:
    ms = np.array(times) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p90": float(np.percentile(ms, 90)),
            "p99": float(np.percentile(ms, 99))}


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def regex_split(text: str) -> list[str]:
    return [part for part in re.split(r"(?<=[.!?])\s+|\n+", text) if part.strip()]


def tfidf_lr(corpus):
    """The plain peer: word + char TF-IDF and logistic regression, no cues or context."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.feature_extraction.text import TfidfVectorizer

    pipeline = make_pipeline(
        FeatureUnion([("w", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)),
                      ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                                            sublinear_tf=True, max_features=60000))]),
        LogisticRegression(max_iter=2000))
    return pipeline.fit(corpus["text"], corpus["label"])


def cold(code: str) -> float:
    """Seconds for a fresh Python process to run ``code`` (best of 3)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                       stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def child_report(code: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# Peak resident memory of the process itself (VmHWM; ru_maxrss would include the parent's).
PEAK = """
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

MEMORY_BY_SIZE_CODE = PEAK + """
import json, sys
from pathlib import Path
from overclaim import Scorer
from overclaim.training import corpus
profile, size = sys.argv[1], int(sys.argv[2])
scorer = Scorer.load(profile=profile)
table = corpus.load()
text = "\\n\\n".join((corpus.corpus_dir() / d).read_text() for d in sorted(set(table["doc"])))
while len(text) < size:
    text += "\\n\\n" + text
text = text[:size]
scorer.score(text[:2000])
del table
before = peak_mb()
result = scorer.score(text)
print(json.dumps({"before_mb": before, "peak_mb": peak_mb(), "units": len(result.sentences)}))
"""

BASE_MEMORY_CODE = PEAK + """
import json
import numpy
print(json.dumps({"peak_mb": peak_mb()}))
"""

SPACY_MEMORY_CODE = PEAK + """
import json
import spacy
spacy.blank("en")
print(json.dumps({"peak_mb": peak_mb()}))
"""

SIZES = [10_000, 100_000, 1_000_000, 4_000_000]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--no-audit", action="store_true", help="skip the simulated audit")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7

    from overclaim import Scorer
    from overclaim.text.segment import segment
    from overclaim.training import corpus

    table = corpus.load()
    documents = [(corpus.corpus_dir() / d).read_text(encoding="utf-8")
                 for d in sorted(set(table["doc"]))]
    peer = tfidf_lr(table)
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {machine()}. Run: `python benchmarks/run.py`"
        f"{' --quick' if args.quick else ''}; best of {repeat} for throughput.",
        "",
    ]
    # the accurate profile costs ~10x per unit: it is timed on a tenth of the corpus
    for profile, share in (("fast", 1), ("accurate", 10)):
        scorer = Scorer.load(profile=profile)
        docs = documents[::share]
        sentences = table["text"].tolist()[::share]
        lines += throughput(profile, scorer, docs, sentences, peer, segment, repeat)
        lines += latency(profile, scorer, documents, peer, repeat)
    lines += parallel(Scorer, documents, table)
    lines += service_rows(documents)
    lines += startup_and_memory()
    if not args.no_audit:
        from audit import run_audit

        lines += run_audit()
    report = "\n".join(lines) + "\n"
    from overclaim import atomic

    atomic.write_text(OUT, report)
    update_readme(report)
    print(report)


def update_readme(report: str) -> None:
    """Put this run's tables into README.md, between its benchmark markers (headings one
    level down), so the README always shows the last run and nothing else."""
    from overclaim import atomic

    readme = ROOT / "README.md"
    text = readme.read_text(encoding="utf-8")
    start, end = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
    if start not in text or end not in text:
        raise SystemExit("README.md has no benchmark markers")
    body = "\n".join(("#" + line if line.startswith("## ") else line)
                     for line in report.splitlines() if not line.startswith("# "))
    head, rest = text.split(start, 1)
    atomic.write_text(readme, head + start + "\n" + body.strip() + "\n" + end + rest.split(end, 1)[1])


def throughput(profile, scorer, documents, sentences, peer, segment, repeat) -> list[str]:
    all_text = "\n\n".join(documents)
    megabytes = len(all_text.encode()) / 1e6
    n_units = len(segment(all_text))
    best = lambda f: min(timed(f, repeat))  # noqa: E731
    t_regex = best(lambda: regex_split(all_text))
    t_segment = best(lambda: segment(all_text))
    import spacy

    spacy_tokenizer = spacy.blank("en").tokenizer
    t_spacy = best(lambda: [spacy_tokenizer(d) for d in documents])
    scorer.score(all_text[:20000])
    t_pages = best(lambda: [scorer.score(d) for d in documents])
    t_batch = best(lambda: scorer.score_sentences(sentences))
    t_arrays = best(lambda: scorer.predict_proba(sentences))
    t_peer = best(lambda: peer.predict_proba(sentences))
    rows = [("regex split (floor)", t_regex, n_units),
            ("spaCy's tokenizer alone (Cython)", t_spacy, n_units),
            ("segmentation alone (spaCy's tokens, without spaCy)", t_segment, n_units),
            (f"overclaim {profile}: pages (extract+segment+score)", t_pages, n_units),
            (f"overclaim {profile}: score_sentences batch", t_batch, len(sentences)),
            (f"overclaim {profile}: predict_proba batch (arrays only)", t_arrays, len(sentences)),
            ("TF-IDF + LR predict_proba batch", t_peer, len(sentences))]
    lines = [
        f"## Throughput, {profile} profile",
        "",
        f"Data: {len(documents)} corpus documents ({megabytes:.2f} MB, {n_units} units) and "
        f"{len(sentences)} corpus units as a sentence batch.",
        "",
        "| what | seconds | units/s | x regex | x segmentation |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, seconds, units in rows:
        per_unit = seconds / units
        lines.append(f"| {name} | {seconds:.3f} | {units / seconds:,.0f} | "
                     f"{per_unit / (t_regex / n_units):.1f} | {per_unit / (t_segment / n_units):.1f} |")
    lines += ["", f"Pages per second: {len(documents) / t_pages:.1f}. Scoring pages costs "
              f"{t_pages / t_segment:.1f}x segmentation alone per unit.", ""]
    return lines


def latency(profile, scorer, documents, peer, repeat) -> list[str]:
    one = "Our stem cell injections repair worn cartilage in weeks."
    paragraph = next(p for d in documents for p in d.split("\n\n") if len(p) > 400)
    page_8k = "\n\n".join(documents)[:8192]
    lines = [f"## Latency, {profile} profile (ms)", "", "| input | call | p50 | p90 | p99 |",
             "|---|---|---:|---:|---:|"]
    calls = 100 if profile == "fast" else 20
    for label, text in (("1 sentence", one), ("1 paragraph", paragraph), ("8 KB page", page_8k)):
        scorer.score(text)
        for name, call in ((f"overclaim {profile} score()", lambda: scorer.score(text)),
                           ("TF-IDF + LR (regex sentences)",
                            lambda: peer.predict_proba(regex_split(text)))):
            p = percentiles(timed(call, repeat * calls // (10 if label == "8 KB page" else 1)))
            lines.append(f"| {label} | {name} | {p['p50']:.2f} | {p['p90']:.2f} | {p['p99']:.2f} |")
    p = percentiles(timed(lambda: scorer.score_sentences([one]), repeat * calls))
    lines += [f"| 1 sentence | overclaim {profile} score_sentences() | {p['p50']:.2f} | "
              f"{p['p90']:.2f} | {p['p99']:.2f} |", ""]
    return lines


def parallel(Scorer, documents, table) -> list[str]:
    """score_many with 1 and 2 processes, and Dask on 2 local workers, on the same rows."""
    lines = ["## Parallelism (same rows, same process start)", "",
             "| profile | what | seconds | x one process |", "|---|---|---:|---:|"]
    for profile, docs in (("fast", documents * 2), ("accurate", documents[::4])):
        scorer = Scorer.load(profile=profile)
        start = time.perf_counter()
        list(scorer.score_many(docs))
        one = time.perf_counter() - start
        start = time.perf_counter()
        list(scorer.score_many(docs, n_jobs=2))  # includes starting the workers
        two = time.perf_counter() - start
        lines.append(f"| {profile} | score_many, {len(docs)} pages, n_jobs=1 | {one:.2f} | 1.00 |")
        lines.append(f"| {profile} | score_many, n_jobs=2 (processes, start-up included) | "
                     f"{two:.2f} | {one / two:.2f} |")
    lines += dask_rows(Scorer, table)
    return lines + [""]


def dask_rows(Scorer, table) -> list[str]:
    try:
        import dask.dataframe as dd
        import distributed
    except ImportError:
        return ["| fast | Dask: not installed (pip install -e '.[dask]') | | |"]
    from overclaim.adapters.distributed import score_dask

    scorer = Scorer.load(profile="fast")
    frame = table[["text"]].rename(columns={"text": "copy"}).reset_index(drop=True)
    start = time.perf_counter()
    scorer.score_frame(frame, "copy")
    one = time.perf_counter() - start
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        lazy = score_dask(dd.from_pandas(frame, npartitions=8), "copy", scorer)
        lazy.head(1, npartitions=1)  # warm-up: one partition, so one worker has the model
        start = time.perf_counter()
        lazy.compute()
        two = time.perf_counter() - start
    return [f"| fast | score_frame, {len(frame)} rows, one process | {one:.2f} | 1.00 |",
            f"| fast | Dask, 2 local workers, 8 partitions (after a one-partition warm-up) | "
            f"{two:.2f} | {one / two:.2f} |"]


def service_rows(documents) -> list[str]:
    """The HTTP service (fast profile, 2 worker processes) under 1 and 32 concurrent clients."""
    import socket
    from concurrent.futures import ThreadPoolExecutor

    try:
        import httpx
    except ImportError:
        return ["## Service", "", "Not measured: needs the 'serve' extra.", ""]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "overclaim.adapters.cli", "serve", "--port",
                               str(port), "--profile", "fast", "--workers", "2"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=60) as client:
            for _ in range(600):
                try:
                    if client.get(url + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            pages = [d[:4000] for d in documents[:64]]

            def one(text: str) -> float:
                start = time.perf_counter()
                client.post(url + "/v1/score", json={"text": text}).raise_for_status()
                return time.perf_counter() - start

            for text in pages[:8]:
                one(text)  # both workers warm
            lines = ["## Service (`overclaim serve --profile fast --workers 2`, pages up to 4 KB)",
                     "", "| clients at once | requests | requests/s | p50 ms | p99 ms |",
                     "|---:|---:|---:|---:|---:|"]
            for clients, n in ((1, 128), (32, 320)):
                batch = [pages[i % len(pages)] for i in range(n)]
                start = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    times = list(pool.map(one, batch))
                seconds = time.perf_counter() - start
                p = percentiles(times)
                lines.append(f"| {clients} | {n} | {n / seconds:.1f} | {p['p50']:.1f} | "
                             f"{p['p99']:.1f} |")
    finally:
        server.terminate()
        server.wait()
    return lines + [""]


def startup_and_memory() -> list[str]:
    cold_python = cold("pass")
    cold_import = cold("import overclaim")
    cold_spacy = cold("import spacy")
    scan = ("import sys; from overclaim.adapters.cli import main; "
            "sys.argv=['overclaim','scan','tests/data/clinic_page.html','--format','json',"
            "'--profile','{profile}']\ntry:\n    main()\nexcept SystemExit:\n    pass")
    cold_fast = cold(scan.format(profile="fast"))
    cold_accurate = cold(scan.format(profile="accurate"))
    base = child_report(BASE_MEMORY_CODE)
    spacy_base = child_report(SPACY_MEMORY_CODE)
    lines = [
        "## Start-up",
        "",
        f"- bare Python start: {cold_python:.2f} s; `import overclaim`: {cold_import:.2f} s; "
        f"`import spacy` (which scoring no longer does): {cold_spacy:.2f} s",
        f"- cold `overclaim scan --profile fast` of one page (import, load, extract, score, "
        f"print): {cold_fast:.2f} s (goal < 1 s); `--profile accurate`: {cold_accurate:.2f} s",
        "",
        "## Peak memory by input size (one page scored with `score()`)",
        "",
        f"Python with numpy peaks at {base['peak_mb']:.0f} MB, a blank spaCy pipeline at "
        f"{spacy_base['peak_mb']:.0f} MB (scoring no longer loads spaCy). Growth is the peak "
        "while scoring minus the peak after loading the model and scoring a short page.",
        "",
        "| profile | input | units | peak MB | growth MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for profile in ("fast", "accurate"):
        for size in SIZES if profile == "fast" else SIZES[:3]:
            out = subprocess.run([sys.executable, "-c", MEMORY_BY_SIZE_CODE, profile, str(size)],
                                 check=True, cwd=ROOT, capture_output=True, text=True).stdout
            m = json.loads(out.strip().splitlines()[-1])
            lines.append(f"| {profile} | {size / 1e6:g} MB | {m['units']:,} | {m['peak_mb']:.0f} | "
                         f"{m['peak_mb'] - m['before_mb']:.0f} |")
    return lines + [""]


if __name__ == "__main__":
    main()
