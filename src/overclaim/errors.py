"""The one error family: everything overclaim raises on purpose is an ``OverclaimError``.

The command line and the service turn these into a one-line message and an exit code or
HTTP status; anything else is a bug and is reported as one.
"""

from __future__ import annotations


class OverclaimError(Exception):
    """Base of every error overclaim raises deliberately; the message tells the user why."""


class InputError(OverclaimError, ValueError):
    """The input cannot be scored (too large, empty, binary, undecodable, unreachable, not
    English); the message says why."""


class ModelError(OverclaimError):
    """A model file is missing, does not match its card, or cannot be used."""


class CorpusError(OverclaimError):
    """The corpus (or rows offered to it) break a rule; the message says which."""


class OptionError(OverclaimError, ValueError):
    """A scoring option is out of its range or names an unknown category."""
