"""Drive the dashboard in a real browser: serve it, open it in headless Chromium, wait for it.

Used by the browser test (tests/test_dashboard.py) and by the script that makes the README's
screenshot (scripts/figures_dashboard.py); :func:`screenshot_html` pictures any local page,
such as a sweep's report.html. Playwright drives the system's Chromium (Debian's
``chromium`` package) through ``executable_path``: Playwright's own browser download is not
needed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

#: CSS selectors of the page's states (classes set in zq_sim.dashboard.app).
DONE = ".zq-status-done"
RUNNING = ".zq-status-running"


def chromium_path() -> str | None:
    """The system's Chromium, or None when it is not installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on this machine now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(port: int | None = None, timeout: float = 90.0) -> Iterator[str]:
    """Start ``python -m zq_sim.dashboard`` on a free port; yield its address; stop it after."""
    port = port or free_port()
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    proc = subprocess.Popen([sys.executable, "-m", "zq_sim.dashboard", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the dashboard exited with status {proc.returncode}: "
                                   f"{proc.stdout.read() if proc.stdout else ''}")
            try:
                with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - local address
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dashboard did not answer on {url} in {timeout:.0f} s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def browser_page(url: str, width: int = 1400, height: int = 1000) -> Iterator:
    """A Playwright page of headless Chromium at ``url`` (the system's Chromium)."""
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise RuntimeError("Chromium is not installed (Debian: apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True,
                                     args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(url)
            yield page
        finally:
            browser.close()


def screenshot_html(html: Path, out: Path, width: int = 1200,
                    height: int | None = None) -> Path:
    """A screenshot of a local HTML file (a report.html) in headless Chromium.

    The whole page, or its top ``height`` pixels when given.
    """
    with browser_page(Path(html).resolve().as_uri(), width=width,
                      height=height or 800) as page:
        page.wait_for_load_state("load")
        page.screenshot(path=str(out), full_page=height is None)
    return Path(out)


def wait_for_results(page, timeout: float = 60.0) -> None:
    """Wait until the page shows a finished run (and no run in progress)."""
    page.wait_for_selector(DONE, timeout=timeout * 1000)
    page.wait_for_selector(RUNNING, state="detached", timeout=timeout * 1000)
    page.wait_for_selector(DONE, timeout=timeout * 1000)
    page.wait_for_function("() => document.querySelectorAll('img').length >= 4",
                           timeout=timeout * 1000)


def select_scenario(page, name: str, timeout: float = 60.0) -> None:
    """Pick a scenario in the page's scenario list and wait for its run to be shown."""
    page.locator(".zq-scenario .v-field").click()
    page.locator(".v-overlay .v-list-item-title").get_by_text(name, exact=True).click()
    page.wait_for_selector(f"{DONE} >> text=Scenario {name},", timeout=timeout * 1000)
    wait_for_results(page, timeout)
