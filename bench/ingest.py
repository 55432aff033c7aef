"""Benchmark: the police.uk ingest against the same aggregation in plain pandas.

Ingests every file under SHARED_DATA_DIR/police_uk into a temporary data folder with
measures.data.ingest.police_uk (validation, mapping, H3 hexagons, atomic publish), N times,
and does the bare aggregation with pandas (read every CSV, LSOA name -> district -> CSP,
count by month, force, area and crime type), N times. Checks both give the same counts
and prints rows, median seconds, rows per second and the throughput ratio.

    python bench/ingest.py [--runs 3]
    python bench/ingest.py --national [PATH] [--runs 3] [--years 9]
        # the monthly zips: our ingest vs bare DuckDB read_csv + group-by of the same unzipped CSVs (the
        # throughput ratio), and from the zips; then the months moved back 0..8 years, about 18 million rows,
        # for the ingest's peak RSS. Each ingest runs in its own process (its peak RSS is its own).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
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


def child(paths: list[Path]) -> int:
    """One ingest in this (fresh) process: prints rows, seconds and peak RSS as JSON for the parent."""
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        report = police_uk.ingest(paths, Path(tmp) / "data")
        seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": report.rows, "seconds": seconds, "peak_mb": peak_mb}))
    return 0


def ingest_in_process(paths: list[Path]) -> dict:
    """Our ingest in its own process (as the Update data page runs it), so its peak RSS is its own."""
    done = subprocess.run([sys.executable, __file__, "--child", *map(str, paths)], check=True, capture_output=True,
                          text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def bare_duckdb(folder: Path, out: Path) -> tuple[int, float]:
    """DuckDB alone: read every CSV under folder (strict, as text) and group by month, force, district, crime type."""
    import duckdb

    columns = {c: "VARCHAR" for c in police_uk.COLUMNS}
    con = duckdb.connect()
    con.execute("set enable_progress_bar = false")
    start = time.perf_counter()
    con.execute(
        f"""copy (select "Month", "Falls within", regexp_extract("LSOA name", '^(.*) [0-9]{{3}}[A-Z]$', 1) as district,
                         "Crime type", count(*) as n
                  from read_csv('{folder}/*/*-street.csv', header=true, auto_detect=false, strict_mode=true,
                                columns={columns!r})
                  group by all) to '{out}' (format parquet)"""
    )
    seconds = time.perf_counter() - start
    rows = con.execute(f"select sum(n) from '{out}'").fetchall()[0][0]
    con.close()
    return int(rows), seconds


def unzip(zips: list[Path], out: Path) -> float:
    """Every street file of the zips to `out`, the members side by side on every core (zlib releases the GIL), as
    the ingest decompresses them: the bare pipeline's unzip as fast as this machine does it. Returns seconds."""
    start = time.perf_counter()
    members = [(archive, name) for archive in zips for name in zipfile.ZipFile(archive).namelist()
               if name.endswith("-street.csv")]
    for _, name in members:  # made first: zipfile's own makedirs races between threads
        (out / name).parent.mkdir(parents=True, exist_ok=True)

    def extract(member: tuple[Path, str]) -> None:
        with zipfile.ZipFile(member[0]) as bundle:
            bundle.extract(member[1], out)

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        list(pool.map(extract, members))
    return time.perf_counter() - start


def national(folder: Path, years: int, runs: int) -> int:
    """Our ingest against bare DuckDB on the same unzipped CSVs (and from the zips against unzip + DuckDB),
    medians of `runs` interleaved runs; then the 18-million-row case (years of relabelled months) for peak RSS."""
    zips = sorted(folder.glob("*.zip"))
    if not zips:
        print(f"no .zip files in {folder}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        unzips, duck, from_csv, from_zip = [], [], [], []
        for run in range(runs):  # interleaved, so a busy spell on the machine falls on all four alike
            unzipped = Path(tmp) / f"unzipped-{run}"
            unzips.append(unzip(zips, unzipped))
            duck_rows, seconds = bare_duckdb(unzipped, Path(tmp) / "bare.parquet")
            duck.append(seconds)
            from_csv.append(ingest_in_process([unzipped]))
            from_zip.append(ingest_in_process(zips))
        rows = from_csv[0]["rows"]
        unzip_s, duck_s = statistics.median(unzips), statistics.median(duck)
        csv_s = statistics.median(r["seconds"] for r in from_csv)
        zip_s = statistics.median(r["seconds"] for r in from_zip)
        print(f"{len(zips)} zips, {rows:,} rows, median of {runs} interleaved runs (2-core machine: figures need a quiet one)")
        print(f"  bare DuckDB read_csv + group-by of the unzipped CSVs: {duck_s:7.2f} s {duck_rows / duck_s:>11,.0f} rows/s")
        print(f"  measures ingest of the same unzipped CSVs:           {csv_s:7.2f} s {rows / csv_s:>11,.0f} rows/s"
              f"  peak RSS {max(r['peak_mb'] for r in from_csv):,.0f} MB")
        print(f"  measures ingest from the zips (unzips in memory):    {zip_s:7.2f} s {rows / zip_s:>11,.0f} rows/s"
              f"  peak RSS {max(r['peak_mb'] for r in from_zip):,.0f} MB")
        print(f"  unzip to disk for DuckDB, on every core:              {unzip_s:7.2f} s")
        print(f"  ratio, same CSV files (ingest throughput / DuckDB throughput): {duck_s / csv_s:.2f}")
        print(f"  ratio, from the zips (ingest / (unzip + DuckDB)):              {(unzip_s + duck_s) / zip_s:.2f}")
        ok = rows == duck_rows and all(r["rows"] == rows for r in from_csv + from_zip)
        if years > 1:
            start = time.perf_counter()
            long = relabelled(zips, years, Path(tmp))
            print(f"made {len(long)} monthly zips ({years} years of the real months) in {time.perf_counter() - start:.0f} s")
            big = ingest_in_process(long)
            print(f"  measures ingest from the zips: {big['rows']:,} rows {big['seconds']:7.2f} s "
                  f"{big['rows'] / big['seconds']:>11,.0f} rows/s")
            print(f"  peak RSS of the ingest ({big['rows'] / 1e6:.1f} million rows): {big['peak_mb'] / 1024:.2f} GiB "
                  "(acceptance: under 2.5 GiB)")
            ok &= big["rows"] == rows * years
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--national", nargs="?", const=SHARED_DATA_DIR / "police_uk_national", type=Path, default=None,
                        help="benchmark the monthly zips in this folder (default: the shared police_uk_national)")
    parser.add_argument("--years", type=int, default=9,
                        help="with --national: then ingest the months moved back 0..N-1 years (9, the default: about 18 "
                             "million rows) for peak RSS; 1 skips it")
    parser.add_argument("--child", nargs="+", type=Path, help=argparse.SUPPRESS)  # one ingest, run by the parent
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    if args.national is not None:
        return national(args.national, args.years, args.runs)
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
