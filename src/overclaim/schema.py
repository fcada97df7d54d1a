"""The label set and overclaim categories (see ``corpus/GUIDELINES.md``).

Kept in a module of their own so that scoring code can name them without importing
the corpus machinery (pandas) or the training machinery (scikit-learn).
"""

LABELS = ("overclaim", "hedged", "supported", "neutral")
CATEGORIES = (
    "efficacy", "safety", "superiority", "novelty",
    "authority", "testimonial", "statistic", "vague-evidence",
)

#: Who speaks in a document: the kind of page it is, as found on the web.
VOICES = (
    "clinic-service", "clinic-faq", "patient-stories", "clinic-blog", "tourism-agency",
    "vendor", "press-release", "magazine", "news", "forum", "hospital-leaflet", "regulator",
    "society", "evidence-summary", "journalism", "skeptic-blog",
)
#: What a page is for, as in ``../shared/REALISM.md``: selling, weighing, or a mix.
PAGE_KINDS = ("promotional", "mixed", "evidence")
