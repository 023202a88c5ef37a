"""What bad or doubtful input raises and warns: light, so that the command line can catch
them before it imports anything that reads a scenario."""

from __future__ import annotations


class ScenarioError(ValueError):
    """Bad input: the message names the field, the value and what is allowed, in one line."""


class ScenarioWarning(UserWarning):
    """A scenario that runs, but not quite as written: the command line prints it once."""


class DeprecatedRegionWarning(ScenarioWarning):
    """A region Fly.io deprecated in 2025: existing Machines run, new ones cannot be created."""
