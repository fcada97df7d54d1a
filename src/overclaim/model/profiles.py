"""The shipped model profiles and their cards' names (no heavy imports: the CLI reads these
to build its options).

"fast" is the linear model alone; "accurate" adds the fine-tuned encoder and a stacker
(:mod:`overclaim.model.ensemble`) and names the fast profile's card, whose files it uses.
"""

DEFAULT_NAME = "overclaim-default"
PROFILES = {"accurate": "overclaim-accurate", "fast": DEFAULT_NAME}
DEFAULT_PROFILE = "accurate"
