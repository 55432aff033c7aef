"""Command line: python -m measures ingest|versions|rollback|export|list|similar ... (contract in DESIGN.md)."""

from __future__ import annotations

import argparse
import math
import os
import sys
import traceback
from pathlib import Path

from measures.data.ingest import sources
from measures.paths import DEFAULT_DATA_DIR

INGEST_SOURCES = sources.NAMES  # the one declared table of sources (measures/ingest/sources.py)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m measures", description="Police and Crime Plan measures")
    commands = parser.add_subparsers(dest="command", required=True)

    ingest = commands.add_parser("ingest", help="load raw files into the data folder")
    ingest.add_argument("source", choices=INGEST_SOURCES)
    ingest.add_argument("paths", nargs="+", type=Path, help="files, or folders searched recursively")
    ingest.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    ingest.add_argument("--illustrative", action="store_true",
                        help="mark the loaded rows as illustrative (generated) data")
    ingest.add_argument("--allow-partial", action="store_true",
                        help="publish even with completeness warnings (missing CSPs, a low total, a gap)")

    versions = commands.add_parser("versions", help="list the published versions of the data folder (newest first)")
    versions.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    versions.add_argument("--keep", type=int, metavar="N",
                          help="first remove all but the N most recent versions (their history stays)")

    rollback = commands.add_parser("rollback", help="make an earlier version current again (atomically)")
    rollback.add_argument("--to", metavar="ID", help="a version id (default: the version before the current one)")
    rollback.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)

    export = commands.add_parser("export", help="write a measure as a tidy table to standard output")
    export.add_argument("measure_id")
    export.add_argument("--area", help="a force or CSP code (default: the configured force, its CSPs and unassigned)")
    export.add_argument("--from", dest="period_from", metavar="YYYY-MM")
    export.add_argument("--to", dest="period_to", metavar="YYYY-MM")
    export.add_argument("--public", action="store_true", help="apply disclosure control")
    export.add_argument("--offender", default=None, metavar="TYPE",
                        help="reoffending measures: all, adult or juvenile (the registry family's variants; default all)")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv")
    export.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)

    demo = commands.add_parser("demo-data", help="write illustrative raw files for the configured force")
    demo.add_argument("--seed", type=int, required=True)
    demo.add_argument("--out", type=Path, required=True)
    demo.add_argument("--from", dest="period_from", metavar="YYYY-MM", default="2018-04")
    demo.add_argument("--to", dest="period_to", metavar="YYYY-MM", default="2025-12")

    serve = commands.add_parser("serve", help="run the dashboard (the analysts' site, or --public)")
    serve.add_argument("--public", action="store_true",
                       help="the public site: read-only, disclosure control, no error details (MEASURES_PUBLIC=1)")
    serve.add_argument("--port", type=int, default=8501)
    serve.add_argument("--address", default="127.0.0.1", help="listen address (default: loopback, behind a proxy)")
    serve.add_argument("--data-dir", type=Path, default=None)
    serve.add_argument("--replicas", type=int, default=None, metavar="N",
                       help="N server processes on loopback behind HAProxy on --port (sticky sessions, health checks)")

    pack = commands.add_parser("briefing", help="write an area's briefing pack (.pdf or .html by the file name)")
    pack.add_argument("--area", required=True, help="the force or one of its CSPs (code)")
    pack.add_argument("--from", dest="period_from", metavar="YYYY-MM")
    pack.add_argument("--to", dest="period_to", metavar="YYYY-MM")
    pack.add_argument("--public", action="store_true", help="apply disclosure control, as the public site does")
    pack.add_argument("--out", type=Path, required=True, help="FILE.pdf or FILE.html")
    pack.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)

    listing = commands.add_parser("list", help="list the measures")
    listing.add_argument("--format", choices=("text", "csv"), default="text")
    listing.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                         help="the data folder whose rows say which measures are illustrative")

    similar = commands.add_parser("similar", help="the CSPs most similar to a CSP (deprivation, density, size)")
    similar.add_argument("code", nargs="?", help="a CSP code (E22..., W14...)")
    similar.add_argument("--all", action="store_true", help="every CSP: one row per CSP and neighbour")
    similar.add_argument("--n", type=int, default=15, help="neighbours per CSP (default 15)")
    similar.add_argument("--format", choices=("text", "csv"), default="text")
    return parser


PARTIAL_REFUSED = "nothing was published; add --allow-partial to publish anyway"


def _ingest(args: argparse.Namespace) -> int:
    """The Update data page's path: check on a private copy, warn, then publish exactly what was checked."""
    from measures.data import publishing

    candidate = publishing.validate_paths(args.source, args.paths, args.data_dir, illustrative=args.illustrative)
    try:
        print(candidate.report)
        if candidate.public is not None:
            print("\n".join(candidate.public.lines()))
        for warning in candidate.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if candidate.warnings and not args.allow_partial:
            print(f"error: {PARTIAL_REFUSED}", file=sys.stderr)
            return 2
        if candidate.changes:
            publishing.publish(candidate, args.data_dir, allow_partial=args.allow_partial)
    finally:
        publishing.discard(candidate)
    return 0


