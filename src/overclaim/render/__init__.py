"""Render: scan results as a terminal table, JSON, JSON lines, CSV, Markdown or HTML."""
