"""Speed and memory of overclaim, as ratios against baselines measured in the same run.

    python benchmarks/run.py            # writes benchmarks/results.md and prints it
    python benchmarks/run.py --quick    # fewer repetitions

Baselines: regex sentence splitting (the floor), overclaim's spaCy segmentation alone, and
a plain word+char TF-IDF + logistic regression pipeline trained on the same corpus. Not
part of the test suite: timings depend on the machine, so only ratios mean anything.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
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

MEMORY_CODE = PEAK + """
import json, sys
from pathlib import Path
from overclaim import Scorer
scorer = Scorer.load()
documents = sorted(Path("corpus/documents").rglob("*.txt"))
texts = [line for path in documents for line in path.read_text().splitlines() if line.strip()]
scorer.score_sentences(texts)
for path in documents:
    scorer.score(path.read_text())
print(json.dumps({"peak_mb": peak_mb(), "torch": "torch" in sys.modules,
                  "sklearn": "sklearn" in sys.modules, "pandas": "pandas" in sys.modules}))
"""

BASE_MEMORY_CODE = PEAK + """
import json
import spacy
spacy.blank("en")
print(json.dumps({"peak_mb": peak_mb()}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7

    from overclaim import Scorer
    from overclaim.training import corpus
    from overclaim.text.segment import segment

    table = corpus.load()
    sentences = table["text"].tolist()
    documents = [(corpus.corpus_dir() / d).read_text(encoding="utf-8")
                 for d in sorted(set(table["doc"]))]
    all_text = "\n\n".join(documents)
    page_8k = all_text[:8192]
    paragraph = documents[3].split("\n\n")[2] if "\n\n" in documents[3] else documents[3][:600]
    one = "Our stem cell injections repair worn cartilage in weeks."
    scorer = Scorer.load()
    peer = tfidf_lr(table)
    megabytes = len(all_text.encode()) / 1e6
    n_units = len(segment(all_text))

    rows = []

    def add(name: str, seconds: float, units: int, baseline: str = "") -> None:
        rows.append({"what": name, "seconds": seconds, "units_per_s": units / seconds,
                     "mb_per_s": megabytes / seconds if units == n_units else None,
                     "baseline": baseline})

    best = lambda f: min(timed(f, repeat))  # noqa: E731
    segment(all_text)  # warm the tokenizer's vocabulary
    t_regex = best(lambda: regex_split(all_text))
    t_segment = best(lambda: segment(all_text))
    scorer.score(all_text[:20000])
    t_pages = best(lambda: [scorer.score(d) for d in documents])
    t_batch = best(lambda: scorer.score_sentences(sentences))
    t_peer = best(lambda: peer.predict_proba(sentences))
    add("regex split, all documents (floor)", t_regex, n_units)
    add("spaCy segmentation alone, all documents", t_segment, n_units)
    add("overclaim scan of all documents (extract+segment+features+model)", t_pages, n_units)
    add("overclaim score_sentences, corpus batch", t_batch, len(sentences))
    add("TF-IDF + LR predict_proba, corpus batch", t_peer, len(sentences))

    latency = {}
    for label, text in (("1 sentence", one), ("1 paragraph", paragraph), ("8 KB page", page_8k)):
        scorer.score(text)
        latency[label] = {
            "overclaim score()": percentiles(timed(lambda: scorer.score(text), repeat * 30)),
            "TF-IDF + LR (sentences of the text)": percentiles(
                timed(lambda: peer.predict_proba(regex_split(text)), repeat * 30)),
        }
    single = percentiles(timed(lambda: scorer.score_sentences([one]), repeat * 100))

    cold_import = cold("import overclaim")
    cold_scan = cold("import subprocess, sys; from overclaim.adapters.cli import main; "
                     "sys.argv=['overclaim','scan','tests/data/clinic_page.html','--format','json'];"
                     "\ntry:\n    main()\nexcept SystemExit:\n    pass")
    cold_python = cold("pass")
    memory = child_report(MEMORY_CODE)
    base_memory = child_report(BASE_MEMORY_CODE)

    lines = [
        "# Benchmarks",
        "",
        f"Machine: {machine()}. Run: `python benchmarks/run.py`"
        f"{' --quick' if args.quick else ''}, best of {repeat} for throughput.",
        f"Data: the corpus's {len(documents)} documents ({megabytes:.2f} MB, {n_units} units) "
        f"and its {len(sentences)} units as a sentence batch.",
        "",
        "## Throughput",
        "",
        "| what | seconds | units/s | MB/s | x regex | x spaCy segmentation |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        mb = f"{row['mb_per_s']:.3f}" if row["mb_per_s"] else ""
        per_unit = 1 / row["units_per_s"]
        lines.append(f"| {row['what']} | {row['seconds']:.3f} | {row['units_per_s']:,.0f} | {mb} | "
                     f"{per_unit / (t_regex / n_units):.1f} | {per_unit / (t_segment / n_units):.1f} |")
    lines += [
        "",
        f"Pages per second (whole documents, extract+segment+score): {len(documents) / t_pages:.1f}.",
        f"Batch scoring costs {t_pages / t_segment:.1f}x segmentation alone per unit "
        f"(goal: within 3x); the plain TF-IDF + LR peer costs "
        f"{(t_peer / len(sentences)) / (t_segment / n_units):.1f}x.",
        "",
        "## Latency (ms)",
        "",
        "| input | pipeline | p50 | p90 | p99 |",
        "|---|---|---:|---:|---:|",
    ]
    for label, by_pipeline in latency.items():
        for name, p in by_pipeline.items():
            lines.append(f"| {label} | {name} | {p['p50']:.2f} | {p['p90']:.2f} | {p['p99']:.2f} |")
    lines.append(f"| 1 sentence | overclaim score_sentences() | {single['p50']:.2f} | "
                 f"{single['p90']:.2f} | {single['p99']:.2f} |")
    lines += [
        "",
        "## Start-up and memory",
        "",
        f"- bare Python start: {cold_python:.2f} s",
        f"- `import overclaim`: {cold_import:.2f} s ({cold_import / cold_python:.1f}x bare Python)",
        f"- cold `overclaim scan` of one page (import, load model, extract, score, print): "
        f"{cold_scan:.2f} s",
        f"- peak memory scoring every corpus line as a sentence batch and every document as "
        f"a page: {memory['peak_mb']:.0f} MB (a blank spaCy pipeline alone: "
        f"{base_memory['peak_mb']:.0f} MB); imported while scoring: torch "
        f"{memory['torch']}, scikit-learn {memory['sklearn']}, pandas {memory['pandas']}",
    ]
    report = "\n".join(lines) + "\n"
    from overclaim import atomic

    atomic.write_text(OUT, report)
    print(report)


if __name__ == "__main__":
    main()
