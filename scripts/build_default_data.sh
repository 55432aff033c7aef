#!/usr/bin/env bash
# Rebuild the embedded default data in data/ from the raw open data in ../shared/data
# and one illustrative set generated with a fixed seed. Run from the repository root.
set -euo pipefail
SHARED="${MEASURES_SHARED_DATA:-../shared/data}"
PY="${PYTHON:-python}"
DATA="${MEASURES_DATA_DIR:-data}"
# data/history.json is committed: it records each step below with the SHA-256 of the raw files read.
# Its times are the commit's (SOURCE_DATE_EPOCH), so a rebuild at one commit writes the same bytes.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
"$PY" scripts/build_reference.py --shared "$SHARED"
"$PY" scripts/build_published_points.py --shared "$SHARED"
# Every step publishes into an empty folder first, so the data and its history depend on the raw files
# alone (not on what data/ held before); the result then replaces data/'s versions, current and history.
FINAL="$DATA"
DATA="$(mktemp -d)/data"
export MEASURES_DATA_DIR="$DATA"
"$PY" -m measures ingest police-uk "$SHARED/police_uk"
# Every force present, 2025-01..06, from the monthly zips as downloaded (replaces those months above).
# --allow-partial: Dorset and Avon and Somerset also have 2024-01..04 above, so their months 2024-05..12
# become a gap inside their span; the open data genuinely has no rows there.
"$PY" -m measures ingest police-uk "$SHARED"/police_uk_national/*.zip --allow-partial
# Three rolling years by CSP: the Dec 2024 workbook (Tables C2, C5) and Table C2 of June 2025.
"$PY" -m measures ingest ons-csp "$SHARED/ons/policeforceareatablesyedecember2024.xlsx" \
  "$SHARED/ons/recorded_crime_by_csp_ye_jun2025_tableC2.csv"
if [ -f measures/data/demo_data.py ]; then
  DEMO="${TMPDIR:-/tmp}/measures-demo-data"  # a fixed name: the history records the files' names
  rm -rf "$DEMO"
  trap 'rm -rf "$DEMO"' EXIT
  "$PY" -m measures demo-data --seed 2026 --out "$DEMO"
  "$PY" -m measures ingest calls-101 "$DEMO/calls_101" --illustrative
  "$PY" -m measures ingest reoffending "$DEMO/reoffending" --illustrative
  "$PY" -m measures ingest hidden-crime "$DEMO/hidden_crime" --illustrative
fi
# The committed folder holds the current version only (the history keeps the record of the others).
"$PY" -m measures versions --keep 1 >/dev/null
rm -rf "$FINAL/versions" "$FINAL/current" "$FINAL/history.json"
mkdir -p "$FINAL"
cp -a "$DATA/versions" "$DATA/current" "$DATA/history.json" "$FINAL/"
rm -rf "$(dirname "$DATA")"
du -sh "$FINAL"
