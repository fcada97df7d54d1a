"""The label set and overclaim categories (see ``corpus/GUIDELINES.md``).

Kept in a module of their own so that scoring code can name them without importing
the corpus machinery (pandas) or the training machinery (scikit-learn).
"""

LABELS = ("overclaim", "hedged", "supported", "neutral")
CATEGORIES = (
    "efficacy", "safety", "superiority", "novelty",
    "authority", "testimonial", "statistic", "vague-evidence",
)
