"""`python -m measures serve --public --replicas N --port P`: N Streamlit processes behind HAProxy on
loopback, sticky sessions, WebSocket through the proxy, health checks, and nothing left after a stop.
The proxy configuration is the repo's one template, which the README shows verbatim."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from measures.ui import serve, stream_client
from tests.conftest import REPO, free_port

needs_haproxy = pytest.mark.skipif(serve.haproxy_binary() is None, reason="no haproxy (apt-get install haproxy)")
REPLICA_LINE = re.compile(r"replica (r\d+) \(127\.0\.0\.1:(\d+), pid (\d+)\)")


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def established_to(port: int) -> set[tuple[str, str]]:
    """Open TCP connections whose local end is 127.0.0.1:port, i.e. accepted by the server on that port,
    each named by its two ends so that a count of new ones is not upset by old ones closing meanwhile."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote, state = line.split()[1:4]
        if state == "01" and int(local.split(":")[1], 16) == port:
            found.add((local, remote))
    return found


class Served:
    def __init__(self, process: subprocess.Popen[bytes], base: str, log: Path) -> None:
        self.process, self.base, self.log = process, base, log
        line = next(line for line in log.read_text().splitlines() if line.startswith("serving "))
        self.replicas = {name: (int(port), int(pid)) for name, port, pid in REPLICA_LINE.findall(line)}


def start(replicas: int, log: Path) -> Served:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "measures", "serve", "--public", "--replicas", str(replicas),
                                    "--port", str(port)], cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if any(line.startswith("serving ") for line in log.read_text().splitlines()):
            return Served(process, f"http://127.0.0.1:{port}", log)
        if process.poll() is not None:
            break
        time.sleep(0.5)
    process.kill()
    pytest.fail("serve --replicas did not start:\n" + log.read_text()[-3000:])


def stop(served: Served) -> None:
    serve.stop_processes([("serve", served.process)], timeout=60)


@pytest.fixture(scope="module")
def two(tmp_path_factory) -> Iterator[Served]:
    served = start(2, tmp_path_factory.mktemp("replicas") / "serve.log")
    yield served
    stop(served)


# ------------------------------------------------------------------ the one proxy configuration

def test_readme_shows_the_template_the_command_runs():
    template = serve.HAPROXY_TEMPLATE.read_text()
    readme = (REPO / "README.md").read_text()
    blocks = re.findall(r"```haproxy\n(.*?)```", readme, re.S)
    assert template in blocks, "README.md's ```haproxy block must be deploy/haproxy.cfg.template, verbatim"


def test_rendered_config_has_every_replica_sticky_and_checked():
    config = serve.proxy_config("127.0.0.1:8501", [9001, 9002, 9003])
    assert "bind 127.0.0.1:8501" in config and "$" not in config
    for number, port in enumerate([9001, 9002, 9003], 1):
        assert f"server r{number} 127.0.0.1:{port} cookie r{number}" in config
    assert "cookie MEASURES_REPLICA insert" in config and "option httpchk GET /_stcore/health" in config


