"""`python -m measures serve --public`, alone and behind HAProxy (`--replicas`): no uploads, no metrics,
no developer messages from visitors, bounded requests and frames, and the security headers.

Each attack is made as the issue's attacker made it (XSRF cookie from /_stcore/health, a live
session id from the WebSocket) against both deployments, and once against a server started the way
the public site was before (`streamlit run dashboard.py` with the public flags), where it must work:
so each check here can fail."""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import streamlit
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from websockets.exceptions import ConnectionClosed

from measures.ui import public_server, serve, stream_client
from tests import test_replicas
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, DATAFRAME_DRAWN, REPO, free_port, streamlit_server

UPLOAD = "/_stcore/upload_file"
MEGABYTE = b"x" * (1024 * 1024)
UPLOAD_PAYLOAD = b"a,b\n" * 250_000  # one megabyte: under the 1 MiB server.maxUploadSize, with its multipart wrapping


@dataclass
class Site:
    """A public deployment: the address a visitor uses, and the Streamlit process that serves it."""

    name: str
    base: str
    server_pid: int
    server_base: str  # the Streamlit server itself (behind the proxy, or the same address)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def http(base: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
         ) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP/1.1 request (a refusing server may close before the body is sent: that is fine)."""
    host, port = base.removeprefix("http://").split(":")
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    if body or method in ("PUT", "POST"):
        lines.append(f"Content-Length: {len(body)}")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    head, _, content = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    found = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), found, content


def multipart(payload: bytes) -> tuple[bytes, str]:
    boundary = "measuresboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


async def live_session(base: str) -> tuple[stream_client.Session, str]:
    """A visitor's session as the attacker gets it: the cookies, an open WebSocket, its session id."""
    session = stream_client.Session(base)
    await session.connect("about-data")
    assert session.socket is not None
    request = BackMsg()
    request.rerun_script.page_name = "about-data"
    await session.socket.send(request.SerializeToString())
    while True:
        message = ForwardMsg()
        message.ParseFromString(await asyncio.wait_for(session.socket.recv(), 180))
        if message.WhichOneof("type") == "new_session":
            session_id = message.new_session.initialize.session_id
        if message.WhichOneof("type") == "script_finished":
            return session, session_id


def upload_attack(base: str, pid: int, count: int = 40) -> tuple[list[int], float]:
    """`count` one-megabyte PUTs to the uploader's endpoint with a valid XSRF token and session:
    their statuses and how much the server's memory grew (MiB)."""
    async def attack() -> tuple[list[int], float]:
        session, session_id = await live_session(base)
        try:
            token = session.cookies["_streamlit_xsrf"]
            body, kind = multipart(UPLOAD_PAYLOAD)
            headers = {"Cookie": session.cookie_header(), "X-Xsrftoken": token, "Content-Type": kind,
                       "Origin": base}
            before = rss_mib(pid)
            statuses = [await asyncio.to_thread(http, base, "PUT", f"{UPLOAD}/{session_id}/file-{number}", body, headers)
                        for number in range(count)]
            await asyncio.sleep(1)
            return [status for status, _, _ in statuses], rss_mib(pid) - before
        finally:
            await session.close()
    return asyncio.run(attack())


def clear_cache_attack(base: str, pid: int) -> tuple[float, float]:
    """Server CPU of an Overview rerun, warm (median of three), and right after a visitor's clear_cache."""
    async def attack() -> tuple[float, float]:
        session = stream_client.Session(base)
        try:
            arrival = await asyncio.wait_for(session.open(""), 300)
            assert arrival.ok, arrival
            warm = []
            for _ in range(3):
                started = cpu_s(pid)
                assert (await asyncio.wait_for(session.run("", "", "", time.monotonic()), 300)).ok
                warm.append(cpu_s(pid) - started)
            assert session.socket is not None
            clear = BackMsg()
            clear.clear_cache = True
            await session.socket.send(clear.SerializeToString())
            await asyncio.sleep(1)
            started = cpu_s(pid)
            assert (await asyncio.wait_for(session.run("", "", "", time.monotonic()), 300)).ok
            return statistics.median(warm), cpu_s(pid) - started
        finally:
            await session.close()
    return asyncio.run(attack())


# ------------------------------------------------------------------ the two deployments, and the old one

