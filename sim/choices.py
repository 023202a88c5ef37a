"""The choices and defaults the command line shows in its help (engines, output formats,
search objectives), kept apart from the code that uses them so that `globalness --help`
lists them without importing an engine."""

from __future__ import annotations

ENGINES = ("auto", "des", "analytic")
FORMATS = ("table", "csv", "json")  # what stdout gets: a table to read, CSV or JSON
OBJECTIVES = {"p50": "p50_ms", "p99": "p99_ms", "mean": "mean_ms"}  # name -> summary column
FINALIST_REPLICATIONS = 3  # seeds each finalist of the search is re-run over
