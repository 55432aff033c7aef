#!/usr/bin/env bash
# Rebuild the embedded default data in data/ from the raw open data in ../shared/data
# and one illustrative set generated with a fixed seed. Run from the repository root.
set -euo pipefail
SHARED="${MEASURES_SHARED_DATA:-../shared/data}"
PY="${PYTHON:-python}"
"$PY" scripts/build_reference.py --shared "$SHARED"
"$PY" scripts/build_published_points.py --shared "$SHARED"
"$PY" -m measures ingest police-uk "$SHARED/police_uk"
"$PY" -m measures ingest ons-csp "$SHARED/ons/recorded_crime_by_csp_ye_jun2025_tableC2.csv"
if [ -f measures/demo_data.py ]; then
  DEMO="$(mktemp -d)"
  trap 'rm -rf "$DEMO"' EXIT
  "$PY" -m measures demo-data --seed 2026 --out "$DEMO"
  "$PY" -m measures ingest calls-101 "$DEMO/calls_101" --illustrative
  "$PY" -m measures ingest reoffending "$DEMO/reoffending" --illustrative
  "$PY" -m measures ingest hidden-crime "$DEMO/hidden_crime" --illustrative
fi
du -sh data
