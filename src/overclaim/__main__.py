"""``python -m overclaim``: the same as the ``overclaim`` command."""

from overclaim.adapters.cli import entry

entry()
