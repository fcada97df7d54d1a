"""How much the corpus reads like the real web: a style-only classifier and REALISM.md's figures.

A model trained on text that does not look like the web learns the wrong things. Two
measures say how far the authored documents are from real pages:

1. **Style separability.** A classifier that sees only style (function words, punctuation,
   word shape and length; every other word is masked to its shape) tries to tell authored
   units from real ones (the seed documents, and any folder of real pages a researcher
   points it at, unlabeled) under document-grouped cross-validation. Its ROC-AUC is the
   measure: 0.5 means the two cannot be told apart by style.
2. **Distribution figures.** Label shares by page kind, unit lengths, heading shares and
   voice markers of the corpus, beside the figures of real pages in ``shared/REALISM.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

#: Figures of 2,301 units from 147 real clinic and evidence pages (``shared/REALISM.md``).
REFERENCE = {
    "label shares": {
        "promotional": {"overclaim": 0.28, "hedged": 0.03, "supported": 0.02, "neutral": 0.67},
        "mixed": {"overclaim": 0.13, "hedged": 0.30, "supported": 0.01, "neutral": 0.56},
        "evidence": {"overclaim": 0.01, "hedged": 0.34, "supported": 0.02, "neutral": 0.63},
    },
    "shape": {
        "median words, overclaim": 20,
        "median words, neutral": 14,
        "neutral units that are headings or fragments": 0.20,
        "overclaim units that are headings": 0.08,
        "overclaims with may/might/could/can/potential": 0.20,
        "overclaims addressing you/your": 0.06,
        "overclaims in we/our voice": 0.10,
        "neutral units naming cells, tissue, growth factors, repair, inflammation": 0.34,
    },
}

# Closed-class English words: what a style model may see. Everything else is masked.
FUNCTION_WORDS = frozenset("""
a about above after again against all also although am an and any are as at be because
been before being below between both but by can could did do does doing down during each
either even ever every few for from further had has have having he her here hers herself
him himself his how however i if in into is it its itself just least less many may me
might more most much must my myself neither no nor not now of off often on once only or
other our ours ourselves out over own per quite rather same shall she should since so
some still such than that the their theirs them themselves then there these they this
those though through thus to too under until up upon us very was we were what when where
whether which while who whom whose why will with within without would yet you your yours
yourself yourselves
""".split())

_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?|\d+(?:[.,]\d+)*|[^\w\s]")
_HEDGE_WORDS = re.compile(r"\b(?:may|might|could|can|potential(?:ly)?)\b", re.IGNORECASE)
_YOU = re.compile(r"\b(?:you|your|yours|yourself)\b", re.IGNORECASE)
_WE = re.compile(r"\b(?:we|our|ours|us)\b", re.IGNORECASE)
_BIOLOGY = re.compile(r"\b(?:cells?|tissues?|growth factors?|repair\w*|inflamm\w*|regenerat\w*|"
                      r"platelets?|collagen|cartilage)\b", re.IGNORECASE)
_WORDS = re.compile(r"\S+")


def mask(text: str) -> str:
    """The unit as a style model sees it: function words and punctuation kept, every other
    word replaced by its shape and length class, plus a token for the unit's length."""
    out = []
    for token in _TOKEN.findall(text):
        lower = token.lower()
        if lower in FUNCTION_WORDS:
            out.append(lower)
        elif token[0].isdigit():
            out.append("D")
        elif token[0].isalpha():
            shape = "X" if token.isupper() and len(token) > 1 else "Xx" if token[0].isupper() else "x"
            out.append(f"{shape}{min(len(token) // 4, 3)}")
        else:
            out.append(token)
    words = len(_WORDS.findall(text))
    out.append(f"LEN{min(int(np.log2(words + 1)), 6)}")
    return " ".join(out)


