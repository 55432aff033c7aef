"""Published reference points: figures stated in public reports, marked on the measure charts.

The raw files (../shared/data/published/*.csv) are not part of the project. `build_points`
turns them into one compact table, `data/reference/published_points.csv`, that keeps every
row's value, period, definition note, source address and date as published, adds the force
it is about and the registry measure it can be compared with (empty where there is none).
Rebuild with `python scripts/build_published_points.py`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from measures.paths import REFERENCE_DIR

POINTS_FILE = REFERENCE_DIR / "published_points.csv"
RAW_FILES = ("calls_101_published_figures.csv", "hidden_crime_published_figures.csv")
COLUMNS = ["force_code", "measure_id", "published_measure", "kind", "period_start", "period_end", "value", "unit",
           "definition_note", "source_url", "source_date", "source_file"]

# Published measure name -> the registry measure it can be set beside. Definitions differ
# between statements (the definition note says how); names with no comparable measure map to "".
MEASURE_IDS = {
    "mean_wait_101": "calls_101_mean_wait",
    "target_wait_101": "calls_101_mean_wait",
    "abandoned_share_101": "calls_101_abandoned",
    "answered_within_20min_101": "calls_101_answered_within_20min",
    "digital_within_24h_101": "",  # email and online contact, not phone calls
    "domestic_abuse": "hidden_domestic_abuse",
    "domestic_abuse_calls": "",  # calls, not recorded offences
    "hate_crime": "hidden_hate_crime",
    "child_sexual_offences": "hidden_child_sexual_abuse",
    "modern_slavery_nrm_referrals": "",  # people referred, not offences
    "recorded_crime_total": "recorded_crime",
}
TARGETS = {"target_wait_101"}  # a stated aim, drawn as a target rather than as a measured figure


def _read_raw(path: Path) -> pd.DataFrame:
    """A published-figures file as text, exactly as written (no number or date parsing)."""
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def build_points(published_dir: Path, force_code: str, force_name: str) -> pd.DataFrame:
    """Every published figure about the force, one row each, in the file order."""
    frames = []
    for file_name in RAW_FILES:
        path = Path(published_dir) / file_name
        if not path.is_file():
            continue
        raw = _read_raw(path)
        if "geography" in raw:  # the hidden-crime file names its area; keep the force's rows
            raw = raw[raw["geography"] == force_name]
        name_column = "measure" if "measure" in raw else "strand"
        unknown = sorted(set(raw[name_column]) - set(MEASURE_IDS))
        if unknown:
            raise ValueError(f"{path}: published measure(s) {', '.join(unknown)} not in measures.data.published.MEASURE_IDS")
        frames.append(pd.DataFrame({
            "force_code": force_code,
            "measure_id": raw[name_column].map(MEASURE_IDS),
            "published_measure": raw[name_column],
            "kind": ["target" if n in TARGETS else "figure" for n in raw[name_column]],
            **{column: raw[column] for column in ("period_start", "period_end", "value", "unit", "definition_note",
                                                  "source_url", "source_date")},
            "source_file": file_name,
        }))
    return pd.concat(frames, ignore_index=True)[COLUMNS] if frames else pd.DataFrame(columns=COLUMNS)


def points(measure_id: str, force_code: str, path: Path = POINTS_FILE) -> pd.DataFrame:
    """The published figures for one measure and force, dates parsed, value numeric."""
    if not Path(path).is_file():
        return pd.DataFrame(columns=COLUMNS)
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table = table[(table["measure_id"] == measure_id) & (table["force_code"] == force_code)].copy()
    table["period_start"] = pd.to_datetime(table["period_start"])
    table["period_end"] = pd.to_datetime(table["period_end"])
    table["value"] = table["value"].astype(float)
    # A period of more than one month is drawn as a segment over its months, a single month as a point.
    table["months"] = ((table["period_end"].dt.year - table["period_start"].dt.year) * 12
                       + table["period_end"].dt.month - table["period_start"].dt.month + 1)
    return table.reset_index(drop=True)
