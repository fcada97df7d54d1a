"""Inputs: bytes, files, folders, URLs and crawls in; decoded, extracted ``Document`` objects out.

Nothing here knows about models or scores. Untrusted input is capped in size before
any work (:mod:`overclaim.limits`), and URLs are fetched only from public addresses.
"""
