"""How the dashboard is started: `python -m measures serve [--public] [--replicas N]`.

The public site's Streamlit settings live here (not in .streamlit/config.toml) so that the
same checkout can serve the analysts' site and the public one, and so the tests start the
public server with exactly the settings production uses.

With `--replicas N` the command starts N Streamlit processes on loopback ports and HAProxy in
front of them (deploy/haproxy.cfg.template: sticky cookie, WebSocket, health checks), and stays
in the foreground as their supervisor: SIGTERM or SIGINT stops the proxy and every replica, and
if any of them exits, it stops the rest and exits non-zero (so systemd or docker restarts it all).
"""

from __future__ import annotations

import ctypes
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from measures.paths import REPO_ROOT
from measures.ui import public_server

HAPROXY_TEMPLATE = REPO_ROOT / "deploy" / "haproxy.cfg.template"
REPLICA_COOKIE = "MEASURES_REPLICA"  # the proxy's sticky cookie (named in the template)
START_TIMEOUT_S = 180.0  # a replica loads the published tables before it answers its health check
STOP_TIMEOUT_S = 20.0

# Streamlit settings for the public site (streamlit 1.67 names).
PUBLIC_OPTIONS: dict[str, str] = {
    "client.showErrorDetails": "none",  # a generic message in the browser; details only in the server log
    "client.showErrorLinks": "false",
    "client.toolbarMode": "viewer",  # no rerun / clear-cache / developer menu items
    # Tables' own CSV export would write text cells as they are (formulas included); the public
    # downloads are our buttons, which neutralise them (export.safe_csv).
    "client.disableDataExport": "true",
    "server.enableXsrfProtection": "true",
    "server.enableCORS": "true",
    "server.fileWatcherType": "none",  # no file watcher: nothing reloads code on a public server
    "server.runOnSave": "false",
    "server.maxUploadSize": "1",  # MB; the public site offers no uploads at all (and refuses the route)
    "server.maxWidgetStateSize": str(public_server.MAX_CLIENT_MESSAGE_MB),  # a larger frame closes the WebSocket
    "server.maxMessageSize": str(public_server.MAX_SERVER_MESSAGE_MB),  # also the largest frame the server reads
    "server.enableStaticServing": "false",
    "server.headless": "true",
    "runner.postScriptGC": "false",  # as .streamlit/config.toml: no full collection after every page view
    "global.developmentMode": "false",
    "browser.gatherUsageStats": "false",
}


def public_flags() -> list[str]:
    return [item for key, value in PUBLIC_OPTIONS.items() for item in (f"--{key}", value)]


def command(public: bool, port: int, address: str) -> list[str]:
    """The `streamlit run` command line for the analysts' or the public site. The public site runs the
    dashboard through its hardened launcher (measures/ui/public_server.py), so the server itself refuses
    uploads and developer messages whether or not a proxy is in front."""
    script = public_server.LAUNCHER if public else REPO_ROOT / "dashboard.py"
    return [sys.executable, "-m", "streamlit", "run", str(script),
            "--server.port", str(port), "--server.address", address, *(public_flags() if public else [])]