@dataclass
class Realism:
    """The style separability and the distribution figures, ready to print or store."""

    auc: float | None
    units: dict[str, int]
    documents: dict[str, int]
    label_shares: dict[str, dict[str, float]]
    shape: dict[str, float]
    reference: dict = field(default_factory=lambda: REFERENCE)

    def to_dict(self) -> dict:
        return {"style_auc": self.auc, "units": self.units, "documents": self.documents,
                "label_shares": self.label_shares, "shape": self.shape,
                "reference": self.reference}

    def to_markdown(self) -> str:
        auc = "n/a (too few real documents)" if self.auc is None else f"{self.auc:.3f}"
        lines = [f"Style separability (ROC-AUC of a style-only classifier telling authored units "
                 f"from real ones, document-grouped 5-fold CV; 0.5 = indistinguishable): "
                 f"**{auc}** ({self.units['authored']} authored units in "
                 f"{self.documents['authored']} documents against {self.units['real']} real "
                 f"units in {self.documents['real']} documents).", "",
                 "| page kind | | overclaim | hedged | supported | neutral | units |",
                 "|---|---|---:|---:|---:|---:|---:|"]
        for kind, shares in self.label_shares.items():
            ref = self.reference["label shares"].get(kind, {})
            lines.append(f"| {kind} | corpus | " + " | ".join(
                f"{shares.get(label, 0):.0%}" for label in ("overclaim", "hedged", "supported",
                                                            "neutral")) + f" | {shares['units']} |")
            if ref:
                lines.append("| | real pages | " + " | ".join(
                    f"{ref[label]:.0%}" for label in ("overclaim", "hedged", "supported",
                                                      "neutral")) + " | |")
        lines += ["", "| figure | corpus | real pages |", "|---|---:|---:|"]
        for name, value in self.shape.items():
            ref = self.reference["shape"].get(name)
            fmt = (lambda v: f"{v:.0f}") if name.startswith("median") else (lambda v: f"{v:.0%}")
            lines.append(f"| {name} | {fmt(value)} | {'' if ref is None else fmt(ref)} |")
        return "\n".join(lines)


def measure(frame: pd.DataFrame, reference_units: pd.DataFrame | None = None,
            folds: int = 5, seed: int = 0) -> Realism:
    """Style separability of authored against real units, and the corpus's figures.

    ``frame`` is the labeled corpus (its seed documents are the real side);
    ``reference_units`` adds unlabeled real units (columns ``doc`` and ``text``).
    The distribution figures describe the authored documents.
    """
    authored = frame[frame["source"] == "authored"]
    real = frame.loc[frame["source"] == "seed", ["doc", "text"]]
    if reference_units is not None and len(reference_units):
        real = pd.concat([real, reference_units[["doc", "text"]]], ignore_index=True)
    return Realism(
        auc=style_auc(authored["text"], authored["doc"], real["text"], real["doc"], folds, seed),
        units={"authored": len(authored), "real": len(real)},
        documents={"authored": authored["doc"].nunique(), "real": real["doc"].nunique()},
        label_shares=label_shares(authored),
        shape=shape_figures(authored),
    )


