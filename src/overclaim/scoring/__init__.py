"""Scoring: the options, the ``Scorer`` that turns documents into scored units, the page
builder that makes page results from units, and batch scanning of many sources."""
