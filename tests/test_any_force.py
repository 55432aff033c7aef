"""Any force of England and Wales, chosen by the user (?force=CODE): its CSPs, its figures, its pages.

The embedded data holds police.uk counts for every force in the shared national files and the
ONS tables for every CSP, so these run on a fresh clone. Kent has 12 CSPs (one of them two
districts, Dartford and Gravesham); South Wales is a Welsh force; City of London is a force that is one CSP.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from measures.core import export
from measures.data import config
from tests.conftest import REPO, open_app_page
from tests.test_maps import map_areas, map_specs

KENT, MAIDSTONE, DARTFORD_GRAVESHAM = "E23000032", "E22000142", "E22000352"
SOUTH_WALES, CITY_OF_LONDON = "W15000003", "E23000034"
DATA = REPO / "data"


def police_uk_counts() -> pd.DataFrame:
    return pd.read_parquet(DATA / "current" / "police_uk_counts.parquet")


def test_any_force_has_its_own_csps_and_residents():
    kent = config.force_by_code(KENT)
    assert kent.name == "Kent" and len(kent.csps) == 12
    assert {a.code for a in kent.csps} >= {MAIDSTONE, DARTFORD_GRAVESHAM}
    residents = config.csp_population().query("year == 2023").set_index("csp_code")["residents"]
    assert kent.population == sum(int(residents[a.code]) for a in kent.csps)
    assert config.force_by_code(config.load_force().code) == config.load_force()  # the configured one, unchanged
    with pytest.raises(KeyError):
        config.force_by_code("E23999999")


def test_the_embedded_data_covers_every_force_in_the_shared_files():
    counts = police_uk_counts()
    forces = set(counts["force_code"])
    # Every territorial force present in the national files (PROVENANCE: GMP, the Met, West Midlands and
    # West Yorkshire are absent from that copy); never British Transport Police or Northern Ireland.
    assert len(forces) == 39, sorted(forces)
    assert forces <= set(config.forces()["pfa_code"])
    assert {KENT, SOUTH_WALES, CITY_OF_LONDON} <= forces
    assert sum(p.stat().st_size for p in DATA.rglob("*") if p.is_file()) < 50 * 1024 * 1024


@pytest.mark.parametrize("force_code", [KENT, SOUTH_WALES, CITY_OF_LONDON])
def test_export_of_any_force_adds_up(force_code):
    frame = pd.read_csv(io.StringIO(export.to_csv(export.export("recorded_crime", data_dir=DATA, area=force_code))))
    assert set(frame["area_code"]) == {force_code}
    everything = pd.read_csv(io.StringIO(export.to_csv(export.export(
        "recorded_crime", data_dir=DATA, area=config.force_by_code(force_code).csps[0].code))))
    assert len(everything) == frame["period_start"].nunique()  # one CSP row a month, as the force has
    counts = police_uk_counts().query("force_code == @force_code and crime_type != 'Anti-social behaviour'")
    by_month = counts.groupby(counts["month"].astype(str))["count"].sum()
    assert dict(zip(frame["period_start"], frame["numerator"].astype(int), strict=True)) == by_month.to_dict()


def test_rates_use_the_residents_of_the_periods_year():
    """A 2019 rate uses mid-2019 residents; 2025 (after the latest mid-year) uses mid-2023."""
    plymouth = "E22000056"
    frame = pd.read_csv(io.StringIO(export.to_csv(export.export("recorded_crime", data_dir=DATA, area=plymouth))))
    residents = config.csp_population().query("csp_code == @plymouth").set_index("year")["residents"]
    by_year = frame.groupby(frame["period_start"].str[:4])["denominator"].unique()
    assert list(by_year["2019"]) == [residents[2019]]
    assert list(by_year["2025"]) == [residents[config.latest_population_year()]]
    assert residents[2019] != residents[2023]


def test_area_profile_of_a_kent_csp():
    at = open_app_page("app_pages/area_profile.py", 120, force=KENT, area=MAIDSTONE)
    assert at.selectbox(key="picker_force").value == KENT
    assert at.selectbox(key="picker_area").value == MAIDSTONE
    assert at.title[0].value == "Area profile: Maidstone"
    assert any("among the 12 CSPs of Kent" in c.value for c in at.caption)


def test_recorded_crime_page_draws_the_chosen_forces_csp_map():
    at = open_app_page("app_pages/recorded_crime.py", 120, force=SOUTH_WALES)
    assert at.selectbox(key="picker_force").value == SOUTH_WALES
    assert any("South Wales" in c.value for c in at.caption)
    csps = map_specs(at)[0]  # the CSP map: South Wales's own CSPs
    assert set(map_areas(csps)) == {a.code for a in config.force_by_code(SOUTH_WALES).csps}
    assert not at.warning or all("No police.uk data" not in w.value for w in at.warning)


def test_an_unknown_force_in_the_address_gives_the_configured_one():
    at = open_app_page("", 120, force="E23999999")
    assert at.selectbox(key="picker_force").value == config.load_force().code
    assert any("no data for" in i.value for i in at.info)


def test_choosing_a_force_drops_the_old_forces_area():
    at = open_app_page("", 120, area="E22000056")
    at.selectbox(key="picker_force").select(KENT).run()
    assert not at.exception
    assert at.query_params.get("force") == [KENT] or at.query_params.get("force") == KENT
    assert "area" not in at.query_params or at.query_params["area"] in (KENT, [KENT])
    assert at.selectbox(key="picker_area").value == KENT


@pytest.mark.parametrize("force_code", [KENT, CITY_OF_LONDON])
@pytest.mark.parametrize("path", ["", "app_pages/calls_101.py", "app_pages/reoffending.py", "app_pages/hidden_crimes.py",
                                  "app_pages/measure.py", "app_pages/about_data.py"])
def test_every_other_page_opens_for_another_force(force_code, path):
    """The illustrative measures exist for the configured force only: another force's pages say so, never fail."""
    at = open_app_page(path, 120, force=force_code)
    assert at.selectbox(key="picker_force").value == force_code
    name = config.force_by_code(force_code).name
    shown = [e.value for e in (*at.title, *at.caption, *at.markdown, *at.info, *at.warning, *at.subheader)]
    assert any(name in str(text) for text in shown), path