def style_auc(authored: Iterable[str], authored_docs: Iterable[str], real: Iterable[str],
              real_docs: Iterable[str], folds: int = 5, seed: int = 0) -> float | None:
    """Out-of-fold ROC-AUC of a style-only classifier (documents never split across folds)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold
    from sklearn.pipeline import make_pipeline

    authored_docs, real_docs = list(authored_docs), list(real_docs)
    texts = [mask(t) for t in [*authored, *real]]
    y = np.r_[np.zeros(len(authored_docs)), np.ones(len(real_docs))]
    groups = np.array(authored_docs + real_docs)
    folds = min(folds, len(set(real_docs)), len(set(authored_docs)))
    if folds < 2:
        return None
    scores = np.zeros(len(texts))
    splitter = StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(texts, y, groups):
        model = make_pipeline(
            TfidfVectorizer(token_pattern=r"\S+", lowercase=False, ngram_range=(1, 3),
                            min_df=2, sublinear_tf=True),
            LogisticRegression(C=1.0, max_iter=2000, class_weight="balanced"))
        model.fit([texts[i] for i in train], y[train])
        scores[test] = model.predict_proba([texts[i] for i in test])[:, 1]
    return round(float(roc_auc_score(y, scores)), 3)


def label_shares(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    out = {}
    for kind, group in frame.groupby("page_kind", sort=False):
        shares = group["label"].value_counts(normalize=True).round(3).to_dict()
        out[str(kind)] = {**shares, "units": len(group)}
    order = ["promotional", "mixed", "evidence"]
    return {k: out[k] for k in sorted(out, key=lambda k: order.index(k) if k in order else 9)}


def shape_figures(frame: pd.DataFrame) -> dict[str, float]:
    words = frame["text"].str.count(r"\S+")
    over = frame["label"] == "overclaim"
    neutral = frame["label"] == "neutral"
    heading = frame["kind"] == "heading"
    fragment = heading | (words < 4)

    def share(mask: pd.Series, within: pd.Series) -> float:
        return round(float(mask[within].mean()), 3) if within.any() else 0.0

    texts = frame["text"]
    return {
        "median words, overclaim": float(words[over].median()),
        "median words, neutral": float(words[neutral].median()),
        "neutral units that are headings or fragments": share(fragment, neutral),
        "overclaim units that are headings": share(heading, over),
        "overclaims with may/might/could/can/potential": share(texts.str.contains(_HEDGE_WORDS), over),
        "overclaims addressing you/your": share(texts.str.contains(_YOU), over),
        "overclaims in we/our voice": share(texts.str.contains(_WE), over),
        "neutral units naming cells, tissue, growth factors, repair, inflammation":
            share(texts.str.contains(_BIOLOGY), neutral),
    }


def reference_units(folder: Path) -> pd.DataFrame:
    """Units of real pages in a folder (HTML or text, unlabeled), cut by the shared segmenter.

    Pages that cannot be read are skipped; the caller reports how many were used.
    """
    from overclaim.errors import InputError
    from overclaim.inputs.sources import from_path, iter_files
    from overclaim.text.segment import segment

    rows = []
    for path, problem in iter_files(Path(folder)):
        if problem is not None:
            continue
        try:
            document = from_path(path)
        except InputError:
            continue
        rows.extend({"doc": str(path), "text": unit.text} for unit in segment(document.text))
    return pd.DataFrame(rows, columns=["doc", "text"])


#: The second annotation: each sampled unit's first, second and adjudicated label.
AGREEMENT_FILE = "annotation/second-annotation.csv"


def agreement(root: Path | None = None) -> dict:
    """Cohen's kappa between the first and the second (blind) annotation, 4-way and binary
    (overclaim against the rest), overall, by source, and for each later sample (ids
    ``<sample>-<n>``, such as the fourth wave's ``w4-v0001``), from the adjudication log."""
    from sklearn.metrics import cohen_kappa_score

    from overclaim.paths import corpus_dir

    log = pd.read_csv((root or corpus_dir()) / AGREEMENT_FILE, dtype=str, keep_default_na=False)
    out = {}
    later = log["id"].str.extract(r"^([a-z0-9]+)-", expand=False)
    samples = [(f"sample {name}", part) for name, part in log.groupby(later)]
    for name, part in [("all", log), *log.groupby("source"), *samples]:
        first, second = part["label_first"], part["label_second"]
        out[str(name)] = {
            "units": len(part),
            "kappa": round(float(cohen_kappa_score(first, second)), 3),
            "kappa_binary": round(float(cohen_kappa_score(first == "overclaim",
                                                          second == "overclaim")), 3),
            "agreement": round(float((first == second).mean()), 3),
            "disagreements": int((first != second).sum()),
            "changed_by_adjudication": int((part["label_adjudicated"] != first).sum()),
        }
    return out


def agreement_markdown(figures: dict) -> str:
    lines = ["| sample | units | kappa (4 labels) | kappa (overclaim vs rest) | raw agreement | "
             "disagreements | labels changed |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, f in figures.items():
        lines.append(f"| {name} | {f['units']} | {f['kappa']:.3f} | {f['kappa_binary']:.3f} | "
                     f"{f['agreement']:.1%} | {f['disagreements']} | {f['changed_by_adjudication']} |")
    return "\n".join(lines)
