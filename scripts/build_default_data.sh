#!/usr/bin/env bash
# Rebuild the embedded default data in data/ from the raw open data in ../shared/data
# and one illustrative set generated with a fixed seed. Run from the repository root.
set -euo pipefail
SHARED="${MEASURES_SHARED_DATA:-../shared/data}"
PY="${PYTHON:-python}"
"$PY" scripts/build_reference.py --shared "$SHARED"
"$PY" scripts/build_published_points.py --shared "$SHARED"
"$PY" -m measures ingest police-uk "$SHARED/police_uk"
# Every force present, 2025-01..06, from the monthly zips as downloaded (replaces those months above).
"$PY" -m measures ingest police-uk "$SHARED"/police_uk_national/*.zip
# Three rolling years by CSP: the Dec 2024 workbook (Tables C2, C5) and Table C2 of June 2025.
"$PY" -m measures ingest ons-csp "$SHARED/ons/policeforceareatablesyedecember2024.xlsx" \
  "$SHARED/ons/recorded_crime_by_csp_ye_jun2025_tableC2.csv"
if [ -f measures/data/demo_data.py ]; then
  DEMO="$(mktemp -d)"
  trap 'rm -rf "$DEMO"' EXIT
  "$PY" -m measures demo-data --seed 2026 --out "$DEMO"
  "$PY" -m measures ingest calls-101 "$DEMO/calls_101" --illustrative
  "$PY" -m measures ingest reoffending "$DEMO/reoffending" --illustrative
  "$PY" -m measures ingest hidden-crime "$DEMO/hidden_crime" --illustrative
fi
du -sh data
