"""Hostile, broken and strange files (issue 6): generated in code, never committed as binaries."""
