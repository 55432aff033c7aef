"""End-to-end in a real browser (public mode): a force other than the configured one, chosen in the address.

Kent's area profile draws the comparison of a Kent CSP with its most similar CSPs; the recorded-crime
page of South Wales (a Welsh force) draws that force's CSP map.
"""

from __future__ import annotations

from tests.conftest import canvas_is_drawn, needs_browser, open_page

pytestmark = needs_browser

KENT, MAIDSTONE, SOUTH_WALES = "E23000032", "E22000142", "W15000003"


def drawn_points(url: str) -> int:
    import datetime as dt
    from urllib.parse import parse_qs, urlparse

    from measures.core import peer_comparison, registry
    from measures.data import db
    from measures.paths import DEFAULT_DATA_DIR

    asked = parse_qs(urlparse(url).query)
    first, last = (dt.date(int(asked[k][0][:4]), int(asked[k][0][5:]), 1) for k in ("from", "to"))
    group = peer_comparison.group_values(db.connect(DEFAULT_DATA_DIR), registry.get("recorded_crime"), MAIDSTONE,
                                         first, last, public=True)
    csps = group[group["role"].isin(("area", "similar"))]
    assert len(csps) == 16
    return int(csps["value"].notna().sum())


def no_error(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Traceback" not in page.content()


def test_kent_csp_profile_draws_its_similar_areas(server, browser):
    page = open_page(browser, f"{server}/area-profile?force={KENT}&area={MAIDSTONE}")
    no_error(page)
    assert page.locator(".st-key-picker_force input[role=combobox]").input_value() == "Kent"
    assert page.locator(".st-key-picker_area input[role=combobox]").input_value() == "Maidstone"
    page.get_by_role("heading", name="Compared with similar areas").wait_for(timeout=60_000)
    ranked = page.locator(".st-key-peer_ranked .js-plotly-plot .scatterlayer path.point")
    ranked.first.wait_for(timeout=60_000)
    # A point for Maidstone and each of its 15 similar CSPs that has a comparable value in the page's period
    # (CSPs of forces absent from the national files, or with fewer months, are listed, not drawn).
    assert ranked.count() == drawn_points(page.url)
    page.locator(".st-key-peer_funnel .js-plotly-plot .scatterlayer path.point").first.wait_for(timeout=60_000)
    assert "Maidstone" in page.locator(".st-key-peer_ranked").inner_text()
    assert page.get_by_text("Position.").count() >= 1
    page.close()


def test_south_wales_recorded_crime_draws_its_csp_map(server, browser):
    page = open_page(browser, f"{server}/recorded-crime?force={SOUTH_WALES}")
    no_error(page)
    assert page.locator(".st-key-picker_force input[role=combobox]").input_value() == "South Wales"
    assert page.get_by_text("South Wales: crimes published by data.police.uk").count() == 1
    assert canvas_is_drawn(page, ".st-key-csp_map .js-plotly-plot")
    page.close()
