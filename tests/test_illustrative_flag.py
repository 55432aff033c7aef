"""Issue 14: the illustrative flag comes from the rows as loaded, not from the registry.

Rows loaded without --illustrative are shown as real everywhere (export, pages, briefing pack); a
chart or pack showing a mix of real and illustrative rows is labelled illustrative.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from measures.core import export, peer_comparison, pipeline, registry
from measures.data import config, db
from measures.data.ingest import sources
from measures.paths import REPO_ROOT
from measures.render import briefing
from tests.conftest import open_app_page

LABEL = "Illustrative data, not official statistics"
REAL_MONTH = "2026-01"  # after the embedded data's last month (2025-12)


def demo_files(out: Path, first: str, last: str) -> Path:
    """The demo generator's raw files (the ingest formats) for the months first..last."""
    subprocess.run([sys.executable, "-m", "measures", "demo-data", "--seed", "1", "--out", str(out),
                    "--from", first, "--to", last], cwd=REPO_ROOT, check=True, capture_output=True)
    return out


def load_as_real(source: str, raw: Path, data_dir: Path) -> None:
    """Ingest without --illustrative (sources.run publishes without the CLI's completeness refusal)."""
    folder = {"calls-101": "calls_101", "hidden-crime": "hidden_crime"}[source]
    sources.run(source, [raw / folder], data_dir, illustrative=False)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded data (illustrative 101 and hidden-crime rows to 2025-12) with Jan 2026 loaded as real."""
    root = tmp_path_factory.mktemp("mixed")
    data_dir = root / "data"
    shutil.copytree(REPO_ROOT / "data", data_dir, symlinks=True)
    raw = demo_files(root / "raw", REAL_MONTH, REAL_MONTH)
    load_as_real("calls-101", raw, data_dir)
    load_as_real("hidden-crime", raw, data_dir)
    return data_dir


@pytest.fixture(scope="module")
def all_real(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty data folder with six months of 101 calls loaded as real (nothing else)."""
    root = tmp_path_factory.mktemp("real")
    raw = demo_files(root / "raw", "2025-07", "2025-12")
    load_as_real("calls-101", raw, root / "data")
    return root / "data"


def page(monkeypatch: pytest.MonkeyPatch, data_dir: Path, path: str | None, **params: str) -> AppTest:
    monkeypatch.setenv("MEASURES_DATA_DIR", str(data_dir))
    monkeypatch.delenv("MEASURES_PUBLIC", raising=False)
    return open_app_page(path, 90, **params)


def chart_titles(at: AppTest) -> list[str]:
    return [json.loads(e.proto.spec)["layout"]["title"]["text"] for e in at.get("plotly_chart")]


def page_text(at: AppTest) -> str:
    return "\n".join([*(w.value for w in at.warning), *(m.value for m in at.markdown), *(c.value for c in at.caption)])


# --- the rows: query -> pipeline -> export -----------------------------------------------------

@pytest.mark.parametrize("measure_id", ["calls_101_mean_wait", "calls_101_abandoned", "hidden_domestic_abuse"])
def test_export_flags_each_row_as_loaded(mixed: Path, measure_id: str) -> None:
    frame = export.export(measure_id, data_dir=mixed)
    real = pd.to_datetime(frame["period_start"]) == pd.Timestamp(f"{REAL_MONTH}-01")
    assert real.any() and (~real).any()
    assert not frame.loc[real, "illustrative"].any()  # force, CSPs and unassigned of the real month
    assert frame.loc[~real, "illustrative"].all()
    assert set(frame.loc[real, "area_type"]) == {"force", "csp", "unassigned"}
    text = export.to_csv(frame[real])
    assert ",true," not in text.split("\n", 1)[1]


def test_window_values_and_public_combined_areas_carry_the_flag(mixed: Path) -> None:
    measure = registry.get("hidden_domestic_abuse")
    frame = pipeline.measure_frame(db.connect(mixed), measure, config.load_force().code, public=True)
    real_month = pipeline.period_values(frame, measure, dt.date(2026, 1, 1), dt.date(2026, 1, 1))
    assert len(real_month) and not real_month["illustrative"].any()
    across = pipeline.period_values(frame, measure, dt.date(2025, 12, 1), dt.date(2026, 1, 1)).set_index("area_code")
    december = frame.loc[pd.to_datetime(frame["period_start"]) == pd.Timestamp("2025-12-01"), "area_code"]
    assert len(december) > 5
    assert across.loc[list(december), "illustrative"].all()  # a sum with an illustrative month in it is illustrative
    combined = config.load_force().public_combined[0].code  # e.g. Cornwall and the Isles of Scilly
    assert across.loc[combined, "illustrative"] and not real_month.set_index("area_code").loc[combined, "illustrative"]
    assert pipeline.illustrative(frame) and not pipeline.illustrative(real_month)


