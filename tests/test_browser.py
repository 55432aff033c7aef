"""End-to-end: the dashboard in a real browser (Debian chromium driven by Playwright)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no browser at {CHROMIUM} (apt-get install chromium)"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = _free_port()
    env = {**os.environ, "MEASURES_PUBLIC": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("streamlit did not start: " + process.stderr.read().decode()[-2000:])
    yield url
    process.terminate()
    process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(url)
    page.wait_for_selector("[data-testid=stApp]", timeout=30_000)
    # Streamlit is settled when its status widget stops showing "running".
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    return page


def _canvas_is_drawn(page, selector: str) -> bool:
    """A map canvas has many different colours once deck.gl has drawn polygons into it."""
    from PIL import Image

    element = page.locator(selector).first
    element.scroll_into_view_if_needed()
    time.sleep(2)  # WebGL draws on the next frames
    image = Image.open(io.BytesIO(element.screenshot())).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    return len(colours) > 20


def test_overview_renders_every_measure(server, browser):
    page = _open(browser, server + "/")
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Traceback" not in page.content()
    assert page.locator(".js-plotly-plot").count() >= 10  # one sparkline per measure
    assert page.get_by_text("Reported modern slavery").count() >= 1
    page.close()


def test_recorded_crime_shared_link_shows_plymouth_chart_and_map(server, browser):
    page = _open(browser, server + "/recorded-crime?area=E22000056")
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.get_by_text("Plymouth: crimes by month").count() == 1
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 1
    assert _canvas_is_drawn(page, "[data-testid=stDeckGlJsonChart]")
    page.close()


def test_hostile_address_gives_a_working_page(server, browser):
    page = _open(browser, server + "/recorded-crime?area=%27%3B%20drop%20table%20x%3B--&from=2025-06&to=2019-01")
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Traceback" not in page.content()
    assert page.get_by_text("Devon and Cornwall: crimes by month").count() == 1
    page.close()
