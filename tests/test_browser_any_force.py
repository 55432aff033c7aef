"""End-to-end in a real browser (public mode): a force other than the configured one, chosen in the address.

Kent's area profile draws the comparison of a Kent CSP with its most similar CSPs; the recorded-crime
page of South Wales (a Welsh force) draws that force's CSP map.
"""

from __future__ import annotations

from tests.conftest import canvas_is_drawn, needs_browser, open_page

pytestmark = needs_browser

KENT, MAIDSTONE, SOUTH_WALES = "E23000032", "E22000142", "W15000003"


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
    assert ranked.count() >= 16  # Maidstone and its 15 similar CSPs
    page.locator(".st-key-peer_funnel .js-plotly-plot .scatterlayer path.point").first.wait_for(timeout=60_000)
    assert "Maidstone" in page.locator(".st-key-peer_ranked").inner_text()
    assert page.get_by_text("Position.").count() >= 1
    page.close()


def test_south_wales_recorded_crime_draws_its_csp_map(server, browser):
    page = open_page(browser, f"{server}/recorded-crime?force={SOUTH_WALES}")
    no_error(page)
    assert page.locator(".st-key-picker_force input[role=combobox]").input_value() == "South Wales"
    assert page.get_by_text("South Wales: crimes published by data.police.uk").count() == 1
    assert canvas_is_drawn(page, ".st-key-csp_map [data-testid=stDeckGlJsonChart]")
    page.close()
