"""overclaim: find overclaiming in health-treatment marketing, sentence by sentence.

The public API (stable, typed)::

    from overclaim import Scorer, ScoringOptions
    scorer = Scorer.load()
    result = scorer.score(html_or_text)      # PageResult
    result.to_dict()                         # JSON schema "overclaim.result/1"

Names are imported lazily so that ``import overclaim`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Scorer": "overclaim.scoring.scorer",
    "ScoringOptions": "overclaim.scoring.options",
    "OptionError": "overclaim.errors",
    "PageResult": "overclaim.scoring.results",
    "SentenceResult": "overclaim.scoring.results",
    "Passage": "overclaim.scoring.results",
    "SCHEMA_VERSION": "overclaim.scoring.results",
    "Cue": "overclaim.text.cues",
    "OverclaimError": "overclaim.errors",
    "InputError": "overclaim.errors",
    "ModelError": "overclaim.errors",
    "CorpusError": "overclaim.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from overclaim.text.cues import Cue
    from overclaim.errors import CorpusError, InputError, ModelError, OptionError, OverclaimError
    from overclaim.scoring.options import ScoringOptions
    from overclaim.scoring.results import SCHEMA_VERSION, PageResult, Passage, SentenceResult
    from overclaim.scoring.scorer import Scorer


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'overclaim' has no attribute {name!r}")