def _versions(args: argparse.Namespace) -> int:
    from measures.data import store

    if args.keep is not None:
        removed = store.prune(args.data_dir, args.keep)
        print(f"removed {len(removed)} version(s){': ' + ', '.join(removed) if removed else ''}")
    entries = store.versions(args.data_dir)
    if not entries:
        print(f"{args.data_dir}: no published version")
        return 0
    for entry in entries:
        mark = "*" if entry["current"] else " "
        state = "current" if entry["current"] else ("kept" if entry["kept"] else "pruned: cannot roll back")
        rows = f"{entry['rows_read']:,} rows read" if entry.get("rows_read") is not None else "-"
        print(f"{mark} {entry['version']}  {entry.get('published_at') or '(time unknown)':20}  "
              f"{entry.get('action', ''):10} {entry.get('source') or '-':14} {rows}  ({state})")
        for file in entry.get("files", []):
            print(f"      file {file['name']}  {file['bytes']:,} bytes  sha256 {file['sha256']}")
        tables = entry.get("tables", {})
        print("      tables: " + (", ".join(f"{t} {n:,}" for t, n in sorted(tables.items())) or "(none)"))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from measures.data import store

    before = store.current_id(args.data_dir)
    entry = store.rollback(args.data_dir, args.to)
    print(f"{args.data_dir}: version {entry['version']} is current again (was {before})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from measures.core import export

    frame = export.export(args.measure_id, data_dir=args.data_dir, area=args.area,
                          period_from=args.period_from, period_to=args.period_to, public=args.public,
                          variant=args.offender)
    if args.format == "csv":
        sys.stdout.write(export.to_csv(frame))
    else:
        sys.stdout.buffer.write(export.to_parquet(frame))
    return 0


def _list(args: argparse.Namespace) -> int:
    import pandas as pd

    from measures.core import export, registry

    table = registry.as_table()
    # Illustrative or not is what the data folder's rows hold (empty: no rows loaded), not a registry field.
    flags = export.illustrative_by_measure(args.data_dir)
    table["illustrative"] = pd.Series([flags[i] for i in table["id"]], dtype="object")
    if args.format == "csv":  # booleans as in exports: true/false
        sys.stdout.write(export.safe_csv(table.assign(illustrative=table["illustrative"].map({True: "true", False: "false"}))))
    else:
        for row in table.itertuples():
            flag = " [no data loaded]" if row.illustrative is None else " [illustrative]" if row.illustrative else ""
            print(f"{row.id:36} {row.title}{flag}\n{'':36} source: {row.source}")
    return 0


def _similar(args: argparse.Namespace) -> int:
    from measures.core import export, similar
    from measures.data.validation import UsageError

    if args.all == (args.code is not None):
        raise UsageError("give one CSP code or --all")
    if args.n < 1:
        raise UsageError(f"--n must be 1 or more, not {args.n}")
    try:
        frame = similar.all_similar(args.n) if args.all else similar.similar_areas(args.code, args.n)
    except KeyError:
        raise UsageError(f"{args.code} is not a CSP code of England or Wales") from None
    if args.format == "csv":
        sys.stdout.write(export.safe_csv(frame))
        return 0

    def imd(score: float) -> str:  # blank (NaN) for Welsh CSPs: no English IMD
        return "-" if math.isnan(score) else f"{score:.1f}"

    for code, rows in frame.groupby("area_code", sort=False):
        own = rows.iloc[0]
        print(f"{own['area_name']} ({code}): IMD 2019 score {imd(own['imd_score'])}, {own['residents']:,} residents, "
              f"{own['residents_per_km2']:,.0f} per km2\n{similar.method_note(str(code))}")
        print(f"{'rank':>4}  {'code':9}  {'name':36} {'distance':>8} {'IMD':>5} {'residents':>10} {'per km2':>8}")
        for row in rows.itertuples():
            print(f"{row.rank:>4}  {row.similar_code:9}  {row.similar_name:36} {row.distance:>8.3f} "
                  f"{imd(row.similar_imd_score):>5} {row.similar_residents:>10,} {row.similar_residents_per_km2:>8,.0f}")
        print()
    return 0


def _demo_data(args: argparse.Namespace) -> int:
    from measures.data import demo_data
    from measures.data.validation import UsageError, parse_month

    period_from, period_to = parse_month(args.period_from, "--from"), parse_month(args.period_to, "--to")
    assert period_from is not None and period_to is not None  # both have defaults
    if period_from > period_to:
        raise UsageError(f"--from {args.period_from} is after --to {args.period_to}")
    files = demo_data.generate(args.seed, args.out, period_from, period_to)
    print(f"wrote {len(files)} illustrative file(s) to {args.out}; load them with:")
    for source in sources.DEMO_SOURCES:
        print(f"  python -m measures ingest {source.name} {args.out / str(source.demo_folder)} --illustrative")
    return 0


def _briefing(args: argparse.Namespace) -> int:
    from measures.render import briefing

    pack = briefing.briefing(args.area, args.out, args.data_dir, args.period_from, args.period_to, args.public)
    print(f"wrote {args.out} ({pack.area.name}, {pack.period}{', public' if pack.public else ''})")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from measures.ui import serve

    if args.replicas is not None:
        if not 1 <= args.replicas <= 16:
            print("error: --replicas takes 1 to 16", file=sys.stderr)
            return 2
        return serve.serve_replicas(args.public, args.replicas, args.port, args.address, args.data_dir)
    serve.serve(args.public, args.port, args.address, args.data_dir)
    return 0  # not reached: the server replaces this process


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from measures.data.ingest import IngestError
    from measures.data.publishing import StaleCandidate
    from measures.data.store import DiskError, StoreBusy, VersionError
    from measures.data.validation import UsageError

    try:
        return {"ingest": _ingest, "export": _export, "list": _list, "demo-data": _demo_data,
                "serve": _serve, "briefing": _briefing, "similar": _similar, "versions": _versions,
                "rollback": _rollback}[args.command](args)
    except (IngestError, StoreBusy, StaleCandidate, UsageError, VersionError, DiskError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped early (`| head`): not an error, as for any Unix tool
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the exit flush cannot fail again
        return 0
    except Exception as exc:  # never a traceback for the analyst; MEASURES_DEBUG=1 shows it
        if os.environ.get("MEASURES_DEBUG"):
            traceback.print_exc()
        print(f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", file=sys.stderr)
        return 1
