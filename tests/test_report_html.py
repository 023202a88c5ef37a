"""report.html as a reviewer's browser shows it (Debian's chromium, headless; .ci/run installs
it): every chart decodes and nothing is wider than the page."""

import re
import shutil
import subprocess

import pytest
from conftest import small_scenario

import sim
from sim.outputs import write_outputs

CHROMIUM = shutil.which("chromium")
CHECK = """<script>
window.addEventListener("load", () => {
  const broken = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).length;
  const wide = Math.max(0, document.documentElement.scrollWidth - window.innerWidth);
  document.body.setAttribute("data-check",
    `images=${document.images.length} broken=${broken} wide=${wide}`);
});
</script></body>"""


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
@pytest.mark.parametrize("width", [1280, 800])
def test_every_chart_decodes_and_nothing_overflows(tmp_path, width):
    result = sim.run(
        small_scenario(faults=[{"region": "iad", "start_s": 20.0, "duration_s": 60.0}])
    )
    written = write_outputs(result, tmp_path, source=tmp_path / "small.yaml")
    page = (tmp_path / "report.html").read_text().replace("</body>", CHECK)
    checked = tmp_path / "checked.html"
    checked.write_text(page)
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={width},900",
         "--virtual-time-budget=10000", "--dump-dom", checked.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    found = re.search(r'data-check="images=(\d+) broken=(\d+) wide=(\d+)"', dom)
    assert found, dom[-500:]
    images, broken, wide = map(int, found.groups())
    assert images == sum(name.endswith(".png") for name in written)
    assert broken == 0 and wide == 0  # wide: pixels the page scrolls sideways
