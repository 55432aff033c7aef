"""The public site: nothing writable, no upload anywhere, no stack trace, DuckDB locked down,
caches bounded. Browser tests start the server with `measures.ui.serve.public_flags()`, the
settings `python -m measures serve --public` uses."""

from __future__ import annotations

import ast
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from measures.data import db, publishing, store
from measures.ui import serve
from tests.conftest import DATAFRAME_DRAWN, REPO, needs_browser, open_page, streamlit_server, tree_hash

DATA = REPO / "data"
# Addresses a visitor might type, besides those the navigation lists.
TYPED_PATHS = ["update-data", "upload", "update_data", "admin"]
BROKEN_TABLE = "police_uk_counts"


def browser_test(test):
    """The conftest's browser marks (marked 'browser'; skipped without chromium) on one test."""
    for mark in needs_browser:
        test = mark(test)
    return test


def _settled(page, title: bool = True) -> None:
    """The page's script has run to the end (Streamlit's marker on the app root) and drawn its title."""
    page.wait_for_function(
        "title => { const app = document.querySelector('[data-testid=stApp]');"
        " return !!app && app.dataset.testScriptState === 'notRunning'"
        " && (!title || !!document.querySelector('[data-testid=stMain] h1')); }", arg=title, timeout=120_000)
    page.wait_for_timeout(500)


@pytest.fixture(scope="module")
def public_server():
    with streamlit_server({"MEASURES_PUBLIC": "1"}, serve.public_flags()) as url:
        yield url


@pytest.fixture(scope="module")
def broken_data(tmp_path_factory) -> Path:
    """A copy of the data whose police.uk table is corrupt: every page that reads it fails."""
    folder = tmp_path_factory.mktemp("broken") / "data"
    shutil.copytree(DATA, folder, symlinks=True)
    table = store.table_path(folder, BROKEN_TABLE)
    table.unlink()
    table.write_bytes(b"PAR1 this is not a parquet file")
    return folder


# ------------------------------------------------------------------ browser: what a visitor sees

@browser_test
def test_public_site_offers_no_upload_and_lists_no_update_page(public_server, browser):
    home = open_page(browser, public_server + "/", wait_for=DATAFRAME_DRAWN)
    nav = home.locator("[data-testid=stSidebarNav]")
    nav_text = nav.inner_text()
    assert "Recorded crime" in nav_text  # the navigation is there ...
    assert "Update data" not in nav_text and "update" not in nav_text.lower()  # ... without any update page
    listed = sorted({href.split("?")[0].rstrip("/").rsplit("/", 1)[-1] if href.rstrip("/") != public_server else ""
                     for href in (a.get_attribute("href") for a in nav.locator("a").all())})
    assert "recorded-crime" in listed and "update-data" not in listed
    home.close()
    for path in [*listed, *TYPED_PATHS]:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(f"{public_server}/{path}")
        _settled(page)
        text = page.inner_text("body")
        assert page.locator("[data-testid=stFileUploader]").count() == 0, path
        assert page.locator("input[type=file]").count() == 0, path
        assert "Traceback" not in text and "Update data" not in text, path
        assert "public site" in text, path
        page.close()


@browser_test
@pytest.mark.parametrize("started_with", ["public flags", "env only"])
def test_a_failing_page_shows_no_traceback(broken_data, browser, started_with):
    """A corrupt table makes the page fail: the visitor gets a generic message, never code or paths.

    'env only' is a server started without the public flags (a mistake in deployment): the
    router's own st.set_option must still hide the details.
    """
    flags = serve.public_flags() if started_with == "public flags" else []
    with streamlit_server({"MEASURES_PUBLIC": "1", "MEASURES_DATA_DIR": str(broken_data)}, flags) as url:
        page = browser.new_page(viewport={"width": 1400, "height": 1600})
        page.goto(f"{url}/recorded-crime")
        _settled(page, title=False)
        page.wait_for_selector("[data-testid=stException]", timeout=30_000)  # the fault really happened
        text = page.inner_text("body")
        page.close()
    assert "redacted" in text
    for leak in ("Traceback", ".py", "InvalidInputException", "magic bytes", str(broken_data), "File \""):
        assert leak not in text, leak


