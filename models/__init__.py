"""The shipped models, installed as package data (``overclaim.bundled``); see artifact."""
