"""Benchmark: the time to produce one CSP's briefing pack, as the command line does it.

Two measurements, N runs each, median and worst printed:
  * the whole command, `python -m measures briefing --area CODE --out FILE.pdf|.html`, in a fresh
    process (imports, data folder, every measure, the pack) - what an analyst waits for;
  * in one warm process, the stages: loading every measure, the profile and findings, the HTML,
    and the PDF (WeasyPrint).
The acceptance limit is 10 s for one CSP's pack; the ratio printed is the median over that limit.

    python bench/briefing.py [--area E22000049] [--runs 3] [--public]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from measures.core import profile  # noqa: E402
from measures.data import config, db  # noqa: E402
from measures.paths import DEFAULT_DATA_DIR  # noqa: E402
from measures.render import briefing  # noqa: E402

LIMIT_SECONDS = 10.0


def command(area: str, out: Path, public: bool) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "measures", "briefing", "--area", area, "--out", str(out),
                    *(["--public"] if public else [])], cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - start


def stages(area: str, public: bool) -> dict[str, float]:
    times = {}
    start = time.perf_counter()
    force = config.load_force()
    frames = briefing.load_frames(db.connect(DEFAULT_DATA_DIR), force.code, public)
    times["load every measure"] = time.perf_counter() - start
    start = time.perf_counter()
    first, last = briefing.choose_period(profile.available_months(frames), None, None)
    pack = briefing.build(frames, force, area, first, last, public)
    times["profile and findings"] = time.perf_counter() - start
    start = time.perf_counter()
    html = briefing.render_html(pack)
    times["HTML"] = time.perf_counter() - start
    start = time.perf_counter()
    pdf = briefing.render_pdf(html)
    times["PDF from the HTML"] = time.perf_counter() - start
    times["pdf bytes"] = len(pdf)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--area", default="E22000049")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--public", action="store_true")
    args = parser.parse_args()
    print(f"briefing pack for {args.area}{' (public)' if args.public else ''}, {args.runs} runs each")
    with tempfile.TemporaryDirectory() as tmp:
        for suffix in ("pdf", "html"):
            out = Path(tmp) / f"pack.{suffix}"
            runs = [command(args.area, out, args.public) for _ in range(args.runs)]
            median = statistics.median(runs)
            print(f"  python -m measures briefing ... --out pack.{suffix}: median {median:.2f} s, worst {max(runs):.2f} s, "
                  f"{out.stat().st_size / 1024:.0f} KiB; median / {LIMIT_SECONDS:.0f} s limit = {median / LIMIT_SECONDS:.2f}")
    stages(args.area, args.public)  # warm the imports and caches once
    measured = [stages(args.area, args.public) for _ in range(args.runs)]
    print("  in one warm process (median):")
    for stage in ("load every measure", "profile and findings", "HTML", "PDF from the HTML"):
        print(f"    {stage:22} {statistics.median(m[stage] for m in measured):.2f} s")


if __name__ == "__main__":
    main()
