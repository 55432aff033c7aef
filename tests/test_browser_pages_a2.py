"""End-to-end in a real browser (public mode): the reoffending and hidden-crimes pages draw their charts and
maps, survive a hostile address, and a click on a CSP of the funnel plot selects it everywhere."""

from __future__ import annotations

import re
import time

from tests.conftest import canvas_is_drawn, needs_browser, open_page
from tests.test_browser_maps import csp_point

pytestmark = needs_browser


def no_error(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0
    assert "Traceback" not in page.content()


def close_page_not_found(page) -> None:
    """No "Page not found" dialog covers the page (the router's pages live in app_pages/, so Streamlit
    never starts in its old pages/-folder mode, even for a new server's first visitor)."""
    assert page.get_by_role("dialog").filter(has_text="Page not found").count() == 0


def area_select_text(page) -> str:
    """The area select box's shown value (the combobox input's value)."""
    return page.locator(".st-key-picker_area input[role=combobox]").input_value()


def test_reoffending_draws_charts_and_map(server, browser):
    page = open_page(browser, server + "/reoffending")
    no_error(page)
    page.wait_for_selector(".st-key-funnel .js-plotly-plot .scatterlayer path.point", timeout=60_000)
    assert page.locator(".js-plotly-plot").count() >= 4
    assert page.get_by_text("Illustrative data, not official statistics").count() >= 1
    assert canvas_is_drawn(page)
    page.close()


def test_hidden_crimes_shared_link_shows_exeter(server, browser):
    page = open_page(browser, server + "/hidden-crimes?area=E22000049&strand=domestic_abuse")
    no_error(page)
    assert "Exeter" in area_select_text(page)
    assert page.get_by_text("Exeter: records per month").count() == 1
    assert page.get_by_text("These measures are neutral").count() == 1
    page.wait_for_selector(".st-key-trend .js-plotly-plot .scatterlayer .trace", timeout=60_000)
    assert canvas_is_drawn(page)
    page.close()


def test_hidden_crimes_hostile_address_gives_a_working_page(server, browser):
    page = open_page(browser, server + "/hidden-crimes?area=%27%3B%20drop%20table%20x%3B%20--&strand=hate_crime"
                                       "&strand=x&from=2025-06&to=2019-01&to=%ff%fe")
    no_error(page)
    assert "Devon and Cornwall" in area_select_text(page)
    assert page.get_by_text("Devon and Cornwall: records per month").count() == 1
    assert page.get_by_text("ran backwards").count() + page.get_by_text("more than once").count() >= 1
    page.close()


def test_click_on_the_funnel_plot_selects_that_csp_everywhere(server, browser):
    page = open_page(browser, server + "/hidden-crimes?strand=domestic_abuse")
    no_error(page)
    points = page.locator(".st-key-funnel .js-plotly-plot .scatterlayer path.point")
    points.first.wait_for(timeout=60_000)
    close_page_not_found(page)
    page.locator(".st-key-funnel").scroll_into_view_if_needed()
    # Which point is Plymouth: the CSP trace's customdata, in the order Plotly draws the points.
    names = page.evaluate("""() => {
        const plot = document.querySelector('.st-key-funnel .js-plotly-plot');
        const trace = plot.data.find(t => t.name === 'CSP');
        return trace.customdata.map(c => c[0]);
    }""")
    index = names.index("E22000056")
    # Plotly picks the point nearest the pointer: hover until its label shows, then click there.
    box = points.nth(index).bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for _ in range(3):
        page.mouse.move(x, y - 2)
        page.mouse.move(x, y)
        page.locator(".st-key-funnel .hoverlayer .hovertext").first.wait_for(timeout=10_000)
        page.mouse.click(x, y)
        try:
            page.wait_for_url(re.compile(r"area=E22000056"), timeout=15_000)
            break
        except Exception:  # a click during a redraw is lost: hover and click again
            continue
    assert "area=E22000056" in page.url
    # The rerun redraws the page for Plymouth: its trend, the select box, and its point highlighted on the funnel.
    page.get_by_text("Plymouth: records per month").wait_for(timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)
    assert "Plymouth" in area_select_text(page)
    # On the funnel plot the selected CSP's label is now bold (Plotly draws <b> as a bold tspan).
    bold = page.locator(".st-key-funnel .textpoint tspan[style*='bold']")
    bold.first.wait_for(timeout=30_000)  # Plotly redraws the figure after the rerun has ended; under load, later
    assert bold.count() == 1 and bold.text_content() == "Plymouth"
    no_error(page)
    page.close()


def test_click_on_the_map_selects_that_csp_and_the_map_keeps_its_view(server, browser):
    page = open_page(browser, server + "/hidden-crimes?strand=domestic_abuse")
    close_page_not_found(page)
    page.locator(".st-key-csp_map").first.scroll_into_view_if_needed()
    assert canvas_is_drawn(page, ".st-key-csp_map .js-plotly-plot")
    code = "E22000356-E22000050"  # the public site publishes Cornwall with the Isles of Scilly
    x, y = csp_point(page, ".st-key-csp_map", code)
    box = page.locator(".st-key-csp_map").first.bounding_box()
    for _ in range(3):  # under load a click can land while the page is still busy; a person would click again
        page.mouse.move(x - 3, y)
        page.mouse.move(x, y)
        time.sleep(0.5)
        page.mouse.click(x, y)
        try:
            page.wait_for_url(re.compile(r"area=E22000356-E22000050"), timeout=10_000)
            break
        except Exception:
            continue
    assert "area=E22000356-E22000050" in page.url
    page.get_by_text("Cornwall and Isles of Scilly: records per month").wait_for(timeout=60_000)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)
    assert "Cornwall" in area_select_text(page)
    # The map did not move or re-zoom: it is where it was, and so is Cornwall on it; and it is labelled.
    assert page.locator(".st-key-csp_map").first.bounding_box() == box
    assert csp_point(page, ".st-key-csp_map", code) == (x, y)
    page.locator(".st-key-csp_map .annotation-text").first.wait_for(timeout=30_000)
    assert page.locator(".st-key-csp_map .annotation-text").all_text_contents() == ["Cornwall and Isles of Scilly"]
    no_error(page)
    page.close()
