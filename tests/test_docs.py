"""Generated documentation matches the code it documents."""

import runpy
from pathlib import Path

DOCS = Path(__file__).parents[1] / "docs"


def test_scenario_reference_is_generated_from_the_schema():
    render = runpy.run_path(str(DOCS / "scenarios.py"))["render"]
    assert (DOCS / "scenarios.md").read_text() == render(), "run: python docs/scenarios.py"


def test_scenario_reference_lists_every_section_and_key():
    text = (DOCS / "scenarios.md").read_text()
    for heading in ("## `users`", "## `workload.daily`", "## `app`", "## `faults[]`"):
        assert heading in text
    for key in ("`primary_region`", "`scale_count`", "`duration_s`", "`anycast_miss_share`"):
        assert key in text
