"""Labels, categories, voices and page kinds, read from ``data/schema.json``.

One definition, as data: the corpus validator, the model, the scorer, the CLI and the
service's request model all name labels and categories from here, and the cue kinds in
``data/cues/cues.json`` are checked against it. Kept apart from the corpus machinery
(pandas) and the training machinery (scikit-learn) so scoring can import it cheaply.
"""

from __future__ import annotations

import json

from overclaim.paths import DATA_DIR

_SCHEMA = json.loads((DATA_DIR / "schema.json").read_text(encoding="utf-8"))

#: The unit labels, in the column order of every probability array.
LABELS: tuple[str, ...] = tuple(_SCHEMA["labels"])
#: The label the tool looks for (a unit's score is its probability).
POSITIVE: str = _SCHEMA["positive"]
#: Kinds of overclaim, with what each means.
CATEGORY_MEANINGS: dict[str, str] = dict(_SCHEMA["categories"])
CATEGORIES: tuple[str, ...] = tuple(CATEGORY_MEANINGS)
#: Who speaks in a document: the kind of page it is, as found on the web.
VOICES: tuple[str, ...] = tuple(_SCHEMA["voices"])
#: What a page is for, as in ``../shared/REALISM.md``: selling, weighing, or a mix.
PAGE_KINDS: tuple[str, ...] = tuple(_SCHEMA["page_kinds"])

if POSITIVE not in LABELS:  # pragma: no cover - a broken data file
    raise RuntimeError(f"schema.json: positive label {POSITIVE!r} is not among {LABELS}")
