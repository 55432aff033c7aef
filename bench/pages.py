"""Benchmark: what a filter change costs on each page (a Streamlit rerun), beside an empty page.

For every page address, in one process with Streamlit's AppTest on the embedded default data:
one warm run (the page opened, caches filled for its default view), then N reruns that each
change the area filter to the next area (force, then each CSP in turn, so most reruns ask for
an area the caches have not seen) where the page has an area picker, plain reruns where it has
not. The empty page is a script that only calls st.write, timed the same way in the same
process: it is the cost of Streamlit's own rerun machinery, which no page can go below.

Prints page | median rerun s | empty page median s | ratio, and exits non-zero if a page's
median is over the target (1 s).

    python bench/pages.py [--runs 10] [--public]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from streamlit.testing.v1 import AppTest  # noqa: E402

from measures.data.config import load_force  # noqa: E402
from measures.ui.app import public_mode  # noqa: E402
from tests.conftest import switch_to  # noqa: E402

DASHBOARD = str(REPO / "dashboard.py")
TARGET_SECONDS = 1.0
# url_path -> page file (what st.navigation registers in dashboard.py); "" is the Overview.
PAGES = {
    "": "app_pages/overview.py",
    "calls-101": "app_pages/calls_101.py",
    "reoffending": "app_pages/reoffending.py",
    "hidden-crimes": "app_pages/hidden_crimes.py",
    "recorded-crime": "app_pages/recorded_crime.py",
    "about-data": "app_pages/about_data.py",
    "area-profile": "app_pages/area_profile.py",
    "measure": "app_pages/measure.py",
}


def empty_page() -> None:
    import streamlit as st

    st.write("An empty page.")


def _area_box(at: AppTest):
    """The page's area select box (key picker_area), or None for a page without one."""
    for box in at.selectbox:
        if box.key == "picker_area":
            return box
    return None


def time_reruns(at: AppTest, runs: int, areas: list[str]) -> tuple[list[float], bool]:
    """Seconds for each of `runs` reruns, changing the area where the page has a picker."""
    seconds = []
    changes_area = _area_box(at) is not None
    for index in range(runs):
        box = _area_box(at)
        if box is not None:
            box.select(areas[(index + 1) % len(areas)])
        start = time.perf_counter()
        at.run()
        seconds.append(time.perf_counter() - start)
        if at.exception:
            raise RuntimeError(f"exception on rerun {index}: {[e.value for e in at.exception]}")
    return seconds, changes_area


def bench_page(path: str, runs: int, areas: list[str]) -> tuple[float, float, bool]:
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    if path != PAGES[""]:  # the Overview is the router's default page: it opens without switching
        switch_to(at, path)
    start = time.perf_counter()
    at.run()  # warm: the first open of the page
    first = time.perf_counter() - start
    if at.exception:
        raise RuntimeError(f"{path}: {[e.value for e in at.exception]}")
    seconds, changes_area = time_reruns(at, runs, areas)
    return statistics.median(seconds), first, changes_area


def bench_empty(runs: int) -> float:
    at = AppTest.from_function(empty_page, default_timeout=60)
    at.run()
    seconds, _ = time_reruns(at, runs, [])
    return statistics.median(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="reruns timed per page (default 10)")
    parser.add_argument("--public", action="store_true", help="public mode (MEASURES_PUBLIC=1)")
    args = parser.parse_args()
    if args.public:
        os.environ["MEASURES_PUBLIC"] = "1"
    force = load_force().published() if args.public else load_force()  # the public site's areas in public mode
    areas = [a.code for a in force.areas()]
    rows = []
    for url_path, path in PAGES.items():
        median, first, changes_area = bench_page(path, args.runs, areas)
        empty = bench_empty(args.runs)  # beside each page, so both see the same machine load
        rows.append((f"/{url_path}", median, empty, first, changes_area))

    print(f"Rerun of each page, median of {args.runs} (AppTest, default data, "
          f"{'public' if public_mode() else 'analyst'} mode, {os.cpu_count()} CPUs)")
    print(f"{'page':<16} {'median rerun s':>14} {'empty page s':>12} {'ratio':>7} {'first open s':>12}  rerun changes")
    slow = []
    for page, median, empty, first, changes_area in rows:
        print(f"{page:<16} {median:>14.3f} {empty:>12.4f} {median / empty:>7.1f} {first:>12.2f}  "
              f"{'area' if changes_area else 'nothing (no area filter)'}")
        if median >= TARGET_SECONDS:
            slow.append(page)
    print(f"target: median rerun under {TARGET_SECONDS:g} s; " + (f"over it: {', '.join(slow)}" if slow else "all met"))
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
