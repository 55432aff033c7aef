"""The ingest adapters by source name (the CLI's and the update page's one entry point)."""

from __future__ import annotations

import importlib
from pathlib import Path

from measures.ingest import IngestReport

ADAPTERS = {
    "police-uk": "measures.ingest.police_uk",
    "ons-csp": "measures.ingest.ons_csp",
    "calls-101": "measures.ingest.calls_101",
    "reoffending": "measures.ingest.reoffending",
    "hidden-crime": "measures.ingest.hidden_crime",
}


def run(source: str, paths: list[Path], data_dir: Path, illustrative: bool = False) -> IngestReport:
    module = importlib.import_module(ADAPTERS[source])
    if getattr(module, "SUPPORTS_ILLUSTRATIVE", False):
        return module.ingest(list(paths), Path(data_dir), illustrative=illustrative)
    return module.ingest(list(paths), Path(data_dir))