@needs_haproxy
def test_haproxy_accepts_the_rendered_config(tmp_path):
    path = tmp_path / "haproxy.cfg"
    path.write_text(serve.proxy_config(f"127.0.0.1:{free_port()}", [free_port(), free_port()]))
    check = subprocess.run([str(serve.haproxy_binary()), "-c", "-f", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


# ------------------------------------------------------------------ two replicas behind the proxy

@needs_haproxy
def test_two_replicas_on_loopback_and_healthy_through_the_proxy(two):
    assert sorted(two.replicas) == ["r1", "r2"]
    assert serve.healthy(two.base)
    for port, pid in two.replicas.values():
        assert serve.healthy(f"http://127.0.0.1:{port}") and alive(pid)
    # everything listens on loopback only: no socket of theirs is bound to another address
    ports = {urlport for urlport, _ in two.replicas.values()} | {int(two.base.rsplit(":", 1)[1])}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port = local.split(":")
        if state == "0A" and int(port, 16) in ports:  # LISTEN
            assert address == "0100007F", f"port {int(port, 16)} listens on {address}, not 127.0.0.1"


@needs_haproxy
def test_a_page_finishes_over_the_websocket_through_the_proxy(two):
    async def visit() -> tuple[stream_client.PageRun, stream_client.PageRun, stream_client.Session]:
        session = stream_client.Session(two.base)
        try:
            arrival = await asyncio.wait_for(session.open("about-data"), 180)
            click = await asyncio.wait_for(session.navigate("reoffending"), 180)
            return arrival, click, session
        finally:
            await session.close()

    arrival, click, session = asyncio.run(visit())
    assert arrival.ok and arrival.elements > 0, arrival
    assert click.ok and click.elements > 0, click
    # the WebSocket went to the replica the first answer's cookie named
    assert arrival.replica == session.cookies[serve.REPLICA_COOKIE] and arrival.replica in two.replicas
    assert {"about-data", "reoffending", "recorded-crime"} <= set(session.pages)  # the navigation arrived


@needs_haproxy
def test_new_visitors_are_spread_and_a_cookie_sticks_to_its_replica(two):
    async def answers(cookie: str | None, count: int) -> list[tuple[str | None, str | None]]:
        found = []
        for _ in range(count):
            session = stream_client.Session(two.base, cookies={serve.REPLICA_COOKIE: cookie} if cookie else {})
            _, headers = await session.get("/")
            found.append((headers.get(stream_client.REPLICA_HEADER.lower()), headers.get("set-cookie")))
        return found

    fresh = asyncio.run(answers(None, 6))
    assert {replica for replica, _ in fresh} == {"r1", "r2"}  # new visitors reach both
    for replica, cookie in fresh:
        assert cookie is not None and cookie.startswith(f"{serve.REPLICA_COOKIE}={replica};")
    for name in ("r1", "r2"):
        sticky = asyncio.run(answers(name, 5))
        assert [replica for replica, _ in sticky] == [name] * 5
        assert all(cookie is None for _, cookie in sticky)  # no new cookie: the visitor keeps its replica


@needs_haproxy
def test_websockets_with_a_replicas_cookie_are_held_by_that_process(two):
    """Seen from the kernel, not the proxy's header: three WebSockets opened with r2's cookie are
    connections accepted on r2's port, and none of them on r1's. A connection counts when it is new since
    before the sessions opened and still open a moment later, so health checks and the closing connections
    of earlier tests are not counted."""
    port1, port2 = two.replicas["r1"][0], two.replicas["r2"][0]
    before1, before2 = established_to(port1), established_to(port2)

    async def hold() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
        sessions = [stream_client.Session(two.base, cookies={serve.REPLICA_COOKIE: "r2"}) for _ in range(3)]
        try:
            for session in sessions:
                await session.connect("")
            await asyncio.sleep(0.5)
            first1, first2 = established_to(port1), established_to(port2)
            await asyncio.sleep(0.5)
            return first1 & established_to(port1), first2 & established_to(port2)
        finally:
            for session in sessions:
                await session.close()

    during1, during2 = asyncio.run(hold())
    assert len(during2 - before2) >= 3, (before2, during2)
    assert len(during1 - before1) < 3, (before1, during1)


@needs_haproxy
def test_sigterm_stops_the_proxy_and_every_replica(two):
    started = serve.children_of(two.process.pid)
    assert len(started) == 3, started  # haproxy and two replicas
    two.process.send_signal(signal.SIGTERM)
    assert two.process.wait(timeout=60) == 0
    assert [pid for pid in started if alive(pid)] == []
    assert not serve.healthy(two.base)


@needs_haproxy
def test_a_killed_supervisor_takes_its_processes_with_it(tmp_path):
    """Even SIGKILL, which the supervisor cannot handle: the kernel stops its children (PR_SET_PDEATHSIG)."""
    served = start(1, tmp_path / "serve.log")
    started = serve.children_of(served.process.pid)
    assert len(started) == 2, started
    os.kill(served.process.pid, signal.SIGKILL)
    served.process.wait(timeout=10)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(alive(pid) for pid in started):
        time.sleep(0.5)
    assert [pid for pid in started if alive(pid)] == []
    # a killed supervisor cannot remove its rendered config: the test does
    config = re.search(r"haproxy \(pid \d+, (\S+)/haproxy\.cfg\)", served.log.read_text())
    assert config is not None
    shutil.rmtree(config.group(1), ignore_errors=True)