def server_env(public: bool, data_dir: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    if public:
        env["MEASURES_PUBLIC"] = "1"
    else:
        env.pop("MEASURES_PUBLIC", None)
    if data_dir is not None:
        env["MEASURES_DATA_DIR"] = str(Path(data_dir).resolve())
    return env


def serve(public: bool, port: int, address: str, data_dir: Path | None) -> None:
    """Replace this process by the Streamlit server (signals from systemd/docker reach it directly)."""
    env = server_env(public, data_dir)
    argv = command(public, port, address)
    os.chdir(REPO_ROOT)  # .streamlit/config.toml (theme) is read from the working directory
    os.execve(argv[0], argv, env)


# ---------------------------------------------------------------------- replicas behind HAProxy

def children_of(pid: int) -> list[int]:
    """Processes whose parent is `pid` (from /proc; zombies included until reaped): the replicas and the
    proxy a `serve --replicas` supervisor started, for the load benchmark and the tests."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue  # the process ended while we looked
    return found


def haproxy_binary() -> str | None:
    """Debian's haproxy (apt-get install haproxy); /usr/sbin is not on every user's PATH."""
    found = shutil.which("haproxy")
    if found:
        return found
    return "/usr/sbin/haproxy" if os.access("/usr/sbin/haproxy", os.X_OK) else None


def proxy_config(bind: str, replica_ports: list[int], public: bool = True) -> str:
    """The proxy's configuration: the repo's template with the listen address, the replicas and, for the
    public site, the hardening rules (public_server.proxy_rules) filled in."""
    servers = "\n".join(f"    server r{number} 127.0.0.1:{port} cookie r{number}"
                        for number, port in enumerate(replica_ports, 1))
    rules = public_server.proxy_rules() if public else "    # analysts' site: no public-site rules"
    return string.Template(HAPROXY_TEMPLATE.read_text()).substitute(bind=bind, servers=servers, public_rules=rules)


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports (the sockets are held open together so the kernel cannot repeat one)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def healthy(url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never an HTTP proxy
    try:
        with opener.open(url + "/_stcore/health", timeout=2) as answer:
            return bool(answer.read() == b"ok")
    except OSError:
        return False


def _die_with_parent() -> None:
    """In each child, before exec: the kernel sends it SIGTERM if the supervisor dies, even by SIGKILL,
    so no replica or proxy outlives the command that started it."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() == 1:  # the supervisor died before prctl took effect
        os._exit(1)


def stop_processes(processes: list[tuple[str, subprocess.Popen[bytes]]], timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM to each (the proxy first, so nobody new reaches a replica that is stopping), then wait up to
    `timeout` seconds in all; SIGKILL stragglers. The supervisor's way, and the benchmark's and tests' of it."""
    for _, process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + timeout
    for _, process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def serve_replicas(public: bool, replicas: int, port: int, address: str, data_dir: Path | None) -> int:
    """Start `replicas` servers and HAProxy on `address:port`; supervise them until SIGTERM/SIGINT."""
    haproxy = haproxy_binary()
    if haproxy is None:
        print("error: --replicas needs HAProxy (apt-get install haproxy)", file=sys.stderr)
        return 2
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    env = server_env(public, data_dir)
    # One cookie secret for all replicas, so Streamlit's signed cookies (XSRF) mean the same on each.
    env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(32))
    ports = free_ports(replicas)
    workdir = Path(tempfile.mkdtemp(prefix="measures-proxy-"))
    config = workdir / "haproxy.cfg"
    config.write_text(proxy_config(f"{address}:{port}", ports, public))
    check = subprocess.run([haproxy, "-c", "-q", "-f", str(config)], capture_output=True, text=True)
    if check.returncode != 0:
        print(f"error: haproxy refused {config}: {check.stderr.strip() or check.stdout.strip()}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
        return 2
    started: list[tuple[str, subprocess.Popen[bytes]]] = []  # the proxy goes first once it is started
    try:
        for number, replica_port in enumerate(ports, 1):
            process = subprocess.Popen(command(public, replica_port, "127.0.0.1"), cwd=REPO_ROOT, env=env,
                                       preexec_fn=_die_with_parent)
            started.append((f"replica r{number} (127.0.0.1:{replica_port}, pid {process.pid})", process))
        for replica_port, (name, process) in zip(ports, list(started), strict=True):
            if not _wait_until_healthy(f"http://127.0.0.1:{replica_port}", name, process, stopping):
                return 0 if stopping.is_set() else 1
        proxy = subprocess.Popen([haproxy, "-db", "-f", str(config)], preexec_fn=_die_with_parent)
        started.insert(0, (f"haproxy (pid {proxy.pid}, {config})", proxy))
        if not _wait_until_healthy(f"http://127.0.0.1:{port}", started[0][0], proxy, stopping):
            return 0 if stopping.is_set() else 1
        print(f"serving http://{address}:{port}: " + "; ".join(name for name, _ in started), flush=True)
        while not stopping.wait(1.0):
            for name, process in started:
                if process.poll() is not None:
                    print(f"error: {name} exited with {process.returncode}; stopping the rest", file=sys.stderr, flush=True)
                    return 1
        return 0
    finally:
        stop_processes(started)
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_until_healthy(url: str, name: str, process: subprocess.Popen[bytes], stopping: threading.Event) -> bool:
    """True once `url` answers its health check; False if the process exits, a stop is asked for, or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and not stopping.is_set():
        if process.poll() is not None:
            print(f"error: {name} exited with {process.returncode} while starting", file=sys.stderr, flush=True)
            return False
        if healthy(url):
            return True
        stopping.wait(0.5)
    if not stopping.is_set():
        print(f"error: {name} did not answer {url}/_stcore/health within {START_TIMEOUT_S:.0f} s", file=sys.stderr, flush=True)
    return False
