"""How the dashboard is started: `python -m measures serve [--public]`.

The public site's Streamlit settings live here (not in .streamlit/config.toml) so that the
same checkout can serve the analysts' site and the public one, and so the tests start the
public server with exactly the settings production uses.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from measures.paths import REPO_ROOT

# Streamlit settings for the public site (streamlit 1.67 names).
PUBLIC_OPTIONS: dict[str, str] = {
    "client.showErrorDetails": "none",  # a generic message in the browser; details only in the server log
    "client.showErrorLinks": "false",
    "client.toolbarMode": "viewer",  # no rerun / clear-cache / developer menu items
    "server.enableXsrfProtection": "true",
    "server.enableCORS": "true",
    "server.fileWatcherType": "none",  # no file watcher: nothing reloads code on a public server
    "server.runOnSave": "false",
    "server.maxUploadSize": "1",  # MB; the public site offers no uploads at all
    "server.enableStaticServing": "false",
    "server.headless": "true",
    "global.developmentMode": "false",
    "browser.gatherUsageStats": "false",
}


def public_flags() -> list[str]:
    return [item for key, value in PUBLIC_OPTIONS.items() for item in (f"--{key}", value)]


def command(public: bool, port: int, address: str) -> list[str]:
    """The `streamlit run` command line for the analysts' or the public site."""
    return [sys.executable, "-m", "streamlit", "run", str(REPO_ROOT / "dashboard.py"),
            "--server.port", str(port), "--server.address", address, *(public_flags() if public else [])]


def serve(public: bool, port: int, address: str, data_dir: Path | None) -> None:
    """Replace this process by the Streamlit server (signals from systemd/docker reach it directly)."""
    env = dict(os.environ)
    if public:
        env["MEASURES_PUBLIC"] = "1"
    else:
        env.pop("MEASURES_PUBLIC", None)
    if data_dir is not None:
        env["MEASURES_DATA_DIR"] = str(Path(data_dir).resolve())
    argv = command(public, port, address)
    os.chdir(REPO_ROOT)  # .streamlit/config.toml (theme) is read from the working directory
    os.execve(argv[0], argv, env)
