"""Size limits on untrusted input: one place, one unit each.

Every entry point (files, URLs, standard input, ``Scorer.score``, ``score_sentences``,
``score_units``, the spaCy component, the service) checks its input against these before
doing any work, so no input can make overclaim spend more than linear time or memory.

The other half of that promise is the regular expressions: every one in the package was
audited (none nests quantifiers over overlapping character classes; repeats are bounded
where a pattern could otherwise rescan, as in ``<[^>]{0,2000}>``), and the one that could
backtrack quadratically, the segmenter's final-punctuation check, is applied to a bounded
tail of each block. ``benchmarks/hostile.py`` and ``tests/test_hostile_input.py`` check it.
"""

#: The largest input scored, in bytes (UTF-8 for text). ``--max-bytes`` and
#: ``ScoringOptions.max_bytes`` change it.
MAX_INPUT_BYTES = 5_000_000
#: Units longer than this many characters are cut at whitespace (pages) or scored on their
#: first characters (sentences given directly): no real sentence is this long, and it bounds
#: the tokenizer's work per unit.
MAX_UNIT_CHARS = 1000
#: Units scored in one model call: a page of any length is scored this many units at a
#: time (with its whole-page context), so peak memory follows the chunk, not the page.
SCORE_CHUNK_UNITS = 1000
#: Entries a per-word memo (tokenizer, cue matcher, character n-grams) holds before it is
#: emptied, and the longest word it keeps: together they bound each memo to a few megabytes
#: whatever the input (see ``overclaim/cache.py``).
WORD_CACHE_SIZE = 50_000
CACHED_WORD_MAX_CHARS = 40