def _http(url: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@browser_test
def test_public_server_refuses_uploads_and_foreign_origins(public_server):
    status, _, body = _http(public_server + "/_stcore/health")
    assert (status, body) == (200, b"ok")
    # Streamlit's upload endpoint exists on every server: the public one refuses it before anything else
    # (measures/ui/public_server.py; tests/test_public_hardening.py tries it with a valid XSRF token too).
    status, _, body = _http(public_server + "/_stcore/upload_file/some-session/some-file", "PUT", b"a,b\n1,2\n",
                            {"Content-Type": "text/csv", "Origin": "http://evil.example"})
    assert status == 403 and b"not available on the public site" in body
    _, headers, _ = _http(public_server + "/_stcore/health", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers  # CORS on: another site's scripts cannot read responses


# ------------------------------------------------------------------ the page and the library refuse too

def test_update_page_refuses_to_run_in_public_mode(monkeypatch):
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    at = AppTest.from_file(str(REPO / "app_pages" / "update_data.py"), default_timeout=30).run()
    assert not at.exception
    assert len(at.get("file_uploader")) == 0 and len(at.button) == 0
    assert "cannot be changed" in at.error[0].value


def test_router_registers_no_update_page_in_public_mode(monkeypatch):
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    at = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=60).run()
    assert not at.exception
    with pytest.raises(Exception, match="update_data"):  # not a page of this app at all
        at.switch_page("app_pages/update_data.py").run()
    monkeypatch.delenv("MEASURES_PUBLIC")
    analyst = AppTest.from_file(str(REPO / "dashboard.py"), default_timeout=60).run()
    analyst.switch_page("app_pages/update_data.py").run()
    assert not analyst.exception and len(analyst.get("file_uploader")) == 1


def test_publishing_refuses_in_public_mode(monkeypatch, tmp_path):
    monkeypatch.setenv("MEASURES_PUBLIC", "1")
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(PermissionError):
        publishing.validate("hidden-crime", [("h.csv", b"month,area_code,strand,count\n")], DATA, work_root=tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ------------------------------------------------------------------ DuckDB locked down

@pytest.fixture(scope="module")
def data_before() -> dict[str, str]:
    return tree_hash(DATA)


@pytest.fixture(scope="module")
def locked(data_before) -> duckdb.DuckDBPyConnection:
    return db.connect(DATA)


@pytest.mark.parametrize("sql", [
    "select * from read_csv('/etc/passwd')",
    f"select * from read_csv('{REPO / 'README.md'}')",
    f"select * from read_text('{DATA / '..' / 'README.md'}')",  # climbing out of data/ with '..'
    f"select * from read_csv('{REPO / 'config' / 'force.toml'}')",
    "select * from read_text('/proc/self/environ')",
    "copy (select 1) to '/tmp/measures-lockdown-probe.csv'",
    f"copy (select 1) to '{DATA / 'current' / 'injected.parquet'}'",
    f"copy (select 1) to '{DATA / 'current' / 'police_uk_counts.parquet'}' (use_tmp_file false)",  # overwrite in place
    f"select count(*) from read_parquet('{DATA / 'current' / 'police_uk_counts.parquet'}')",  # only via the tables
    "attach '/tmp/measures-lockdown-probe.duckdb' as other",
    "set enable_external_access = true",
    "set allowed_directories = ['/']",
    "set lock_configuration = false",
    "install httpfs",
])
def test_duckdb_refuses_any_file_access(locked, data_before, sql):
    with pytest.raises(duckdb.Error):
        locked.cursor().execute(sql).fetchall()
    assert not Path("/tmp/measures-lockdown-probe.csv").exists()
    assert not (DATA / "current" / "injected.parquet").exists()
    assert tree_hash(DATA) == data_before


def test_locked_connection_still_reads_the_published_tables(locked):
    rows = locked.cursor().execute("select count(*) from police_uk_counts").fetchone()[0]
    assert rows > 1000
    with pytest.raises(KeyError):
        db.load_sql("../queries/x")  # query names come from an allow-list


# ------------------------------------------------------------------ memory stays bounded

def _cache_calls_without_max_entries(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            name = ast.unparse(target)
            if name.endswith(("cache_data", "cache_resource")):
                keywords = {k.arg for k in decorator.keywords} if isinstance(decorator, ast.Call) else set()
                if "max_entries" not in keywords:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name}")
    return found


def test_every_streamlit_cache_has_max_entries():
    files = [REPO / "dashboard.py", *(REPO / "measures").rglob("*.py"), *(REPO / "pages").glob("*.py")]
    unbounded = [hit for path in files for hit in _cache_calls_without_max_entries(path)]
    assert unbounded == [], "caches without max_entries grow without limit under load: " + ", ".join(unbounded)
    assert any("cache_data" in p.read_text() for p in files)  # the scan really looked at the cached loaders


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads the server's settings from Linux /proc")
def test_documented_serve_command_starts_the_public_site(tmp_path):
    """`python -m measures serve --public` (README) runs Streamlit with the public settings and MEASURES_PUBLIC=1."""
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MEASURES_PUBLIC"}
    process = subprocess.Popen([sys.executable, "-m", "measures", "serve", "--public", "--port", str(port)], cwd=REPO,
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        status, body = None, b""
        for _ in range(120):
            try:
                status, _, body = _http(f"http://127.0.0.1:{port}/_stcore/health")
            except OSError:  # not listening yet
                pass
            if status == 200:
                break
            time.sleep(0.5)
        assert (status, body) == (200, b"ok")
        command = Path(f"/proc/{process.pid}/cmdline").read_bytes().split(b"\0")  # the same process, now Streamlit
        environment = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        assert b"streamlit" in command and b"--client.showErrorDetails" in command
        assert command[command.index(b"--client.showErrorDetails") + 1] == b"none"
        assert command[command.index(b"--server.address") + 1] == b"127.0.0.1"
        assert b"MEASURES_PUBLIC=1" in environment
    finally:
        process.terminate()
        process.wait(timeout=30)
