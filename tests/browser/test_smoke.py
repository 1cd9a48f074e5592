"""Tests of the browser-test infrastructure itself: server, headless Chromium, screenshots."""
import struct

import requests

from _browser import ADMIN_EMAIL, ADMIN_PASSWORD, screenshot, sign_in, wait_css, wait_text


def png_size(path):
    """(width, height) from a PNG's IHDR chunk."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "%s is not a PNG" % path
    return struct.unpack(">II", head[16:24])


def test_health_over_http(vane):
    r = requests.get(vane.base + "/health", timeout=10)
    assert r.status_code == 200, r.text[:500]


def test_health_in_browser(vane, driver):
    driver.get(vane.base + "/health")
    body = wait_css(driver, "body")
    assert body.text.strip(), "GET /health rendered an empty page"
    path = screenshot(driver, "smoke-health")
    w, h = png_size(path)
    assert w >= 1000 and h >= 800, (w, h)


def test_screenshot_covers_the_whole_page(driver):
    rows = "".join("<p style='margin:0;height:30px'>row %d</p>" % i for i in range(150))
    driver.get("data:text/html;charset=utf-8," + "<title>Tall page</title><body style='margin:0'>" + rows + "<p id=end>end</p>")
    assert driver.title == "Tall page"
    wait_text(driver, "row 149")
    path = screenshot(driver, "smoke-tall-page")
    w, h = png_size(path)
    assert w == 1280, w            # the viewport width (scrollbars hidden)
    assert h >= 150 * 30, h         # far beyond the 900 px viewport


def test_console_sign_in(console, driver):
    """Skipped while the binary has no /console; else first-run setup (or sign-in) lands in the console."""
    landed = sign_in(driver, console.base, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert landed.rstrip("/").endswith("/console"), landed
    wait_text(driver, ADMIN_EMAIL)
    screenshot(driver, "smoke-console-home")


def test_signed_in_fixture_reuses_the_admin(signed_in, console):
    """A second, fresh browser signs in (no setup this time) with the same administrator."""
    signed_in.get(console.url("gates"))
    wait_text(signed_in, ADMIN_EMAIL)
    assert "/console/login" not in signed_in.current_url
