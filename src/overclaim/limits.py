"""Size limits on untrusted input: one place, one unit each.

Every entry point (files, URLs, standard input, ``Scorer.score``, ``score_sentences``,
``score_units``, the spaCy component, the service) checks its input against these before
doing any work, so no input can make overclaim spend more than linear time or memory.
"""

#: The largest input scored, in bytes (UTF-8 for text). ``--max-bytes`` and
#: ``ScoringOptions.max_bytes`` change it.
MAX_INPUT_BYTES = 5_000_000
#: Units longer than this many characters are cut at whitespace (pages) or scored on their
#: first characters (sentences given directly): no real sentence is this long, and it bounds
#: the tokenizer's work per unit.
MAX_UNIT_CHARS = 1000
