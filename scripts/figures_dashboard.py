"""Screenshots of the dashboard for the README: docs/figures/dashboard.png and dashboard_full.png.

Serves the dashboard (``python -m zq_sim.dashboard``) on a free port, opens it in headless
Chromium (Debian's ``chromium``, driven by Playwright), picks the ``integrated`` scenario so the
figures compare it with the baseline, and saves the top of the page and the whole page.

    .venv/bin/python scripts/figures_dashboard.py [OUT_DIR]     # default docs/figures
"""

from __future__ import annotations

import sys
from pathlib import Path

from zq_sim.dashboard.browser import (
    DONE,
    browser_page,
    chromium_path,
    select_scenario,
    serve,
    wait_for_results,
)

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "integrated"


def main(out_dir: Path = ROOT / "docs" / "figures") -> list[Path]:
    """Make the screenshots; return their paths."""
    if chromium_path() is None:
        sys.exit("figures_dashboard: error: Chromium is not installed "
                 "(Debian: apt-get install chromium)")
    out_dir.mkdir(parents=True, exist_ok=True)
    top, full = out_dir / "dashboard.png", out_dir / "dashboard_full.png"
    with serve() as url, browser_page(url, width=1400, height=1200) as page:
        wait_for_results(page)
        select_scenario(page, SCENARIO)
        page.mouse.move(0, 0)  # no hover effects in the picture
        bottom = page.evaluate(f"document.querySelector('{DONE}').getBoundingClientRect().bottom")
        page.set_viewport_size({"width": 1400, "height": int(bottom) + 60})
        page.wait_for_timeout(500)
        page.screenshot(path=str(full))
        page.screenshot(path=str(top), clip={"x": 0, "y": 0, "width": 1400, "height": 1200})
    return [top, full]


if __name__ == "__main__":
    for path in main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "figures"):
        print(path)
