"""``python -m overclaim``: the same as the ``overclaim`` command."""

from overclaim.cli import entry

entry()
