"""Adapters: the ways in from outside: the command line, the HTTP service, the spaCy
component and Dask."""
