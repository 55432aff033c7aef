"""Where things live. Every path in the code comes from here."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = REPO_ROOT / "queries"
CONFIG_FILE = Path(os.environ.get("MEASURES_CONFIG", REPO_ROOT / "config" / "force.toml"))
# Reference tables shipped with the code; ingest copies them into any data folder.
REFERENCE_DIR = REPO_ROOT / "data" / "reference"
DEFAULT_DATA_DIR = Path(os.environ.get("MEASURES_DATA_DIR", REPO_ROOT / "data"))
SHARED_DATA_DIR = Path(os.environ.get("MEASURES_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
# The measure registry; MEASURES_REGISTRY points the app and the command line at another one (a test's).
DEFAULT_REGISTRY_FILE = REPO_ROOT / "config" / "measures.toml"
REGISTRY_FILE = Path(os.environ.get("MEASURES_REGISTRY") or DEFAULT_REGISTRY_FILE)


def registry_file() -> Path:
    """The registry in use, read from the environment on each call (so a test can change it)."""
    return Path(os.environ.get("MEASURES_REGISTRY") or DEFAULT_REGISTRY_FILE)
