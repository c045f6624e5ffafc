"""The public home page in a real browser: Indonesian by default, English on request."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_is_indonesian_and_switches_to_english(
    live_server, reference_data, page, watch, artifacts
):
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "id"
    assert page.get_by_role("heading", name="Enam dimensi").is_visible()
    page.screenshot(path=artifacts / "home-id.png", full_page=True)
    page.get_by_role("link", name="English").click()
    page.wait_for_url(live_server.url + "/en/")
    assert page.get_by_role("heading", name="Six dimensions").is_visible()
    page.screenshot(path=artifacts / "home-en.png", full_page=True)
    watch.assert_clean()


def test_home_fits_a_phone_without_sideways_scrolling(live_server, reference_data, page, watch):
    page.set_viewport_size({"width": 375, "height": 740})
    page.goto(live_server.url + "/")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    watch.assert_clean()