def test_list_reports_what_the_data_holds(all_real: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "measures", "list", "--format", "csv", "--data-dir", str(all_real)],
                         cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    table = pd.read_csv(pd.io.common.StringIO(run.stdout), dtype=str, keep_default_na=False).set_index("id")
    assert table.loc["calls_101_mean_wait", "illustrative"] == "false"
    assert table.loc["hidden_domestic_abuse", "illustrative"] == ""  # no rows loaded
    default = export.illustrative_by_measure(REPO_ROOT / "data")
    assert default["calls_101_mean_wait"] is True and default["recorded_crime"] is False


def test_registry_has_no_illustrative_field(tmp_path: Path) -> None:
    assert "illustrative" not in {f for f in registry.Measure.__dataclass_fields__}
    text = (REPO_ROOT / "config" / "measures.toml").read_text()
    bad = tmp_path / "measures.toml"
    bad.write_text(text.replace('family = "calls_101"\nsource', 'family = "calls_101"\nillustrative = true\nsource', 1))
    with pytest.raises(ValueError, match="comes from the data"):
        registry.measures(bad)


# --- pages and the pack -----------------------------------------------------------------------

def test_all_real_calls_page_has_no_illustrative_label(all_real: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page(monkeypatch, all_real, "app_pages/calls_101.py")
    titles = chart_titles(at)
    assert len(titles) == 4
    assert not any(LABEL in t for t in titles)
    assert LABEL not in page_text(at)
    assert "illustrative data generated" not in page_text(at)


def test_all_real_measure_page_has_no_illustrative_label(all_real: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page(monkeypatch, all_real, "app_pages/measure.py", measure="calls_101_mean_wait", area="E22000049")
    assert len(at.get("plotly_chart")) == 2
    assert not any(LABEL in t for t in chart_titles(at))
    assert LABEL not in page_text(at)
    assert "Illustrative data generated" not in page_text(at)  # the footer gives the real data's licence


def test_all_real_briefing_pack_has_no_illustrative_label(all_real: Path) -> None:
    con = db.connect(all_real)
    force = config.load_force()
    frames = briefing.load_frames(con, force.code, False)
    pack = briefing.build(frames, force, "E22000049", dt.date(2025, 7, 1), dt.date(2025, 12, 1), False)
    assert any(row.status == "ok" for row in pack.rows if row.measure.family == "calls_101")
    assert not pack.any_illustrative and not pack.table["illustrative"].any()
    html = briefing.render_html(pack)
    assert LABEL not in html and "* = illustrative" not in html and "<h3>Illustrative data</h3>" not in html
    assert "class='illustrative-flag'" not in html and 'class="illustrative-flag"' not in html
    assert not any("illustrative" in text for text in pack.findings)
    assert "Illustrative data generated by this project" not in html  # the real rows' licence, not the generator's


def test_mixed_calls_page_is_labelled(mixed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = page(monkeypatch, mixed, "app_pages/calls_101.py", **{"from": "2025-10", "to": REAL_MONTH})
    titles = chart_titles(at)
    assert titles and all(LABEL in t for t in titles)
    assert any(LABEL in w.value for w in at.warning)


def test_mixed_briefing_pack_is_labelled(mixed: Path) -> None:
    con = db.connect(mixed)
    force = config.load_force()
    frames = briefing.load_frames(con, force.code, False)
    pack = briefing.build(frames, force, "E22000049", dt.date(2025, 11, 1), dt.date(2026, 1, 1), False)
    flags = pack.table.set_index("measure_id")["illustrative"]
    assert flags["calls_101_mean_wait"] and flags["hidden_domestic_abuse"]  # real Jan 2026 beside generated months
    assert not flags["recorded_crime"]
    assert pack.any_illustrative and LABEL in briefing.render_html(pack)


def test_peer_comparison_uses_the_data_flag(mixed: Path, all_real: Path) -> None:
    default = db.connect(REPO_ROOT / "data")
    assert "calls_101_mean_wait" not in {m.id for m in peer_comparison.real_measures(default)}
    assert "recorded_crime" in {m.id for m in peer_comparison.real_measures(default)}
    assert "calls_101_mean_wait" in {m.id for m in peer_comparison.real_measures(db.connect(all_real))}
    with pytest.raises(ValueError, match="illustrative"):
        peer_comparison.all_force_values(db.connect(mixed), registry.get("calls_101_mean_wait"),
                                         dt.date(2025, 12, 1), dt.date(2026, 1, 1), False)