@pytest.fixture(scope="module")
def single() -> Iterator[Site]:
    """`python -m measures serve --public` (the process becomes the Streamlit server)."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "measures", "serve", "--public", "--port", str(port)], cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while not serve.healthy(base):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"serve --public did not start (exit {process.poll()})")
            time.sleep(0.5)
        yield Site("single", base, process.pid, base)
    finally:
        serve.stop_processes([("serve", process)], timeout=60)


@pytest.fixture(scope="module")
def proxied(tmp_path_factory) -> Iterator[Site]:
    """`python -m measures serve --public --replicas 1`: HAProxy in front of one hardened server."""
    if serve.haproxy_binary() is None:
        pytest.skip("no haproxy (apt-get install haproxy)")
    served = test_replicas.start(1, tmp_path_factory.mktemp("proxied") / "serve.log")
    port, pid = served.replicas["r1"]
    try:
        yield Site("proxy", served.base, pid, f"http://127.0.0.1:{port}")
    finally:
        test_replicas.stop(served)


@pytest.fixture(scope="module", params=["single", "proxy"])
def site(request) -> Site:
    return request.getfixturevalue("single" if request.param == "single" else "proxied")


@pytest.fixture(scope="module")
def unhardened() -> Iterator[Site]:
    """The public site as it was started before: `streamlit run dashboard.py` with the public flags."""
    with streamlit_server({"MEASURES_PUBLIC": "1"}, serve.public_flags(), plain=True) as base:
        port = int(base.rsplit(":", 1)[1])
        pid = next(int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _listens(int(p.name), port))
        yield Site("unhardened", base, pid, base)


def _listens(pid: int, port: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"dashboard.py" in b" ".join(command) and str(port).encode() in command


# ------------------------------------------------------------------ the rules, as configured

def test_the_proxy_gets_the_servers_rules_and_headers(tmp_path):
    public = serve.proxy_config("127.0.0.1:8501", [9001])
    for name, value in public_server.SECURITY_HEADERS.items():
        assert f'http-after-response set-header {name} "{value}"' in public
    for prefix, status in public_server.REFUSED_PATHS.items():
        assert f"deny_status {status} if {{ path,url_dec -m str {prefix} }}" in public
    assert f"tune.bufsize {public_server.MAX_REQUEST_BYTES}" in public
    analysts = serve.proxy_config("127.0.0.1:8501", [9001], public=False)
    assert "http-request deny" not in analysts and "Content-Security-Policy" not in analysts  # they upload data
    if serve.haproxy_binary() is not None:
        for number, config in enumerate([public, analysts]):
            path = tmp_path / f"haproxy{number}.cfg"
            path.write_text(config)
            check = subprocess.run([str(serve.haproxy_binary()), "-c", "-f", str(path)], capture_output=True, text=True)
            assert check.returncode == 0, check.stdout + check.stderr


def test_the_public_server_runs_the_hardened_launcher_with_frame_limits():
    argv = serve.command(public=True, port=8501, address="127.0.0.1")
    assert argv[argv.index("run") + 1] == str(public_server.LAUNCHER)
    assert argv[argv.index("--server.maxWidgetStateSize") + 1] == "1"  # MB a visitor's frame may have
    analysts = serve.command(public=False, port=8501, address="127.0.0.1")
    assert analysts[analysts.index("run") + 1] == str(REPO / "dashboard.py")


@pytest.mark.parametrize(("kind", "allowed"), [
    ("rerun_script", True), ("app_heartbeat", True), ("stop_script", True),
    ("clear_cache", False), ("load_git_info", False), ("set_run_on_save", False), ("file_urls_request", False),
    ("debug_disconnect_websocket", False), ("debug_shutdown_runtime", False),
    ("backend_operation_request.dataframe_chunk", True), ("backend_operation_request.deferred_file", True),
    ("backend_operation_request.install_skills", False), ("backend_operation_request.dismiss_skills_nudge", False),
])
def test_which_visitor_messages_reach_streamlit(kind, allowed):
    message = BackMsg()
    field, _, payload = kind.partition(".")
    if payload:
        getattr(message.backend_operation_request, payload).SetInParent()
    elif BackMsg.DESCRIPTOR.fields_by_name[field].message_type is None:  # a bool flag
        setattr(message, field, True)
    else:
        getattr(message, field).SetInParent()
    assert message.WhichOneof("type") == field
    assert public_server.visitor_message_allowed(message.SerializeToString()) == (allowed, kind)


# ------------------------------------------------------------------ the attacks, on both deployments

def test_uploads_are_refused_and_nothing_is_stored(site):
    statuses, grown = upload_attack(site.base, site.server_pid)
    print(f"{site.name}: {len(statuses)} uploads answered {sorted(set(statuses))}, server grew {grown:.1f} MiB")
    assert set(statuses) <= {403}, statuses
    assert grown < 8, f"{site.name}: the server grew {grown:.1f} MiB for {len(statuses)} refused uploads"
    for method in ("PUT", "POST", "DELETE", "OPTIONS"):  # the server refuses too, without the proxy
        status, _, _ = http(site.server_base, method, f"{UPLOAD}/s/f", b"a,b\n" if method != "OPTIONS" else b"")
        assert status == 403, (method, status)
    assert http(site.base, "PUT", "/_stcore/%75pload_file/s/f", b"a,b\n")[0] == 403  # percent-encoded path


def test_metrics_and_the_agent_api_are_not_served(site):
    for base in {site.base, site.server_base}:
        for path in ("/_stcore/metrics", "/_stcore/metrics/", "/_stcore/agent/openapi.json", "/_stcore/agent/mcp"):
            status, _, body = http(base, "GET", path, headers={"Accept": "text/plain"})
            assert status == 404, (base, path, status)
            assert b"cache" not in body.lower() and b"session" not in body.lower(), body[:200]
        assert http(base, "GET", "/_stcore/health")[0] == 200


def test_security_headers_on_pages_and_refusals(site):
    script = next(name for name in os.listdir(Path(streamlit.__file__).parent / "static" / "static" / "js")
                  if name.startswith("index."))
    for path, expected in [("/", 200), ("/recorded-crime", 200), ("/_stcore/health", 200), (f"/static/js/{script}", 200),
                           ("/_stcore/metrics", 404), (f"{UPLOAD}/s/f", 403)]:
        status, headers, _ = http(site.base, "PUT" if path.startswith(UPLOAD) else "GET", path)
        assert status == expected, (path, status)
        for name, value in public_server.SECURITY_HEADERS.items():
            assert headers.get(name.lower()) == value, (site.name, path, name, headers.get(name.lower()))
    policy = public_server.CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
    assert "'unsafe-eval'" not in policy and "'unsafe-inline'" not in policy.split("style-src")[0]  # no inline script


def test_oversized_requests_and_frames_are_refused(site):
    for base in {site.base, site.server_base}:
        status, _, _ = http(base, "GET", "/", headers={"X-Padding": "a" * (public_server.MAX_REQUEST_BYTES + 4096)})
        assert status in (400, 431), (base, status)
        assert http(base, "GET", "/", MEGABYTE)[0] == 413  # a body on a GET
        assert http(base, "POST", "/", b"a=1")[0] == 405
        assert http(base, "GET", "/_stcore/health", headers={"X-Padding": "a" * 4096})[0] == 200  # normal sizes pass

    async def frame(size: int) -> int | str:
        """The close code the server answered a frame of `size` bytes with ("no close frame": the connection
        was closed without one; "open": it was not closed)."""
        session = stream_client.Session(site.base)
        await session.connect("")
        assert session.socket is not None
        try:
            await session.socket.send(b"\n" + b"x" * size)  # a BackMsg-sized frame of `size` bytes
            await asyncio.wait_for(session.socket.recv(), 60)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else "no close frame"
        finally:
            await session.close()
        return "open"

    assert asyncio.run(frame(2_000_000)) == 1009  # over Streamlit's 1 MB limit for a visitor's message
    # uvicorn stops reading at its limit and closes with 1009; through the proxy, that close frame can be lost
    # when the connection is torn down with the rest of the frame still in flight (a race seen once in CI under
    # load): refused either way, never left open.
    oversized = asyncio.run(frame(public_server.MAX_SERVER_MESSAGE_MB * 1_000_000 + 1))
    assert oversized in ((1009, "no close frame") if site.name == "proxy" else (1009,)), (site.name, oversized)
    assert serve.healthy(site.base)


def test_a_visitors_clear_cache_is_ignored(site):
    warm, after = clear_cache_attack(site.base, site.server_pid)
    print(f"{site.name}: Overview rerun {warm:.2f} s CPU warm, {after:.2f} s right after a clear_cache")
    assert after < 2 * warm + 0.2, f"{site.name}: {after:.2f} s after clear_cache against {warm:.2f} s warm"


def test_the_attacks_work_on_an_unhardened_server(unhardened):
    """The probes above are real: on the server as the public site ran it before, the uploads are
    stored and a visitor's clear_cache makes the next page view cost far more."""
    statuses, grown = upload_attack(unhardened.base, unhardened.server_pid)
    print(f"unhardened: {len(statuses)} uploads answered {sorted(set(statuses))}, server grew {grown:.1f} MiB")
    assert set(statuses) == {204}, statuses
    assert grown > 20, grown
    assert http(unhardened.base, "GET", "/_stcore/metrics", headers={"Accept": "text/plain"})[0] == 200
    assert "content-security-policy" not in http(unhardened.base, "GET", "/")[1]
    warm, after = clear_cache_attack(unhardened.base, unhardened.server_pid)
    print(f"unhardened: Overview rerun {warm:.2f} s CPU warm, {after:.2f} s right after a clear_cache")
    assert after > 2 * warm + 0.2, (warm, after)


# ------------------------------------------------------------------ a browser under the policy

@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no browser at {CHROMIUM} (apt-get install chromium)")
def test_chromium_draws_the_overview_under_the_policy(single):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})
            # Records what the policy blocked, before any of the page's scripts run.
            page.add_init_script("window.__violations = []; document.addEventListener('securitypolicyviolation',"
                                 " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));")
            console: list[str] = []
            page.on("console", lambda message: console.append(message.text))
            answer = page.goto(single.base + "/")
            assert answer is not None and answer.headers["content-security-policy"] == public_server.CONTENT_SECURITY_POLICY
            page.wait_for_selector(DATAFRAME_DRAWN, timeout=180_000)
            page.wait_for_function("() => document.querySelector('[data-testid=stApp]')?.dataset.testScriptState"
                                   " === 'notRunning'", timeout=180_000)
            page.wait_for_timeout(1500)
            violations = page.evaluate("window.__violations")
            assert page.locator("[data-testid=stMain] h1").count() == 1
            assert page.locator("[data-testid=stException]").count() == 0
        finally:
            browser.close()
    assert violations == [], violations
    assert [text for text in console if "Content Security Policy" in text] == []
