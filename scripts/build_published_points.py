"""Build data/reference/published_points.csv from the published figures in ../shared/data/published.

Run: python scripts/build_published_points.py [--shared ../shared/data]

The published figures (press and PCC statements, each with its address and date) are marked
on the measure charts as reference points; see measures/data/published.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from measures.data import config, published  # noqa: E402  (after the repo is on the path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    force = config.load_force()
    table = published.build_points(args.shared / "published", force.code, force.name)
    table.to_csv(published.POINTS_FILE, index=False)
    print(f"wrote {len(table)} published figures for {force.name} to {published.POINTS_FILE}")


if __name__ == "__main__":
    main()
