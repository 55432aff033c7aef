"""End-to-end: the dashboard in a real browser (Debian chromium driven by Playwright)."""

from __future__ import annotations

from tests.conftest import DATAFRAME_DRAWN, canvas_is_drawn, needs_browser, open_page

pytestmark = needs_browser


def test_overview_renders_every_measure(server, browser):
    page = open_page(browser, server + "/", wait_for=DATAFRAME_DRAWN)
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Traceback" not in page.content()
    assert page.locator("[data-testid=stDataFrame]").count() >= 1  # the scorecard, with a trend per measure
    assert page.get_by_text("Reported modern slavery").count() >= 1
    page.close()


def test_recorded_crime_shared_link_shows_plymouth_chart_and_map(server, browser):
    page = open_page(browser, server + "/recorded-crime?area=E22000056")
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.get_by_text("Plymouth: crimes by month").count() == 1
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() >= 1
    assert canvas_is_drawn(page)
    page.close()


def test_hostile_address_gives_a_working_page(server, browser):
    page = open_page(browser, server + "/recorded-crime?area=%27%3B%20drop%20table%20x%3B--&from=2025-06&to=2019-01")
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Traceback" not in page.content()
    assert page.get_by_text("Devon and Cornwall: crimes by month").count() == 1
    page.close()




def test_overview_shows_targets_assurance_and_the_change_since(server, browser):
    """The Panel's scorecard in a real browser: every measure with a target shows it, its assurance word
    and the change since the chosen month."""
    from measures.core import registry

    page = open_page(browser, server + "/?since=2025-06", wait_for=DATAFRAME_DRAWN)
    assert page.locator("[data-testid=stException]").count() == 0
    text = page.inner_text("body")
    for measure in (m for m in registry.measures() if m.target):
        # The card's figures: one block of text per measure, its target unique to it.
        figures = page.locator("[data-testid=stMarkdownContainer]").filter(
            has_text=f"Target: {measure.target.text()}").first.inner_text()
        assert any(word in figures for word in ("Consistently passes", "Consistently fails", "Hit and miss")), figures
        assert "since Jun 2025: " in figures, figures
    assert "Scorecard" in text and page.locator("[data-testid=stDataFrame]").count() >= 1
    page.close()
