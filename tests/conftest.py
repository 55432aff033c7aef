"""Shared test set-up: the repo root on sys.path, fresh Streamlit caches per test, and the
browser-test helpers (a Streamlit server per module, Debian chromium driven by Playwright)."""

from __future__ import annotations

import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
needs_browser = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no browser at {CHROMIUM} (apt-get install chromium)"),
]


# The router's pages and their addresses, read from dashboard.py: {"app_pages/x.py": "x-address"}.
PAGE_ADDRESSES = dict(re.findall(r'st\.Page\("([^"]+)"[^)]*?url_path="([^"]+)"', (REPO / "dashboard.py").read_text()))


def switch_to(at, path: str):
    """Point an AppTest of dashboard.py at one page, as a browser opening that page's address does.

    st.navigation knows a page by the hash of its url_path. AppTest.switch_page can map a file to
    that hash only after a first run has registered the pages, and that first run (the Overview)
    would leave its widgets' state behind; so the page is asked for by its hash (streamlit 1.67).
    The Overview, the default page, needs no switch.
    """
    from streamlit.util import calc_hash

    if path in PAGE_ADDRESSES:
        at._page_hash = calc_hash(PAGE_ADDRESSES[path])
    return at


def open_app_page(path: str | None, timeout: float = 90, **params: object):
    """Run dashboard.py at one page (None: the Overview) with these URL parameters, as a visitor's
    first request does; fail on any exception the page raised."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=timeout)
    for key, value in params.items():
        at.query_params[key] = value
    if path:
        switch_to(at, path)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    yield


def tree_hash(folder: Path) -> dict[str, str]:
    """Every file (content hash) and symlink (target) under a folder: 'unchanged' means equal."""
    import hashlib

    found = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(root) / name
            key = str(path.relative_to(folder))
            if path.is_symlink():
                found[key] = "-> " + os.readlink(path)
            elif path.is_file():
                found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def copy_of_data(parent: Path) -> Path:
    """A private copy of the embedded data folder (published version, history, reference) under `parent`,
    for a test that publishes, rolls back or ingests without touching the repository's data/."""
    folder = Path(parent) / "data"
    shutil.copytree(REPO / "data", folder, symlinks=True)
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def streamlit_server(env: dict[str, str] | None = None, args: list[str] | None = None,
                     plain: bool = False) -> Iterator[str]:
    """`streamlit run dashboard.py` on a free loopback port; yields its base URL. In public mode, the
    public server exactly as `python -m measures serve --public` starts it (its settings, security
    headers and refusals), so every public browser test also runs under its Content-Security-Policy;
    `plain` runs dashboard.py itself (the tests showing what the hardening adds)."""
    from measures.ui import serve

    port = free_port()
    env = {**os.environ, **(env or {})}
    if env.get("MEASURES_PUBLIC") == "1" and not plain:
        argv = serve.command(True, port, "127.0.0.1")
    else:
        argv = [sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard.py"), "--server.port", str(port),
                "--server.address", "127.0.0.1", "--server.headless", "true"]
    process = subprocess.Popen([*argv, *(args or [])], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
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
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The dashboard in public mode (what most browser tests look at)."""
    with streamlit_server({"MEASURES_PUBLIC": "1"}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


PLOTLY_DRAWN = ".js-plotly-plot .main-svg"
DATAFRAME_DRAWN = "[data-testid=stDataFrame]"  # the Overview's scorecard: a table, no Plotly chart


def open_page(browser, url: str, wait_for: str | None = PLOTLY_DRAWN):
    """A new tab at `url`, once Streamlit has settled and `wait_for` (by default a Plotly chart) is drawn."""
    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    page.goto(url)
    page.wait_for_selector("[data-testid=stApp]", timeout=30_000)
    # Streamlit is settled when its status widget stops showing "running".
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)
    if wait_for:
        page.wait_for_selector(wait_for, timeout=60_000)
    return page


def canvas_is_drawn(page, selector: str = ".js-plotly-plot:has(.colorbar)") -> bool:
    """A map (a Plotly drawing of the boundaries, with its colour bar) has many colours once drawn."""
    from PIL import Image

    element = page.locator(selector).first
    element.scroll_into_view_if_needed()
    time.sleep(2)  # WebGL draws on the next frames
    image = Image.open(io.BytesIO(element.screenshot())).convert("RGB")
    colours = image.getcolors(maxcolors=1_000_000) or []
    return len(colours) > 20
