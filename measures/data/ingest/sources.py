"""The ingest sources, declared once: the command line, the Update data page, the About page
and the demo-data generator all read this table.

Adding a source is a row here and its adapter module (with `ingest(paths, data_dir)`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

from measures.data.ingest import IngestReport


@dataclass(frozen=True)
class Source:
    name: str  # the command line's name: python -m measures ingest NAME
    module: str  # the adapter: a module with ingest(paths, data_dir[, illustrative])
    label: str  # what the Update data page calls it
    tables: tuple[tuple[str, str, str | None], ...]  # (published table, About page title, coverage query)
    demo_folder: str | None = None  # folder of `measures demo-data` output loaded by this source, if generated


SOURCES: tuple[Source, ...] = (
    Source("police-uk", "measures.data.ingest.police_uk",
           "police.uk street-level crime (the monthly *-street.csv files, or the .zip download)",
           (("police_uk_counts", "Recorded crime (data.police.uk)", "coverage_police_uk"),)),
    Source("ons-csp", "measures.data.ingest.ons_csp",
           "ONS recorded crime by CSP (the Police force area data tables workbook, Tables C2 and C5, or Table C2 "
           "saved as CSV; one rolling year per table)",
           (("ons_csp_crime", "ONS recorded crime by CSP (rolling years)", "coverage_ons_csp"),)),
    Source("calls-101", "measures.data.ingest.calls_101", "101 call records (one row per call)",
           (("calls_101_monthly", "101 calls", "coverage_calls_101"),
            ("calls_101_weekday_hour", "101 calls by weekday and hour (force-wide)", None)),  # 101's months
           demo_folder="calls_101"),
    Source("reoffending", "measures.data.ingest.reoffending", "Proven reoffending by district (quarterly cohorts)",
           (("reoffending_cohorts", "Reoffending cohorts (quarterly)", "coverage_reoffending"),),
           demo_folder="reoffending"),
    Source("hidden-crime", "measures.data.ingest.hidden_crime", "Hidden crime extract (month, area, strand, count)",
           (("hidden_crime_monthly", "Hidden crimes", "coverage_hidden_crime"),), demo_folder="hidden_crime"),
)
NAMES = tuple(s.name for s in SOURCES)
ADAPTERS = {s.name: s.module for s in SOURCES}
LABELS = {s.name: s.label for s in SOURCES}
DEMO_SOURCES = tuple(s for s in SOURCES if s.demo_folder)


def get(name: str) -> Source:
    return next(s for s in SOURCES if s.name == name)


def run(source: str, paths: list[Path], data_dir: Path, illustrative: bool = False) -> IngestReport:
    module = importlib.import_module(ADAPTERS[source])
    if getattr(module, "SUPPORTS_ILLUSTRATIVE", False):
        return module.ingest(list(paths), Path(data_dir), illustrative=illustrative)
    return module.ingest(list(paths), Path(data_dir))
