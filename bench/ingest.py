"""Benchmark: the police.uk ingest against the same aggregation in plain pandas.

Ingests every file under SHARED_DATA_DIR/police_uk into a temporary data folder with
measures.data.ingest.police_uk (validation, mapping, H3 hexagons, atomic publish), N times,
and does the bare aggregation with pandas (read every CSV, LSOA name -> district -> CSP,
count by month, force, area and crime type), N times. Checks both give the same counts
and prints rows, median seconds, rows per second and the throughput ratio.

    python bench/ingest.py [--runs 3]
    python bench/ingest.py --national [PATH]   # the monthly zips: our ingest vs bare DuckDB read_csv + group-by
    python bench/ingest.py --national --years 9   # the same months moved back 1..8 years too: about 18 million rows
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from measures.data.ingest import police_uk  # noqa: E402
from measures.paths import REFERENCE_DIR, SHARED_DATA_DIR  # noqa: E402

KEY = ["month", "force_code", "area_code", "crime_type"]


def run_ingest(files: list[Path]) -> pd.DataFrame:
    with tempfile.TemporaryDirectory() as tmp:
        police_uk.ingest(files, Path(tmp) / "data")
        table = pd.read_parquet(Path(tmp) / "data" / "current" / f"{police_uk.COUNTS_TABLE}.parquet")
    table["month"] = pd.to_datetime(table["month"]).dt.strftime("%Y-%m")
    return table.groupby(KEY)["count"].sum()


def run_pandas(files: list[Path]) -> pd.Series:
    raw = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False,
                                 usecols=["Month", "Falls within", "LSOA name", "Crime type"]) for f in files],
                    ignore_index=True)
    forces = pd.read_csv(REFERENCE_DIR / "forces.csv", dtype=str, keep_default_na=False)
    districts = pd.read_csv(REFERENCE_DIR / "districts.csv", dtype=str, keep_default_na=False)
    districts["key"] = districts["lad_name"].str.replace(r", (City|County) of$", "", regex=True)
    lookup = districts.drop_duplicates("key").set_index("key")
    force = raw["Falls within"].map(forces.set_index("police_uk_name")["pfa_code"])
    district = raw["LSOA name"].str.replace(r" \d{3}[A-Z]$", "", regex=True)
    csp = district.map(lookup["csp_code"]).fillna("")
    assigned = (raw["LSOA name"] != "") & (csp != "") & (district.map(lookup["pfa_code"]) == force)
    frame = pd.DataFrame({"month": raw["Month"], "force_code": force, "crime_type": raw["Crime type"],
                          "area_code": csp.where(assigned, "UNASSIGNED-" + force)})
    return frame.groupby(KEY).size().rename("count")


def timed(function, files: list[Path], runs: int) -> tuple[float, pd.Series]:
    seconds, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = function(files)
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def relabelled(zips: list[Path], years: int, out: Path) -> list[Path]:
    """The zips and copies of them moved back 1..years-1 whole years (member names and the Month column),
    so a few real months stand in for a long history (e.g. 6 months x 9 = 54 months, 18 million rows)."""
    made = list(zips)
    for back in range(1, years):
        for archive in zips:
            month = archive.stem  # YYYY-MM
            moved = f"{int(month[:4]) - back}-{month[5:]}"
            target = out / f"{moved}.zip"
            with zipfile.ZipFile(archive) as source, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED,
                                                                       compresslevel=1) as copy:
                for member in source.namelist():
                    data = source.read(member)
                    if member.endswith(".csv"):  # Month is the second field; Crime ID (first) has no commas
                        data = re.sub(rb"^([^,\r\n]*)," + month.encode() + rb",", rb"\1," + moved.encode() + rb",",
                                      data, flags=re.M)
                    copy.writestr(member.replace(month, moved), data)
            made.append(target)
    return sorted(made)


def national(folder: Path, years: int = 1) -> int:
    """Our ingest of the zips (read in place) against DuckDB reading the same files unzipped."""
    import duckdb

    zips = sorted(folder.glob("*.zip"))
    if not zips:
        print(f"no .zip files in {folder}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        if years > 1:
            start = time.perf_counter()
            zips = relabelled(zips, years, Path(tmp))
            print(f"made {len(zips)} monthly zips ({years} years of the real months) in {time.perf_counter() - start:.0f} s")
        start = time.perf_counter()
        report = police_uk.ingest(zips, Path(tmp) / "data")
        ingest_s = time.perf_counter() - start
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # measured before DuckDB runs
        rows = report.rows
        start = time.perf_counter()
        unzipped = Path(tmp) / "unzipped"
        for archive in zips:
            with zipfile.ZipFile(archive) as bundle:
                bundle.extractall(unzipped, [m for m in bundle.namelist() if m.endswith("-street.csv")])
        unzip_s = time.perf_counter() - start
        columns = {c: "DOUBLE" if c in ("Longitude", "Latitude") else "VARCHAR" for c in police_uk.COLUMNS}
        con = duckdb.connect()
        con.execute("set enable_progress_bar = false")
        start = time.perf_counter()
        con.execute(
            f"""copy (select "Month", "Falls within", regexp_extract("LSOA name", '^(.*) [0-9]{{3}}[A-Z]$', 1) as district,
                             "Crime type", count(*) as n
                      from read_csv('{unzipped}/*/*-street.csv', header=true, auto_detect=false, strict_mode=true,
                                    columns={columns!r})
                      group by all) to '{tmp}/bare.parquet' (format parquet)"""
        )
        duck_s = time.perf_counter() - start
        duck_total = con.execute(f"select sum(n) from '{tmp}/bare.parquet'").fetchone()[0]
    ingest_rate, duck_rate = rows / ingest_s, duck_total / duck_s
    print(f"{len(zips)} zips, {rows:,} rows")
    print(f"  measures ingest (from the zips): {rows:>10,} rows {ingest_s:7.2f} s {ingest_rate:>11,.0f} rows/s")
    print(f"  unzip for DuckDB (not timed in its figure): {unzip_s:.2f} s")
    print(f"  bare DuckDB read_csv + group-by: {duck_total:>10,} rows {duck_s:7.2f} s {duck_rate:>11,.0f} rows/s")
    print(f"  ratio (ingest throughput / DuckDB throughput): {ingest_rate / duck_rate:.2f}")
    print(f"  peak RSS of the ingest: {peak_mb:,.0f} MB")
    return 0 if rows == duck_total else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--national", nargs="?", const=SHARED_DATA_DIR / "police_uk_national", type=Path, default=None,
                        help="benchmark the monthly zips in this folder (default: the shared police_uk_national)")
    parser.add_argument("--years", type=int, default=1,
                        help="with --national: also ingest the months moved back 1..N-1 years (9: about 18 million rows)")
    args = parser.parse_args()
    if args.national is not None:
        return national(args.national, args.years)
    folder = SHARED_DATA_DIR / "police_uk"
    files = sorted(folder.rglob(police_uk.FILE_PATTERN))
    if not files:
        print(f"no police.uk files under {folder}", file=sys.stderr)
        return 1
    ingest_s, ingest_counts = timed(run_ingest, files, args.runs)
    pandas_s, pandas_counts = timed(run_pandas, files, args.runs)
    rows = int(pandas_counts.sum())
    same = ingest_counts.sort_index().astype("int64").equals(pandas_counts.sort_index().astype("int64"))
    print(f"{len(files)} files, {rows:,} rows, median of {args.runs} runs")
    ingest_rate, pandas_rate = int(ingest_counts.sum()) / ingest_s, rows / pandas_s
    print(f"  measures ingest: {int(ingest_counts.sum()):>9,} rows {ingest_s:7.2f} s {ingest_rate:>11,.0f} rows/s")
    print(f"  plain pandas:    {rows:>9,} rows {pandas_s:7.2f} s {pandas_rate:>11,.0f} rows/s")
    print(f"  ratio (ingest throughput / pandas throughput): {ingest_rate / pandas_rate:.2f}")
    print(f"  same counts by month, force, area and crime type: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
