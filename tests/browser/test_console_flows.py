"""End-to-end flows through the web console, as a new user would click through them.

Each test takes full-page screenshots of the main pages it visits (see $VANE_SCREENSHOTS) and checks
that the browser logged no JavaScript errors on them (`browser_errors`). Data that is not the point
of a test (experiments, exposures, events) is set up through Vane's HTTP APIs.

1. first-run setup, sign out, sign in (and a wrong password)        (own, fresh server)
2. a gate: create, edit its rules (and a bad edit), test a user
3. Segment inbound: live stream, event drawer, rate/count, pause, test event, event page
4. Segment outbound to a local receiver
5. experiment results: interval charts, exposures chart, SRM banner, metrics pages
6. a viewer cannot edit (no forms; the API answers 403)
7. CSRF: form posts and JSON API calls without the token are refused
8. XSS: user-supplied names and descriptions are shown as text
9. layout at 1280 px and at phone width (390 x 844): no horizontal page overflow

"""
import json
import re
import time
import urllib.parse
import uuid

import pytest
import requests
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

import conftest
from _browser import (ADMIN_EMAIL, ADMIN_PASSWORD, browser_errors, new_driver, screenshot, sign_in, wait,
                      wait_css, wait_text, wait_url)

HOUR = 3_600_000
VIEWER_PASSWORD = "viewer password 123"


# ---------------------------------------------------------------- helpers

def uniq(prefix):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:8])


def now_ms():
    return int(time.time() * 1000)


def css(driver, selector):
    return driver.find_elements(By.CSS_SELECTOR, selector)


def no_js_errors(driver, allow=()):
    """Asserts the browser console has no SEVERE entries since the last call, except those containing
    one of `allow` (e.g. the expected 401 of a failed sign-in)."""
    errors = [e for e in browser_errors(driver) if not any(a in (e.get("message") or "") for a in allow)]
    assert not errors, "browser console errors on %s:\n%s" % (
        driver.current_url, "\n".join(e.get("message", "") for e in errors))


def shot(driver, name, allow=()):
    """Full-page screenshot of the current page, then: no JS errors on it."""
    screenshot(driver, name)
    no_js_errors(driver, allow)


def fill(driver, selector, text):
    el = wait_css(driver, selector)
    el.clear()
    el.send_keys(text)
    return el


def set_text(driver, selector, text):
    """Replaces a textarea's content (JSON editors): cleared and typed like a user would."""
    return fill(driver, selector, text)


def check(driver, selector, on=True):
    box = wait_css(driver, selector)
    if box.is_selected() != on:
        box.click()
    assert box.is_selected() == on
    return box


def text_of(driver, selector):
    els = css(driver, selector)
    return els[0].text.strip() if els else ""


def wait_for(driver, predicate, what, timeout=10):
    try:
        return wait(driver, timeout).until(lambda d: predicate(d))
    except Exception:
        raise AssertionError("timed out after %ss waiting for %s on %s; page text:\n%s" % (
            timeout, what, driver.current_url, text_of(driver, "body")[:1500])) from None


def no_alert(driver):
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return
    text = alert.text
    alert.dismiss()
    raise AssertionError("a JavaScript alert fired on %s: %r" % (driver.current_url, text))


def session_for(driver, base):
    """A requests.Session carrying the browser's console session cookie, and the page's CSRF token."""
    s = requests.Session()
    for c in driver.get_cookies():
        s.cookies.set(c["name"], c["value"], path=c.get("path", "/"))
    token = driver.execute_script("return document.querySelector('meta[name=\"csrf-token\"]').content")
    assert token, "no CSRF token in meta[name=csrf-token] on %s" % driver.current_url
    return s, token


def browser_fetch(driver, method, path, body=None):
    """fetch() from the page, as the console's own script would (session cookie + the page's CSRF
    token); returns (status, parsed JSON or text)."""
    status, text = driver.execute_async_script("""
        const [method, path, body, done] = arguments;
        const token = document.querySelector('meta[name="csrf-token"]').content;
        const opts = {method, credentials: "same-origin",
                      headers: {"Accept": "application/json", "X-CSRF-Token": token}};
        if (body !== null) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(body); }
        fetch(path, opts).then(r => r.text().then(t => done([r.status, t]))).catch(e => done([0, String(e)]));
    """, method, path, body)
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def no_page_overflow(driver, what):
    sw, iw = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    if sw > iw + 1:
        wide = driver.execute_script("""
            const iw = window.innerWidth, out = [];
            for (const el of document.querySelectorAll('body *')) {
              const r = el.getBoundingClientRect();
              if (r.right > iw + 1 && r.width > 0 && !el.closest('.table-wrap, .stream, pre, .drawer'))
                out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                         (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : '') +
                         ' right=' + Math.round(r.right));
            }
            return out.slice(0, 12);""")
        raise AssertionError("%s overflows horizontally at %d px: scrollWidth %d; elements past the edge: %s"
                             % (what, iw, sw, wide))


def emulate_width(driver, width, height):
    """Sets the viewport to width x height CSS px (a desktop-style viewport, so the page cannot zoom
    out to hide an overflow)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    wait_for(driver, lambda d: d.execute_script("return window.innerWidth") == width, "viewport width %d" % width)


def login_form_token(http, base):
    """GET /console/login with a requests session: the sign-in form's _csrf (double-submit cookie)."""
    r = http.get(base + "/console/login", timeout=10)
    assert r.status_code == 200, r.status_code
    m = re.search(r'name="_csrf" value="([^"]+)"', r.text)
    assert m, "no _csrf in the sign-in form"
    return m.group(1)


# ---------------------------------------------------------------- a second, fresh server (setup)

@pytest.fixture
def fresh_vane(console, tmp_path):
    """A separate `vane serve` on an empty data dir (no administrator yet), for the first-run test."""
    process = conftest.start_server(tmp_path / "fresh-data", tmp_path / "fresh-server.log")
    try:
        yield conftest.Vane(process.proc, process.base, process.log_path, process.data_dir)
    finally:
        process.stop()


# ================================================================ 1. first run, sign in, sign out

def test_first_run_setup_sign_out_and_sign_in(fresh_vane, driver):
    base = fresh_vane.base
    admin, password = "founder@example.com", "a long enough password"

    # A fresh server sends every console page to first-run setup.
    driver.get(base + "/console")
    wait_url(driver, "/console/setup")
    wait_css(driver, "#setup-form")
    assert css(driver, "#name") and css(driver, "#email") and css(driver, "#password")
    shot(driver, "flows-01-setup")
    driver.get(base + "/console/login")
    wait_url(driver, "/console/setup")

    # A too-short password is refused beside the field (400), and the email is kept.
    fill(driver, "#name", "Founder")
    fill(driver, "#email", admin)
    fill(driver, "#password", "short")
    driver.find_element(By.CSS_SELECTOR, "#setup-submit").click()
    wait_text(driver, "at least 10 characters", "#setup-form")
    assert driver.find_element(By.CSS_SELECTOR, "#email").get_attribute("value") == admin
    assert driver.find_element(By.CSS_SELECTOR, "#password").get_attribute("aria-invalid") == "true"
    shot(driver, "flows-01-setup-error", allow=("status of 400",))

    # Creating the administrator signs in and lands on the overview.
    fill(driver, "#password", password)
    driver.find_element(By.CSS_SELECTOR, "#setup-submit").click()
    wait(driver).until(lambda d: d.current_url.rstrip("/").endswith("/console"))
    wait_css(driver, "#overview")
    wait_text(driver, admin, ".topbar")
    assert "admin" in text_of(driver, ".topbar .badge")
    shot(driver, "flows-01-overview")
    # Setup is closed now.
    driver.get(base + "/console/setup")
    wait_url(driver, "/console/login")
    driver.get(base + "/console")
    wait_css(driver, "#overview")

    # Sign out (topbar), then the console asks to sign in again.
    driver.find_element(By.CSS_SELECTOR, "#logout-form button[type=submit]").click()
    wait_url(driver, "/console/login")
    wait_css(driver, "#signin-form")
    driver.get(base + "/console/gates")
    wait_url(driver, "/console/login?next=")
    shot(driver, "flows-01-signin")

    # A wrong password: an error on the page, and HTTP 401.
    fill(driver, "#email", admin)
    fill(driver, "#password", "not the password")
    driver.find_element(By.CSS_SELECTOR, "#signin-submit").click()
    wait_text(driver, "Wrong email or password", "#signin-form .form-error")
    assert "/console/login" in driver.current_url
    assert driver.find_element(By.CSS_SELECTOR, "#email").get_attribute("value") == admin
    shot(driver, "flows-01-signin-wrong-password", allow=("status of 401",))
    http = requests.Session()
    token = login_form_token(http, base)
    r = http.post(base + "/console/login", data={"_csrf": token, "email": admin, "password": "nope nope nope"},
                  allow_redirects=False, timeout=10)
    assert r.status_code == 401, (r.status_code, r.text[:300])
    assert "Wrong email or password" in r.text

    # The right password signs in (where it lands after a failed try: see
    # test_sign_in_after_a_wrong_password_keeps_next).
    fill(driver, "#password", password)
    driver.find_element(By.CSS_SELECTOR, "#signin-submit").click()
    wait(driver).until(lambda d: "/console/login" not in d.current_url)
    wait_text(driver, admin, ".topbar")
    no_js_errors(driver)

    # Signed out, a deep link asks to sign in and then returns to the page asked for.
    driver.find_element(By.CSS_SELECTOR, "#logout-form button[type=submit]").click()
    wait_url(driver, "/console/login")
    driver.get(base + "/console/gates")
    wait_url(driver, "/console/login?next=")
    fill(driver, "#email", admin)
    fill(driver, "#password", password)
    driver.find_element(By.CSS_SELECTOR, "#signin-submit").click()
    wait_url(driver, "/console/gates")
    wait_text(driver, admin, ".topbar")
    wait_css(driver, "#create-form")
    shot(driver, "flows-01-gates-after-sign-in")


def test_sign_in_after_a_wrong_password_keeps_next(console, signed_in):
    d = signed_in
    d.find_element(By.CSS_SELECTOR, "#logout-form button[type=submit]").click()
    wait_url(d, "/console/login")
    d.get(console.url("gates"))
    wait_url(d, "/console/login?next=")
    fill(d, "#email", ADMIN_EMAIL)
    fill(d, "#password", "not the password")
    d.find_element(By.CSS_SELECTOR, "#signin-submit").click()
    wait_text(d, "Wrong email or password", "#signin-form .form-error")
    fill(d, "#password", ADMIN_PASSWORD)
    d.find_element(By.CSS_SELECTOR, "#signin-submit").click()
    wait(d).until(lambda x: "/console/login" not in x.current_url)
    assert "/console/gates" in d.current_url, d.current_url


# ================================================================ 2. gate: rules and "test a user"

RULES = [{
    "name": "Example staff", "passPercentage": 100,
    "conditions": [{"type": "email", "operator": "str_contains_any", "targetValue": ["@example.com"]}],
}, {
    "name": "Beta country", "passPercentage": 100,
    "conditions": [{"type": "user_field", "field": "country", "operator": "any", "targetValue": ["NZ"]}],
}]


def test_gate_create_rules_and_test_a_user(console, signed_in):
    d = signed_in
    name = uniq("checkout_gate")

    d.get(console.url("gates"))
    wait_css(d, "#create-form")
    shot(d, "flows-02-gates-list")
    fill(d, "#new-name", name)
    fill(d, "#new-description", "New checkout flow")
    d.find_element(By.CSS_SELECTOR, "#create-submit").click()
    wait_url(d, "/console/gates/" + name)
    wait_text(d, name, "h1")
    wait_text(d, "New checkout flow", ".page-header")
    wait_text(d, "No rules", ".card")

    # "Edit rules" (open already while there are none).
    summary = wait_css(d, "#rules-form", visible=False).find_element(By.XPATH, "./ancestor::details/summary")
    details = summary.find_element(By.XPATH, "..")
    if details.get_attribute("open") is None:
        summary.click()
    wait_css(d, "#rule-builder [data-add-rule]")
    # This test writes the rules as JSON: the editor under "Advanced" (the builder has its own test).
    wait_css(d, "#rules-advanced summary").click()
    wait_css(d, "textarea#rules")

    # Invalid JSON: the error is shown beside the field and nothing is saved.
    set_text(d, "textarea#rules", '[{"name": "broken", ')
    d.find_element(By.CSS_SELECTOR, "#save-rules").click()
    err = wait_css(d, '#rules-form .field-error[data-error-for="rules"]')
    assert "not valid JSON" in err.text, err.text
    assert d.find_element(By.CSS_SELECTOR, "textarea#rules").get_attribute("aria-invalid") == "true"
    assert console.console_ok("GET", "/gates/" + name).get("rules") in ([], None)
    shot(d, "flows-02-gate-invalid-json")

    # A rule the API refuses (pass percentage > 100): an error in the form, nothing saved.
    bad = [dict(RULES[0], passPercentage=150)]
    set_text(d, "textarea#rules", json.dumps(bad))
    d.find_element(By.CSS_SELECTOR, "#save-rules").click()
    def api_error(x):
        t = text_of(x, '#rules-form .field-error[data-error-for="rules"]') or text_of(x, "#rules-form .form-error")
        return t if t and "not valid JSON" not in t else None
    wait_for(d, api_error, "the API's error for passPercentage 150")
    msg = text_of(d, '#rules-form .field-error[data-error-for="rules"]') or text_of(d, "#rules-form .form-error")
    assert "150" in msg or "passPercentage" in msg, msg
    assert console.console_ok("GET", "/gates/" + name).get("rules") in ([], None)
    no_js_errors(d, allow=("status of 400",))  # the refused PATCH

    # Valid rules: saved, and the page shows them at once (no "No rules" left over, no manual reload).
    set_text(d, "textarea#rules", json.dumps(RULES, indent=2))
    d.find_element(By.CSS_SELECTOR, "#save-rules").click()
    wait_text(d, "Saved", "#rules-form .form-ok")
    assert not text_of(d, "#rules-form .form-error")
    assert "No rules" not in d.find_element(By.CSS_SELECTOR, "main").text
    table = wait_css(d, "#rules-table")
    assert "Example staff" in table.text and "Beta country" in table.text, table.text
    assert "@example.com" in table.text, table.text
    saved = console.console_ok("GET", "/gates/" + name)["rules"]
    assert [r["name"] for r in saved] == ["Example staff", "Beta country"]

    # Test a user: a matching email passes by "Example staff"...
    set_text(d, "#test-user", json.dumps({"userID": "ada", "email": "ada@example.com"}))
    d.find_element(By.CSS_SELECTOR, "#test-run").click()
    result = wait_css(d, "#test-result")
    wait_text(d, "true", "#test-result [data-slot=value]")
    assert text_of(d, "#test-result [data-slot=rule]") == "Example staff", result.text
    # ... the second rule decides for a user in NZ ...
    set_text(d, "#test-user", json.dumps({"userID": "kiri", "email": "kiri@elsewhere.org", "country": "NZ"}))
    d.find_element(By.CSS_SELECTOR, "#test-run").click()
    wait_for(d, lambda x: text_of(x, "#test-result [data-slot=rule]") == "Beta country", "rule Beta country")
    assert text_of(d, "#test-result [data-slot=value]") == "true"
    # ... and anyone else fails.
    set_text(d, "#test-user", json.dumps({"userID": "bob", "email": "bob@elsewhere.org", "country": "US"}))
    d.find_element(By.CSS_SELECTOR, "#test-run").click()
    wait_text(d, "false", "#test-result [data-slot=value]")
    rule = text_of(d, "#test-result [data-slot=rule]")
    assert "Example staff" not in rule and "Beta country" not in rule, rule
    # A user that is not JSON: an error beside the user field.
    set_text(d, "#test-user", "{userID: bob}")
    d.find_element(By.CSS_SELECTOR, "#test-run").click()
    assert "not valid JSON" in wait_css(d, '#test-form .field-error[data-error-for="user"]').text
    shot(d, "flows-02-gate-page")

    # The gate list shows it with its rule count.
    d.get(console.url("gates"))
    row = wait_css(d, "#entity-table").find_element(By.XPATH, ".//tr[td/a[text()='%s']]" % name)
    assert "enabled" in row.text and "2" in row.text, row.text
    no_js_errors(d)


# ================================================================ 3. Segment inbound and the live stream

def segment_client(vane):
    from segment.analytics import Client
    errors = []
    c = Client(vane.segment_write_key, host=vane.base, sync_mode=True, max_retries=1,
               on_error=lambda e, batch: errors.append((e, batch)))
    c.errors = errors
    return c


def stream_rows(driver, event_name):
    return css(driver, '#stream-list .stream-row[data-event-name="%s"]' % event_name)


def wait_connected(driver):
    wait_css(driver, '#live-stream[data-connected="true"]', visible=False)


def count_value(driver):
    return int(text_of(driver, "#stream-count") or 0)


def test_segment_inbound_live_stream(console, signed_in):
    d = signed_in
    suffix = uuid.uuid4().hex[:6]
    order, paused_name = "Order Completed " + suffix, "Paused Event " + suffix

    d.get(console.url("integrations/segment"))
    wait_css(d, "#inbound-enable-form")
    check(d, "#inbound-enabled", True)
    d.find_element(By.CSS_SELECTOR, "#inbound-save").click()
    wait_text(d, "Saved", "#inbound-enable-form .form-ok")
    assert console.console_ok("GET", "/integrations/segment/inbound")["enabled"] is True
    d.refresh()
    assert wait_css(d, "#inbound-enabled").is_selected()
    wait_connected(d)
    assert "127.0.0.1" in wait_css(d, "#dest-url").get_attribute("value")

    # The real Segment library sends tracks; they appear in the stream as they are stored.
    client = segment_client(console)
    for i in range(3):
        client.track(user_id="seg-user-%d" % i, event=order, properties={"revenue": 10 + i, "sku": "sku-%d" % i})
    client.flush()
    assert not client.errors, client.errors
    wait_for(d, lambda x: len(stream_rows(x, "segment::" + order)) == 3, "3 stream rows of segment::" + order)
    wait_for(d, lambda x: count_value(x) >= 3, "#stream-count >= 3")
    wait_for(d, lambda x: text_of(x, "#stream-rate") not in ("", "0.0"), "a non-zero #stream-rate", timeout=4)
    assert float(text_of(d, "#stream-rate")) > 0

    # A row opens the details drawer with the raw Segment message.
    stream_rows(d, "segment::" + order)[0].click()
    drawer = wait_css(d, "#event-drawer")
    assert text_of(d, "#event-drawer [data-slot=title]") == "segment::" + order
    raw = wait_css(d, "#event-drawer [data-slot=raw]").text
    msg = json.loads(raw)
    assert msg["event"] == order and msg["type"] == "track", raw
    assert msg["properties"]["sku"].startswith("sku-"), raw
    assert "segment" in drawer.find_element(By.CSS_SELECTOR, "[data-slot=fields]").text
    shot(d, "flows-03-segment-inbound-drawer")
    event_href = d.find_element(By.CSS_SELECTOR, "#event-drawer a[data-slot=link]").get_attribute("href")
    assert re.search(r"/console/events/\d+$", event_href), event_href
    d.find_element(By.CSS_SELECTOR, "#event-drawer button[data-close]").click()
    wait(d).until(lambda x: not x.find_element(By.CSS_SELECTOR, "#event-drawer").is_displayed())

    # Pause: events are counted but not added until resumed.
    pause = d.find_element(By.CSS_SELECTOR, "#stream-pause")
    pause.click()
    assert pause.text == "Resume" and pause.get_attribute("aria-pressed") == "true"
    before = count_value(d)
    for i in range(2):
        client.track(user_id="seg-paused-%d" % i, event=paused_name)
    client.flush()
    wait_for(d, lambda x: count_value(x) >= before + 2, "#stream-count to count paused events")
    time.sleep(0.3)
    assert stream_rows(d, "segment::" + paused_name) == [], "rows were added while paused"
    assert "Paused" in d.find_element(By.CSS_SELECTOR, "[data-stream-state]").text
    pause.click()
    assert pause.text == "Pause"
    wait_for(d, lambda x: len(stream_rows(x, "segment::" + paused_name)) == 2, "paused events after Resume")

    # "Send a test event".
    d.find_element(By.CSS_SELECTOR, "#send-test-event").click()
    wait_text(d, "Vane Test Event", "#test-event-out")
    wait_for(d, lambda x: stream_rows(x, "segment::Vane Test Event"), "segment::Vane Test Event in the stream")
    shot(d, "flows-03-segment-inbound")

    # The usage table counts them after a reload.
    d.refresh()
    usage = wait_css(d, "#usage-table")
    assert re.search(r"\d{4}-\d\d-\d\d", usage.text), usage.text

    # The event's own page.
    d.get(event_href)
    wait_text(d, "segment::" + order, "h1")
    raw_page = json.loads(wait_css(d, "#event-raw").text)
    assert raw_page["event"] == order
    assert "segment" in text_of(d, "#event-fields")
    shot(d, "flows-03-event-details")

    # The general live stream (all sources) on /console/events.
    d.get(console.url("events"))
    wait_connected(d)
    shot(d, "flows-03-events-live-empty")
    name = uniq("live_sdk_event")
    console.log_events([{"eventName": name, "user": {"userID": "live-1"}, "time": now_ms(), "value": 3}])
    wait_for(d, lambda x: stream_rows(x, name), "%s in the live stream" % name)
    stream_rows(d, name)[0].click()
    wait_css(d, "#event-drawer")
    assert text_of(d, "#event-drawer [data-slot=title]") == name
    # An SDK event has no raw Segment message: that section is hidden.
    assert not d.find_element(By.CSS_SELECTOR, "#event-drawer [data-slot=raw]").is_displayed()
    shot(d, "flows-03-events-live")


# ================================================================ 4. Segment outbound

def test_segment_outbound_delivers(console, signed_in, receiver):
    d = signed_in
    d.get(console.url("integrations/segment?tab=outbound"))
    wait_css(d, "#outbound-form")
    shot(d, "flows-04-outbound-before")
    try:
        fill(d, "#outbound-write-key", receiver.write_key)
        fill(d, "#outbound-endpoint", receiver.base)
        check(d, "#outbound-enabled", True)
        check(d, 'input[name="categories.customEvents"]', True)
        d.find_element(By.CSS_SELECTOR, "#outbound-save").click()
        wait_text(d, "Saved", "#outbound-form .form-ok")
        settings = console.console_ok("GET", "/integrations/segment/outbound")
        assert settings["enabled"] is True and settings["endpoint"].rstrip("/") == receiver.base, settings

        name = uniq("outbound_browser_event")
        console.log_events([{"eventName": name, "user": {"userID": "out-user-1"}, "time": now_ms()}])
        # The receiver accepts only batches sent with its write key.
        got = receiver.wait(lambda r: r.messages(lambda m: m.get("event") == name), timeout=20)
        assert got, "the receiver did not get %s; it got: %s" % (name, receiver.messages()[-5:])
        assert got[0].get("userId") == "out-user-1", got[0]

        deadline = time.time() + 15
        while True:
            d.refresh()
            delivered = int(wait_css(d, "#outbound-delivered").text.strip() or 0)
            if delivered > 0 or time.time() > deadline:
                break
            time.sleep(0.3)
        assert delivered > 0, "#outbound-delivered stayed 0"
        assert wait_css(d, "#outbound-enabled").is_selected()
        assert "set" in d.find_element(By.CSS_SELECTOR, "#outbound-write-key").get_attribute("placeholder")
        assert d.find_element(By.CSS_SELECTOR, "#outbound-write-key").get_attribute("value") == ""
        shot(d, "flows-04-outbound-delivered")

        # The overview's integration health shows it.
        d.get(console.url(""))
        wait_css(d, "#overview")
        assert "delivered" in d.find_element(By.CSS_SELECTOR, "body").text
        shot(d, "flows-04-overview")
    finally:
        # The receiver goes away with this test: stop exporting on the shared server.
        console.console_ok("PUT", "/integrations/segment/outbound", {"enabled": False})


# ================================================================ 5. experiment results

def _exposure(experiment, rule_id, uid, t):
    return {"eventName": "statsig::config_exposure", "user": {"userID": uid}, "time": int(t),
            "metadata": {"config": experiment, "ruleID": rule_id}}


def _load_experiment(vane, prefix, units, purchases_per_unit, event):
    """An experiment whose groups got `units[group]` exposures ~3 h ago, and purchase events after them
    (group g's unit i makes purchases_per_unit[g](i) purchases)."""
    name = uniq(prefix)
    data = vane.console_ok("POST", "/experiments", {
        "name": name, "description": "Browser-test experiment",
        "groups": [{"name": g, "size": 50} for g in units]})
    rules = {g["name"]: g["id"] for g in data["groups"]}
    vane.console_ok("PUT", "/experiments/%s/start" % name)
    t0 = now_ms() - 3 * HOUR
    exposures, events = [], []
    for g, n in units.items():
        for i in range(n):
            uid = "%s-%s-%d" % (name, g, i)
            t = t0 + (i * 7919) % HOUR
            exposures.append(_exposure(name, rules[g], uid, t))
            for k in range(purchases_per_unit[g](i)):
                events.append({"eventName": event, "user": {"userID": uid}, "time": t + 60_000 * (k + 1),
                               "value": 10 + (i * 13 + k * 7) % 40})
    for chunk in range(0, len(exposures), 500):
        vane.log_events(exposures[chunk:chunk + 500])
    for chunk in range(0, len(events), 500):
        vane.log_events(events[chunk:chunk + 500])
    return name


@pytest.fixture(scope="module")
def experiments(console):
    event = uniq("purchase")
    balanced = _load_experiment(console, "exp_checkout", {"Control": 200, "Test": 200}, {
        "Control": lambda i: (i % 10 < 4) + (i % 7 == 0),       # ~0.54 purchases per unit
        "Test": lambda i: (i % 10 < 6) + (i % 5 == 0)},          # ~0.80
        event)
    unbalanced = _load_experiment(console, "exp_srm", {"Control": 320, "Test": 180}, {
        "Control": lambda i: i % 2, "Test": lambda i: i % 2}, event)
    return {"balanced": balanced, "unbalanced": unbalanced, "event": event}


def test_experiment_results_charts_and_srm(console, signed_in, experiments):
    d = signed_in
    name, event = experiments["balanced"], experiments["event"]

    d.get(console.url("experiments"))
    row = wait_css(d, "#entity-table").find_element(By.XPATH, ".//tr[td/a[text()='%s']]" % name)
    assert "active" in row.text, row.text
    shot(d, "flows-05-experiments-list")
    row.find_element(By.CSS_SELECTOR, "a").click()
    wait_url(d, "/console/experiments/" + name)
    d.find_element(By.CSS_SELECTOR, "#view-results").click()
    wait_url(d, "/console/experiments/%s/results" % name)

    groups = wait_css(d, "#groups-table")
    assert "200" in groups.text and "Control" in groups.text and "Test" in groups.text, groups.text
    table = wait_css(d, "#metrics-table")
    assert "count:" + event in table.text and "conversion:" + event in table.text, table.text
    charts = table.find_elements(By.CSS_SELECTOR, "svg.ci-chart")
    assert len(charts) >= 2, "want interval charts for count and conversion, got %d:\n%s" % (len(charts), table.text)
    for c in charts:
        assert c.size["width"] > 50 and c.size["height"] > 5, c.size
        assert "relative lift" in (c.get_attribute("aria-label") or "")
        assert c.find_elements(By.CSS_SELECTOR, "rect.bar") and c.find_elements(By.CSS_SELECTOR, "circle.point")
    lift = table.find_element(By.XPATH, ".//tr[td/a[text()='count:%s']]/td[contains(@class,'lift')]" % event)
    assert lift.text.startswith("+"), lift.text
    exposures = wait_css(d, "#exposures-chart")
    assert exposures.find_elements(By.CSS_SELECTOR, "svg rect"), "no bars in #exposures-chart"
    assert not css(d, "#srm-banner"), "a balanced 200/200 split shows the SRM banner"
    shot(d, "flows-05-experiment-results")

    # Options re-render the results (form GET).
    wait_css(d, '#results-options input[name="sequential"]').click()
    d.find_element(By.CSS_SELECTOR, "#results-options button[type=submit]").click()
    wait_url(d, "sequential=true")
    wait_css(d, "#metrics-table svg.ci-chart")
    assert wait_css(d, '#results-options input[name="sequential"]').is_selected()
    no_js_errors(d)

    # Drilling down by a field of the first exposure: one table row per value, metric and group.
    field = wait_css(d, '#results-options input[name="dimension"]')
    field.clear()
    field.send_keys("environment")
    d.find_element(By.CSS_SELECTOR, "#results-options button[type=submit]").click()
    wait_url(d, "dimension=environment")
    drill = wait_css(d, "#drilldown-table")
    assert "count:" + event in drill.text and "Test" in drill.text, drill.text
    assert wait_css(d, "#drilldown h2").text == "By environment"
    assert wait_css(d, '#results-options input[name="dimension"]').get_attribute("value") == "environment"
    shot(d, "flows-05-experiment-results-drilldown")
    no_js_errors(d)

    # A 320/180 split of a 50/50 experiment: the sample ratio mismatch banner.
    d.get(console.url("experiments/%s/results" % experiments["unbalanced"]))
    banner = wait_css(d, "#srm-banner")
    assert "Sample ratio mismatch" in banner.text and "320" in banner.text and "180" in banner.text, banner.text
    shot(d, "flows-05-experiment-results-srm")

    # A metric's page, from its link in the results: a chart and a table of days.
    d.get(console.url("experiments/%s/results" % name))
    wait_css(d, "#metrics-table").find_element(By.XPATH, ".//a[text()='count:%s']" % event).click()
    wait_text(d, "count:" + event, "h1")
    wait_css(d, "#metric-chart svg")
    assert "Events per day" in text_of(d, "#content")
    days = wait_css(d, "#series-table")
    assert re.search(r"\d{4}-\d\d-\d\d", days.text), days.text
    shot(d, "flows-05-metric")

    # The metrics list has the event's automatic metrics.
    d.get(console.url("metrics"))
    listing = wait_css(d, "#metrics-list")
    assert "count:" + event in listing.text and "conversion:" + event in listing.text, listing.text
    shot(d, "flows-05-metrics")


@pytest.mark.parametrize("event", ["purchase_made", "Order Completed"], ids=["plain", "space"])
def test_metric_links_open_the_metric(console, signed_in, event):
    d = signed_in
    event = uniq(event)
    console.log_events([{"eventName": event, "user": {"userID": "metric-link-user"}, "time": now_ms(), "value": 5}])
    d.get(console.url("metrics"))
    link = wait_css(d, "#metrics-list").find_element(By.XPATH, ".//a[text()='count:%s']" % event)
    link.click()
    wait(d).until(lambda x: "/console/metrics/" in x.current_url)
    wait_css(d, "#content")
    assert text_of(d, ".page-header h1") == "count:" + event, text_of(d, "#content")[:300]
    wait_css(d, "#metric-chart svg")


# ================================================================ 6. viewer

def test_viewer_cannot_edit(console, signed_in):
    d = signed_in
    email = uniq("viewer") + "@example.com"
    gate = uniq("viewer_gate")
    console.console_ok("POST", "/gates", {"name": gate, "description": "Set up by the admin", "rules": RULES})

    d.get(console.url("settings?tab=users"))
    wait_css(d, "#user-form")
    shot(d, "flows-06-settings-users")
    fill(d, "#new-user-email", email)
    fill(d, "#new-user-name", "Vera Viewer")
    fill(d, "#new-user-password", VIEWER_PASSWORD)
    Select(d.find_element(By.CSS_SELECTOR, "#new-user-role")).select_by_visible_text("viewer")
    d.find_element(By.CSS_SELECTOR, "#create-user").click()
    # The page was already on tab=users: wait for the reloaded table, not the URL.
    wait_text(d, email, "#users-table")
    users = wait_css(d, "#users-table")
    row = users.find_element(By.XPATH, ".//tr[td[text()='%s']]" % email)
    assert "viewer" in row.text, row.text
    shot(d, "flows-06-settings-users-added")

    # The audit log records who added the user.
    d.get(console.url("settings?tab=audit"))
    audit = wait_css(d, "#audit-table")
    assert email in audit.text and ADMIN_EMAIL in audit.text, audit.text[:2000]
    shot(d, "flows-06-audit-log")

    v = new_driver()
    try:
        sign_in(v, console.base, email, VIEWER_PASSWORD)
        wait_text(v, "viewer", ".topbar .badge")
        v.get(console.url("gates/" + gate))
        wait_css(v, "#rules-table")
        assert not css(v, "#rules-form"), "a viewer sees the rules editor"
        assert not css(v, "#toggle-form"), "a viewer sees the enable/disable button"
        assert not css(v, "textarea#rules")
        shot(v, "flows-06-viewer-gate-page")
        v.get(console.url("gates"))
        wait_css(v, "#entity-table")
        assert not css(v, "#create-form"), "a viewer sees the create form"
        v.get(console.url("settings?tab=users"))
        wait_css(v, "#users-table")
        assert not css(v, "#user-form"), "a viewer sees the add-user form"
        no_js_errors(v)

        # The API refuses a viewer's change even with a valid session and CSRF token...
        status, body = browser_fetch(v, "POST", "/console/v1/gates", {"name": uniq("viewer_made")})
        assert status == 403, (status, body)
        assert "viewer" in json.dumps(body), body
        status, _ = browser_fetch(v, "PATCH", "/console/v1/gates/" + gate, {"rules": []})
        assert status == 403
        # ... while reading works.
        status, body = browser_fetch(v, "GET", "/console/v1/gates/" + gate)
        assert status == 200 and body["data"]["name"] == gate, (status, body)
        assert len(console.console_ok("GET", "/gates/" + gate)["rules"]) == 2
        no_js_errors(v, allow=("status of 403",))
    finally:
        v.quit()


def test_viewer_can_test_a_user(console, driver):
    gate = uniq("viewer_eval_gate")
    console.console_ok("POST", "/gates", {"name": gate, "rules": RULES})
    email = uniq("viewer_eval") + "@example.com"
    # Add the viewer through the same form post the settings page makes (as the admin).
    admin = new_driver()
    try:
        sign_in(admin, console.base, ADMIN_EMAIL, ADMIN_PASSWORD)
        admin.get(console.url("settings?tab=users"))
        wait_css(admin, "#user-form")
        fill(admin, "#new-user-email", email)
        fill(admin, "#new-user-password", VIEWER_PASSWORD)
        Select(admin.find_element(By.CSS_SELECTOR, "#new-user-role")).select_by_visible_text("viewer")
        admin.find_element(By.CSS_SELECTOR, "#create-user").click()
        wait_text(admin, email, "#users-table")
    finally:
        admin.quit()
    sign_in(driver, console.base, email, VIEWER_PASSWORD)
    driver.get(console.url("gates/" + gate))
    wait_css(driver, "#test-form")
    set_text(driver, "#test-user", json.dumps({"userID": "ada", "email": "ada@example.com"}))
    driver.find_element(By.CSS_SELECTOR, "#test-run").click()
    wait_for(driver, lambda x: text_of(x, "#test-result [data-slot=value]") or text_of(x, "#test-form .form-error"),
             "a result or an error")
    assert not text_of(driver, "#test-form .form-error"), text_of(driver, "#test-form .form-error")
    assert text_of(driver, "#test-result [data-slot=value]") == "true"


# ================================================================ 7. CSRF

def test_csrf_is_required(console, signed_in):
    d = signed_in
    d.get(console.url("gates"))
    wait_css(d, "#create-form")
    http, token = session_for(d, console.base)
    base = console.base

    def signed_in_still():
        r = http.get(base + "/console", allow_redirects=False, timeout=10)
        return r.status_code == 200

    assert signed_in_still()

    # Classic form posts without (or with a wrong) _csrf are refused and change nothing.
    for data in ({}, {"_csrf": "x" * len(token)}):
        r = http.post(base + "/console/logout", data=data, allow_redirects=False, timeout=10)
        assert r.status_code == 403, ("logout", data, r.status_code, r.text[:300])
        assert signed_in_still(), "a logout without the CSRF token ended the session"
    email = uniq("csrf_user") + "@example.com"
    r = http.post(base + "/console/settings/users", allow_redirects=False, timeout=10,
                  data={"email": email, "password": "long enough password", "role": "admin"})
    assert r.status_code == 403, (r.status_code, r.text[:300])
    r = http.post(base + "/console/settings/users", allow_redirects=False, timeout=10,
                  data={"_csrf": "wrong", "email": email, "password": "long enough password", "role": "admin"})
    assert r.status_code == 403, (r.status_code, r.text[:300])
    d.get(console.url("settings?tab=users"))
    assert email not in wait_css(d, "#users-table").text

    # The JSON API: the session cookie alone is not enough...
    name = uniq("csrf_gate")
    r = http.post(base + "/console/v1/gates", json={"name": name}, timeout=10)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    r = http.post(base + "/console/v1/gates", json={"name": name}, headers={"X-CSRF-Token": "x" * len(token)}, timeout=10)
    assert r.status_code == 403, (r.status_code, r.text[:300])
    assert console.console("GET", "/gates/" + name).status_code == 404
    # ... the page's token makes the same request succeed.
    r = http.post(base + "/console/v1/gates", json={"name": name}, headers={"X-CSRF-Token": token}, timeout=10)
    assert r.status_code in (200, 201), (r.status_code, r.text[:300])
    assert console.console_ok("GET", "/gates/" + name)["name"] == name
    # Reads need no token.
    assert http.get(base + "/console/v1/gates/" + name, timeout=10).status_code == 200

    # With the token, sign-out works and ends the session.
    r = http.post(base + "/console/logout", data={"_csrf": token}, allow_redirects=False, timeout=10)
    assert r.status_code in (302, 303), r.status_code
    assert "/console/login" in r.headers.get("Location", "")
    assert not signed_in_still()
    assert http.post(base + "/console/v1/gates", json={"name": uniq("after_logout")},
                     headers={"X-CSRF-Token": token}, timeout=10).status_code in (401, 403)
    no_js_errors(d)


# ================================================================ 8. XSS

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def raw_html(http, url):
    r = http.get(url, timeout=10)
    assert r.status_code == 200, (url, r.status_code)
    return r.text


def assert_escaped(html, needle, where):
    body = html.split("<body", 1)[-1]
    assert needle not in body, "%s: the raw markup %r is in the HTML" % (where, needle)


def test_user_text_is_escaped(console, signed_in):
    d = signed_in
    tag = uuid.uuid4().hex[:6]
    event_name = SCRIPT + tag
    gate = uniq("xss_gate")
    console.console_ok("POST", "/gates", {"name": gate, "description": IMG + " " + SCRIPT})

    # The live stream, open while the event arrives.
    d.get(console.url("events"))
    wait_connected(d)
    console.log_events([{"eventName": event_name, "user": {"userID": IMG, "email": SCRIPT + "@x.org"},
                         "time": now_ms(), "value": SCRIPT, "metadata": {"note": IMG}}])
    wait_for(d, lambda x: any(r.get_attribute("data-event-name") == event_name for r in css(x, ".stream-row")),
             "the event in the live stream")
    row = [r for r in css(d, ".stream-row") if r.get_attribute("data-event-name") == event_name][0]
    assert event_name in row.text
    row.click()
    wait_css(d, "#event-drawer")
    assert text_of(d, "#event-drawer [data-slot=title]") == event_name
    assert IMG in d.find_element(By.CSS_SELECTOR, "#event-drawer [data-slot=metadata]").text
    no_alert(d)
    assert not d.execute_script("return document.querySelectorAll('#live-stream script, #event-drawer script, "
                                "#live-stream img, #event-drawer img').length")
    shot(d, "flows-08-xss-live-stream")

    http, _ = session_for(d, console.base)

    # The explorer.
    url = console.url("events?tab=explore&eventName=" + urllib.parse.quote(event_name))
    d.get(url)
    table = wait_css(d, "#explorer-table")
    link = table.find_element(By.CSS_SELECTOR, "a.mono")
    assert link.text == event_name, link.text
    assert IMG in table.text
    no_alert(d)
    assert not d.execute_script("return document.querySelectorAll('#explorer-table script, #explorer-table img').length")
    assert "&lt;script&gt;" in d.page_source
    assert_escaped(raw_html(http, url), SCRIPT, "explorer")
    assert_escaped(raw_html(http, url), IMG, "explorer")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw_html(http, url)
    shot(d, "flows-08-xss-explorer")

    # The event's page.
    link.click()
    wait_url(d, "/console/events/")
    wait_text(d, event_name, "h1")
    assert IMG in wait_css(d, "#event-metadata").text
    no_alert(d)
    html = raw_html(http, d.current_url)
    assert_escaped(html, SCRIPT, "event page")
    assert_escaped(html, IMG, "event page")
    assert "&lt;script&gt;" in html
    assert d.title.startswith(event_name), d.title  # the title shows the name as text
    shot(d, "flows-08-xss-event-page")

    # Metrics named after the event (their pages: see test_metric_links_open_the_metric).
    d.get(console.url("metrics"))
    listing = wait_css(d, "#metrics-list")
    assert "count:" + event_name in listing.text
    no_alert(d)
    html = raw_html(http, console.url("metrics"))
    assert_escaped(html, SCRIPT, "metrics list")
    assert "count:&lt;script&gt;" in html
    no_js_errors(d)

    # The gate description, on the list and on the gate's page.
    for path in ("gates", "gates/" + gate):
        d.get(console.url(path))
        wait_text(d, IMG, "#entity-table" if path == "gates" else ".page-header")
        no_alert(d)
        assert not d.execute_script("return document.querySelectorAll('#content img, #content script').length")
        html = raw_html(http, console.url(path))
        assert_escaped(html, IMG, path)
        assert_escaped(html, SCRIPT, path)
        assert "&lt;img src=x onerror=alert(1)&gt;" in html
    shot(d, "flows-08-xss-gate-page")


# ================================================================ 9. layout

@pytest.mark.parametrize("width,height", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_layout_has_no_horizontal_overflow(console, signed_in, experiments, width, height):
    d = signed_in
    emulate_width(d, width, height)
    pages = [("", "#connect", "overview"),
             ("gates", "#entity-table", "gates-list"),
             ("experiments/%s/results" % experiments["balanced"], "#metrics-table", "experiment-results"),
             ("experiments/%s/results" % experiments["unbalanced"], "#srm-banner", "experiment-results-srm")]
    problems = []
    for path, ready, label in pages:
        d.get(console.url(path))
        wait_css(d, ready)
        assert d.execute_script("return window.innerWidth") == width
        shot(d, "flows-09-%s-%d" % (label, width))
        try:
            no_page_overflow(d, path)
        except AssertionError as e:
            problems.append(str(e))
    assert not problems, "\n".join(problems)


# ================================================================ empty values

def test_empty_values_are_not_shown(console, signed_in, experiments):
    d = signed_in
    problems = []

    def page(path, ready="#content"):
        d.get(console.url(path))
        wait_css(d, ready)
        return text_of(d, "#content")

    name = uniq("sdk_only_event")
    console.log_events([{"eventName": name, "user": {"userID": "plain-user"}, "time": now_ms()}])
    d.get(console.url("events?tab=explore&eventName=" + name))
    wait_css(d, "#explorer-table a.mono").click()
    wait_text(d, name, "h1")
    if css(d, "#event-raw") or "Raw Segment message" in text_of(d, "#content"):
        problems.append("SDK event page: an empty 'Raw Segment message' card")

    text = page("", "#overview")
    if css(d, "#overview ~ .grid-2 .badge-bad") and not console.console_ok(
            "GET", "/integrations/segment/outbound/status").get("lastError"):
        problems.append("overview: a 'last error' badge without an error")
    if "0 dead letters" in text:
        problems.append("overview: '0 dead letters'")

    exp = uniq("plain_experiment")
    console.console_ok("POST", "/experiments", {"name": exp, "groups": [{"name": "A", "size": 50}, {"name": "B", "size": 50}]})
    page("experiments/" + exp, "#view-results")
    setup = {dt.text.strip(): dd for dt, dd in zip(css(d, "dl.kv dt"), css(d, "dl.kv dd"))}
    for label, want in (("Targeting gate", "everyone"), ("Layer", "none"), ("Started", "not yet")):
        if setup[label].text.strip() != want:
            problems.append("experiment page: %s shows %r, not %r" % (label, setup[label].text.strip(), want))
    if setup["Targeting gate"].find_elements(By.CSS_SELECTOR, "a"):
        problems.append("experiment page: a targeting-gate link without a gate")

    seg = uniq("plain_segment")
    console.console_ok("POST", "/segments", {"name": seg, "segmentType": "rule_based", "rules": []})
    text = page("segments/" + seg, ".page-header")
    if any(a.get_attribute("href").rstrip("/").endswith("/console/id_lists") for a in css(d, ".page-header a")):
        problems.append("rule-based segment: an 'ID list' button to /console/id_lists/")
    if "Default value" in text:
        problems.append("rule-based segment: an empty 'Default value' card")

    text = page("experiments/%s/results" % experiments["balanced"], "#groups-table")
    if "saw more than one group" in text:
        problems.append("results: %r" % re.search(r"\d+ units saw more than one group", text).group(0))

    metric = uniq("plain_ratio")
    console.console_ok("POST", "/metrics", {"name": metric, "type": "ratio", "numerator": "count:a",
                                            "denominator": "count:b"})
    page("metrics/" + metric, ".page-header")
    sub = text_of(d, ".page-header .sub")
    if " of " in sub and not d.find_element(By.CSS_SELECTOR, ".page-header .sub code").text.strip():
        problems.append("ratio metric: subtitle %r" % sub)
    no_js_errors(d)
    assert not problems, "\n".join(problems)


# ================================================================ the rule builder

BUILT_RULES = [{
    "name": "Staff", "passPercentage": 100,
    "conditions": [{"type": "email", "operator": "str_ends_with_any", "targetValue": ["@example.com", "@example.org"]},
                   {"type": "app_version", "operator": "version_gte", "targetValue": "2.1.0"}],
}, {
    "name": "Pro plan", "passPercentage": 40,
    "conditions": [{"type": "custom_field", "field": "plan", "operator": "any", "targetValue": ["pro"]}],
}, {
    "name": "Beta countries", "passPercentage": 100, "environments": ["staging", "production"],
    "conditions": [{"type": "country", "operator": "any", "targetValue": ["NZ", "AU"]}],
}]


def _comparable(rules):
    """A gate's rules without what the server assigns (ids, salts)."""
    return [{k: v for k, v in r.items() if k not in ("id", "salt")} for r in rules]


def test_rule_builder_times_are_utc_and_segments_say_their_kind(console, signed_in):
    d = signed_in
    listed, ruled, gate = uniq("listed_seg"), uniq("ruled_seg"), uniq("timed_gate")
    console.console_ok("POST", "/segments", {"name": listed, "segmentType": "id_list"})
    console.console_ok("POST", "/segments", {"name": ruled, "segmentType": "rule_based", "rules": []})
    when = 1767322800000  # 2026-01-02T03:00:00Z
    console.console_ok("POST", "/gates", {"name": gate, "rules": [{"name": "launch", "passPercentage": 100, "conditions": [
        {"type": "time", "operator": "after", "targetValue": when}, {"type": "passes_segment", "targetValue": ruled}]}]})
    # A browser in New York still reads and writes the time in UTC.
    d.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "America/New_York"})
    try:
        d.get(console.url("gates/" + gate))
        assert d.execute_script("return new Date(0).getTimezoneOffset()") == 300, "the browser runs in New York time"
        wait_css(d, "#rules-form", visible=False).find_element(By.XPATH, "./ancestor::details/summary").click()
        time_input = wait_css(d, '#rule-builder [data-rule="0"] [data-condition="0"] input[type="datetime-local"]')
        assert time_input.get_attribute("value") == "2026-01-02T03:00", time_input.get_attribute("value")
        assert time_input.get_attribute("aria-label") == "Date and time (UTC)"
        d.execute_script("arguments[0].value = '2026-03-04T05:06'; arguments[0].dispatchEvent(new Event('change', {bubbles: true}));", time_input)
        rules = json.loads(d.find_element(By.CSS_SELECTOR, "#rules").get_attribute("value"))
        assert rules[0]["conditions"][0]["targetValue"] == 1772600760000, rules[0]["conditions"][0]  # 2026-03-04T05:06Z
        picker = Select(d.find_element(By.CSS_SELECTOR, '#rule-builder [data-rule="0"] [data-condition="1"] select[data-value]'))
        labels = [o.text for o in picker.options]
        assert ruled + " (rules)" in labels and listed + " (ID list)" in labels, labels
        assert picker.first_selected_option.text == ruled + " (rules)"
    finally:
        d.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})


def test_rule_builder_saves_what_the_json_api_saves(console, signed_in):
    d = signed_in
    built, sent = uniq("built_gate"), uniq("sent_gate")
    console.console_ok("POST", "/gates", {"name": built})
    console.console_ok("POST", "/gates", {"name": sent, "rules": BUILT_RULES})
    d.get(console.url("gates/" + built))
    builder = wait_css(d, "#rule-builder")
    assert not css(d, "#rule-builder [data-rule]"), "a new gate has no rules"

    def rule(i):
        return wait_css(d, '#rule-builder [data-rule="%d"]' % i)

    def condition(i, j):
        return wait_css(d, '#rule-builder [data-rule="%d"] [data-condition="%d"]' % (i, j))

    def type_into(element, text):
        # Select what is there and type over it, then leave the field: a change is applied then.
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(text or Keys.DELETE)
        element.send_keys(Keys.TAB)

    # Rule 1: email ends with either domain, and app version at least 2.1.0.
    builder.find_element(By.CSS_SELECTOR, "[data-add-rule]").click()
    type_into(rule(0).find_element(By.CSS_SELECTOR, "[data-rule-name]"), "Staff")
    ops = [o.text for o in Select(condition(0, 0).find_element(By.CSS_SELECTOR, "[data-operator]")).options]
    assert "ends with any of" in ops and "matches the regular expression" in ops, ops
    assert "is a version above" not in ops, "a text field offers version operators: %s" % ops
    Select(condition(0, 0).find_element(By.CSS_SELECTOR, "[data-operator]")).select_by_visible_text("ends with any of")
    type_into(condition(0, 0).find_element(By.CSS_SELECTOR, "[data-value]"), "@example.com\n@example.org")
    rule(0).find_element(By.CSS_SELECTOR, "[data-add-condition]").click()
    Select(condition(0, 1).find_element(By.CSS_SELECTOR, "[data-field]")).select_by_visible_text("App version")
    Select(condition(0, 1).find_element(By.CSS_SELECTOR, "[data-operator]")).select_by_visible_text("is at least version")
    type_into(condition(0, 1).find_element(By.CSS_SELECTOR, "[data-value]"), "2.1.0")

    # Rule 2 (made third, then moved up): a country list, off in development.
    builder.find_element(By.CSS_SELECTOR, "[data-add-rule]").click()
    type_into(rule(1).find_element(By.CSS_SELECTOR, "[data-rule-name]"), "Beta countries")
    Select(condition(1, 0).find_element(By.CSS_SELECTOR, "[data-field]")).select_by_visible_text("Country")
    type_into(condition(1, 0).find_element(By.CSS_SELECTOR, "[data-value]"), "NZ, AU")  # pasted with a comma
    rule(1).find_element(By.CSS_SELECTOR, 'input[data-env="development"]').click()

    builder.find_element(By.CSS_SELECTOR, "[data-add-rule]").click()
    type_into(rule(2).find_element(By.CSS_SELECTOR, "[data-rule-name]"), "Pro plan")
    Select(condition(2, 0).find_element(By.CSS_SELECTOR, "[data-field]")).select_by_visible_text("Custom field")
    type_into(condition(2, 0).find_element(By.CSS_SELECTOR, "[data-custom-field]"), "plan")
    Select(condition(2, 0).find_element(By.CSS_SELECTOR, "[data-operator]")).select_by_visible_text("is any of")
    type_into(condition(2, 0).find_element(By.CSS_SELECTOR, "[data-value]"), "pro")
    type_into(rule(2).find_element(By.CSS_SELECTOR, "[data-pass]"), "40")
    rule(2).find_element(By.CSS_SELECTOR, '[aria-label="Move rule 3 up"]').click()
    assert rule(1).find_element(By.CSS_SELECTOR, "[data-rule-name]").get_attribute("value") == "Pro plan"
    shot(d, "flows-11-rule-builder")

    # The JSON editor under "Advanced" shows the same rules.
    wait_css(d, "#rules-advanced summary").click()
    assert json.loads(wait_css(d, "textarea#rules").get_attribute("value")) == BUILT_RULES

    d.find_element(By.CSS_SELECTOR, "#save-rules").click()
    wait_text(d, "Saved", "#rules-form .form-ok")
    table = wait_css(d, "#rules-table")
    assert "Staff" in table.text and "Pro plan" in table.text and "Beta countries" in table.text, table.text
    got = console.console_ok("GET", "/gates/" + built)["rules"]
    want = console.console_ok("GET", "/gates/" + sent)["rules"]
    assert _comparable(got) == _comparable(want), (got, want)

    # Both gates evaluate alike for users the 40 % rule does not reach (its bucketing is salted per gate).
    for user, env, value in [
            ({"userID": "a", "email": "ada@example.com", "appVersion": "2.3.0"}, "production", True),
            ({"userID": "b", "email": "bo@example.org", "appVersion": "2.0.9"}, "production", False),
            ({"userID": "c", "country": "NZ"}, "production", True),
            ({"userID": "c", "country": "NZ"}, "development", False),
            ({"userID": "e", "email": "x@elsewhere.net", "country": "DE"}, "staging", False)]:
        for gate in (built, sent):
            status, body = browser_fetch(d, "POST", "/console/v1/gates/%s/evaluate" % gate, {"user": user, "environment": env})
            assert status == 200 and body["data"]["value"] is value, (gate, user, env, body)

    # Reloaded, the builder shows the saved rules; an API error names the rule and condition it is about.
    d.refresh()
    wait_css(d, "#rules-form", visible=False).find_element(By.XPATH, "./ancestor::details/summary").click()
    assert wait_css(d, '#rule-builder [data-rule="2"] [data-rule-name]').get_attribute("value") == "Beta countries"
    Select(condition(1, 0).find_element(By.CSS_SELECTOR, "[data-field]")).select_by_visible_text("Passes gate")
    d.find_element(By.CSS_SELECTOR, "#save-rules").click()
    message = wait_for(d, lambda x: text_of(x, '#rule-builder [data-rule="1"] [data-rule-error]'), "the error on rule 2")
    assert "rules[1].conditions[0]" in message, message
    no_js_errors(d, allow=("status of 400",))
    assert _comparable(console.console_ok("GET", "/gates/" + built)["rules"]) == _comparable(want), "a refused save changed the gate"


# ================================================================ per-environment switches on a gate's rules

def test_rule_environment_switches(console, signed_in):
    d = signed_in
    name = uniq("env_gate")
    console.console_ok("POST", "/gates", {"name": name, "rules": [
        {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}]})
    d.get(console.url("gates/" + name))
    box = wait_css(d, 'input[data-env-switch][data-rule="0"][value="development"]')
    assert box.is_selected(), "a rule without environments is on everywhere"
    box.click()
    wait_for(d, lambda drv: "Saved" in text_of(drv, "#env-switch-status"), "the switch to save")
    rules = console.console_ok("GET", "/gates/" + name)["rules"]
    assert rules[0]["environments"] == ["staging", "production"]
    # The evaluation follows: off in development, on in production.
    for env, want in [("development", False), ("production", True)]:
        status, body = browser_fetch(d, "POST", "/console/v1/gates/%s/evaluate" % name,
                                     {"user": {"userID": "u1"}, "environment": env})
        assert status == 200 and body["data"]["value"] is want, (env, body)
    d.refresh()
    box = wait_css(d, 'input[data-env-switch][data-rule="0"][value="development"]')
    assert not box.is_selected()
    shot(d, "flows-10-gate-environment-switches")


def test_a_new_key_joins_the_list_at_once(console, signed_in):
    d = signed_in
    d.get(console.url("settings"))
    wait_css(d, "#key-form")
    before = len(d.find_elements(By.CSS_SELECTOR, "#keys-table tbody tr"))
    description = uniq("key for the mobile app")
    fill(d, "#key-description", description)
    d.find_element(By.CSS_SELECTOR, "#create-key").click()
    secret = wait_for(d, lambda x: x.find_element(By.CSS_SELECTOR, "#new-key-value").get_attribute("value") or None,
                      "the new key to be shown")
    rows = d.find_elements(By.CSS_SELECTOR, "#keys-table tbody tr")
    assert len(rows) == before + 1, [r.text for r in rows]
    assert description in rows[-1].text and "server" in rows[-1].text, rows[-1].text
    assert secret[:6] in rows[-1].text, (secret[:6], rows[-1].text)
    listed = [k for k in console.console_ok("GET", "/keys") if k["description"] == description]
    assert len(listed) == 1 and secret.startswith(listed[0]["prefix"]), listed


def test_overview_counts_agree_and_the_connect_snippets_name_this_server(console, signed_in):
    d = signed_in
    console.sdk_post("log_event", {"events": [{"eventName": "overview_check", "user": {"userID": "o1"}}]})
    d.get(console.url(""))
    wait_css(d, "#connect")
    stats = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#overview .stat-value")]
    total = d.find_element(By.CSS_SELECTOR, "#sources-table tr.total").text.split()
    # "All sources <events> <exposures>": the same numbers as the two counters above the table.
    assert total[-2:] == stats[:2], (total, stats)
    core = d.find_element(By.CSS_SELECTOR, "#snippet-core").get_attribute("textContent")
    assert console.base + "/v2/download_config_specs" in core, core
    assert console.base + "/v1/log_event" in core, core
    shot(d, "flows-11-overview-connect")


def test_disabling_a_gate_asks_first_and_names_the_environments(console, signed_in):
    d = signed_in
    name = uniq("kill_switch")
    console.console_ok("POST", "/gates", {"name": name, "rules": [
        {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}]})
    d.get(console.url("gates/" + name))
    wait_css(d, "#toggle-form").find_element(By.CSS_SELECTOR, "button").click()
    alert = wait_for(d, lambda x: _alert(x), "the confirmation")
    assert "every environment" in alert.text and "production" in alert.text, alert.text
    alert.dismiss()
    assert console.console_ok("GET", "/gates/" + name).get("isEnabled", True) is True, "dismissing must change nothing"
    wait_css(d, "#toggle-form").find_element(By.CSS_SELECTOR, "button").click()
    wait_for(d, lambda x: _alert(x), "the confirmation").accept()
    wait_for(d, lambda x: console.console_ok("GET", "/gates/" + name).get("isEnabled") is False or None, "the gate to be disabled")


def test_experiment_targeting_picked_then_a_group_shipped(console, signed_in):
    d = signed_in
    gate, name = uniq("exp_target"), uniq("exp_ship")
    console.console_ok("POST", "/gates", {"name": gate, "rules": [
        {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}]})
    console.console_ok("POST", "/experiments", {"name": name, "groups": [
        {"name": "Control", "size": 50, "parameterValues": {"color": "blue"}},
        {"name": "Green", "size": 50, "parameterValues": {"color": "green"}}]})
    d.get(console.url("experiments/" + name))

    # The targeting gate is picked from the gates there are, and can be cleared again.
    Select(wait_css(d, "#targetingGate")).select_by_value(gate)
    d.find_element(By.CSS_SELECTOR, "#save-experiment").click()
    wait_text(d, "Saved", "#experiment-form .form-ok")
    assert console.console_ok("GET", "/experiments/" + name)["targetingGate"] == gate
    assert wait_css(d, "dl.kv").find_element(By.LINK_TEXT, gate)
    Select(wait_css(d, "#targetingGate")).select_by_visible_text("everyone")
    d.find_element(By.CSS_SELECTOR, "#save-experiment").click()
    wait_text(d, "Saved", "#experiment-form .form-ok")
    assert console.console_ok("GET", "/experiments/" + name).get("targetingGate") is None

    # Started, then Green shipped after a confirmation: everyone gets Green's values.
    wait_css(d, "#start-experiment").click()
    wait_for(d, lambda x: css(x, "#decision-form") or None, "the decision form of a running experiment")
    Select(wait_css(d, "#ship-group")).select_by_visible_text("Green")
    d.find_element(By.CSS_SELECTOR, "#ship-group-submit").click()
    alert = wait_for(d, lambda x: _alert(x), "the confirmation")
    assert "Ship" in alert.text, alert.text
    alert.accept()
    banner = wait_css(d, "#decision-banner")
    assert "Shipped Green" in banner.text, banner.text
    assert not css(d, "#decision-form") and not css(d, "#stop-experiment")
    saved = console.console_ok("GET", "/experiments/" + name)
    assert saved["status"] == "decision_made" and saved["launchedGroup"] == "Green", saved
    for uid in ("u1", "u2", "u3", "u4"):
        r = console.sdk_post("get_config", {"user": {"userID": uid}, "configName": name})
        assert r.status_code == 200 and r.json()["value"] == {"color": "green"}, (uid, r.text)
    shot(d, "flows-12-experiment-shipped")


def test_experiment_groups_and_typed_parameters_in_a_table(console, signed_in):
    d = signed_in
    name = uniq("exp_groups")
    d.get(console.url("experiments"))
    fill(d, "#new-name", name)
    editor = wait_css(d, "#new-groups-editor")
    assert [e.get_attribute("value") for e in editor.find_elements(By.CSS_SELECTOR, "[data-group-name]")] == ["Control", "Test"]

    def leave(element, text):
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(text)
        element.send_keys(Keys.TAB)

    def param_cell(param, group_index):
        return editor.find_elements(By.CSS_SELECTOR, '[data-param-value="%s"]' % param)[group_index]

    # A third group; sizes that do not add up to 100 are called out before saving.
    editor.find_element(By.CSS_SELECTOR, "[data-add-group]").click()
    leave(wait_css(d, '#new-groups-editor [data-group-name="2"]'), "Green")
    for i, size in enumerate(["40", "30", "20"]):
        leave(editor.find_element(By.CSS_SELECTOR, '[data-group-size="%d"]' % i), size)
    assert "90" in text_of(d, "#new-groups-editor [data-groups-total]")
    leave(editor.find_element(By.CSS_SELECTOR, '[data-group-size="2"]'), "30")
    assert text_of(d, "#new-groups-editor [data-groups-total]") == "Sizes add up to 100 %."

    # Parameters: a text, a number and a boolean, one row each, a typed value per group.
    for _ in range(3):
        editor.find_element(By.CSS_SELECTOR, "[data-add-param]").click()
    for i, pname in enumerate(["color", "discount", "show_banner"]):
        leave(wait_css(d, '#new-groups-editor [data-param-name="%d"]' % i), pname)
    Select(wait_css(d, '#new-groups-editor [data-param-type="discount"]')).select_by_visible_text("Number")
    Select(wait_css(d, '#new-groups-editor [data-param-type="show_banner"]')).select_by_visible_text("Boolean")
    for i, color in enumerate(["blue", "blue", "green"]):
        leave(param_cell("color", i), color)
    leave(param_cell("discount", 1), "10")
    leave(param_cell("discount", 2), "12.5")
    param_cell("show_banner", 2).click()
    shot(d, "flows-13-experiment-groups")

    d.find_element(By.CSS_SELECTOR, "#create-submit").click()
    wait_url(d, "/console/experiments/" + name)
    groups = console.console_ok("GET", "/experiments/" + name)["groups"]
    assert [(g["name"], g["size"], g["parameterValues"]) for g in groups] == [
        ("Control", 40, {"color": "blue", "discount": 0, "show_banner": False}),
        ("Test", 30, {"color": "blue", "discount": 10, "show_banner": False}),
        ("Green", 30, {"color": "green", "discount": 12.5, "show_banner": True}),
    ], groups

    # The experiment's own page edits the same table; a split the API refuses is explained there.
    editor = wait_css(d, "#groups-editor")
    leave(editor.find_element(By.CSS_SELECTOR, '[data-group-size="0"]'), "50")
    d.find_element(By.CSS_SELECTOR, "#save-experiment").click()
    error = wait_for(d, lambda x: text_of(x, '#experiment-form .field-error[data-error-for="groups"]') or text_of(x, "#experiment-form .form-error"),
                     "the API's error for sizes adding up to 110")
    assert "100" in error, error
    no_js_errors(d, allow=("status of 400",))
    assert [g["size"] for g in console.console_ok("GET", "/experiments/" + name)["groups"]] == [40, 30, 30]

    # The list counts an experiment's groups (its own rules are compiled from them).
    d.get(console.url("experiments"))
    table = wait_css(d, "#entity-table")
    assert "GROUPS" in table.find_element(By.CSS_SELECTOR, "thead").text.upper()
    row = table.find_element(By.XPATH, ".//tr[td/a[text()='%s']]" % name)
    assert row.find_element(By.CSS_SELECTOR, "td.num").text == "3", row.text


def test_a_metric_page_charts_values_over_a_range_and_edits_the_metric(console, signed_in):
    d = signed_in
    event, name = uniq("purchase"), uniq("revenue")
    console.console_ok("POST", "/metrics", {"name": name, "type": "sum", "event": event})
    day = 86_400_000
    today = now_ms() // day * day + 3_600_000
    console.log_events([{"eventName": event, "user": {"userID": "m-%d" % i}, "time": today - k * day, "value": 10 * (k + 1)}
                        for k in range(3) for i in range(2)])
    labels = [time.strftime("%Y-%m-%d", time.gmtime((today - k * day) / 1000)) for k in range(3)]

    d.get(console.url("metrics/" + name))
    wait_css(d, "#metric-value-chart svg rect")
    rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#series-table tbody tr")]
    assert len(rows) == 3 and rows[0].startswith(labels[0]) and rows[0].endswith("20"), rows  # newest first: 2 × 10
    shot(d, "flows-15-metric-values")

    # A range: only the days in it.
    d.get(console.url("metrics/%s?from=%s" % (name, labels[1])))
    rows = [r.text for r in wait_css(d, "#series-table").find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert [r.split()[0] for r in rows] == labels[:2], rows
    assert wait_css(d, "#range-from").get_attribute("value") == labels[1]
    status, _ = browser_fetch(d, "GET", "/console/metrics/%s?from=yesterday" % name)
    assert status == 400
    status, _ = browser_fetch(d, "GET", "/console/metrics/%s?from=2026-13-45" % name)
    assert status == 400

    # Editing a defined metric: saved, audited, shown.
    wait_css(d, "#metric-edit-form", visible=False).find_element(By.XPATH, "./ancestor::details/summary").click()
    fill(d, "#edit-description", "Order revenue in USD")
    d.find_element(By.CSS_SELECTOR, "#save-metric").click()
    wait_text(d, "Order revenue in USD", ".page-header")
    assert console.console_ok("GET", "/metrics/" + name)["description"] == "Order revenue in USD"
    audit = console.console_ok("GET", "/audit_logs?kind=metric&name=" + name)
    assert [e["action"] for e in audit] == ["updated", "created"], audit


def test_primary_metrics_lead_the_results_and_the_rest_fold_away(console, signed_in):
    d = signed_in
    event = uniq("checkout")
    name = _load_experiment(console, "exp_primary", {"Control": 60, "Test": 60}, {
        "Control": lambda i: i % 2, "Test": lambda i: (i % 3 > 0)}, event)
    d.get(console.url("experiments/" + name))
    fill(d, "#primaryMetrics", "sum:%s, conversion:%s, not_yet_defined" % (event, event))
    d.find_element(By.CSS_SELECTOR, "#save-experiment").click()
    wait_text(d, "Saved", "#experiment-form .form-ok")
    assert text_of(d, "#primary-metrics") == "sum:%s, conversion:%s, not_yet_defined" % (event, event)
    assert console.console_ok("GET", "/experiments/" + name)["primaryMetrics"] == [
        "sum:" + event, "conversion:" + event, "not_yet_defined"]

    d.get(console.url("experiments/%s/results" % name))
    table = wait_css(d, "#metrics-table")
    shown = [r.find_element(By.CSS_SELECTOR, "td a").text for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")
             if r.is_displayed() and r.find_elements(By.CSS_SELECTOR, "td a")]
    assert shown == ["sum:" + event, "conversion:" + event], shown
    assert "PRIMARY METRICS" in table.text.upper() and "not_yet_defined: no data yet" in table.text, table.text
    # The API lists them in the same order and marks them.
    api = console.console_ok("GET", "/experiments/%s/results" % name)
    assert api["primaryMetrics"] == ["sum:" + event, "conversion:" + event, "not_yet_defined"]
    assert [(m["metric"], m["primary"]) for m in api["metrics"][:3]] == [
        ("sum:" + event, True), ("conversion:" + event, True), (api["metrics"][2]["metric"], False)], api["metrics"]
    # Why a row has no interval is a short badge; the whole reason is its title.
    badge = table.find_element(By.CSS_SELECTOR, "tbody tr .reason-badge")
    assert badge.text == "needs more data" and "at least 100 per group" in badge.get_attribute("title"), badge.get_attribute("title")
    others = d.find_element(By.CSS_SELECTOR, "#other-metrics")
    assert not others.is_displayed()
    toggle = wait_css(d, "#show-other-metrics")
    toggle.click()
    wait_for(d, lambda x: others.is_displayed() or None, "the other metrics to unfold")
    assert "count:" + event in others.text and "mean:" + event in others.text, others.text
    shot(d, "flows-16-results-primary-metrics")

    # Only experiments have primary metrics, and a name may appear once.
    status = console.console("POST", "/gates", {"name": uniq("g"), "primaryMetrics": ["count:x"]}).status_code
    assert status == 400
    r = console.console("PATCH", "/experiments/" + name, {"primaryMetrics": ["count:x", "count:x"]})
    assert r.status_code == 400 and "listed twice" in r.text, r.text


def test_a_primary_metric_picked_from_the_catalogue_and_the_power_estimated(console, signed_in):
    d = signed_in
    event = uniq("signup")
    name = _load_experiment(console, "exp_power", {"Control": 60, "Test": 60}, {
        "Control": lambda i: i % 2, "Test": lambda i: (i % 3 > 0)}, event)
    d.get(console.url("experiments/" + name))

    # The metric picker offers the catalogue and adds to the field.
    choice = Select(wait_css(d, "#primary-metric-choice"))
    assert "conversion:" + event in [o.text for o in choice.options]
    choice.select_by_visible_text("conversion:" + event)
    d.find_element(By.CSS_SELECTOR, "#add-primary-metric").click()
    choice.select_by_visible_text("sum:" + event)
    d.find_element(By.CSS_SELECTOR, "#add-primary-metric").click()
    d.find_element(By.CSS_SELECTOR, "#add-primary-metric").click()  # a second time adds nothing
    assert d.find_element(By.CSS_SELECTOR, "#primaryMetrics").get_attribute("value") == "conversion:%s, sum:%s" % (event, event)
    d.find_element(By.CSS_SELECTOR, "#save-experiment").click()
    wait_text(d, "Saved", "#experiment-form .form-ok")
    assert console.console_ok("GET", "/experiments/" + name)["primaryMetrics"] == ["conversion:" + event, "sum:" + event]

    # Power from the experiment's own control group and exposures, as the API computes it.
    Select(wait_css(d, "#power-metric")).select_by_visible_text("conversion:" + event)
    fill(d, "#power-mde", "10")
    d.find_element(By.CSS_SELECTOR, "#power-estimate").click()
    table = wait_css(d, "#power-table")
    api = console.console_ok("GET", "/experiments/%s/power" % name, params={"metric": "conversion:" + event, "mde": "0.1"})
    assert "this experiment's Control group (60 units)" in text_of(d, "#power-baseline"), text_of(d, "#power-baseline")
    rows = [[c.text for c in r.find_elements(By.CSS_SELECTOR, "td")] for r in table.find_elements(By.CSS_SELECTOR, "tbody tr")]
    assert [r[0] for r in rows] == ["%d days" % x["days"] for x in api["durations"]], rows
    for row, want in zip(rows, api["durations"]):
        shown = float(row[2].rstrip(" %"))
        assert abs(shown - 100 * want["minimumDetectableEffect"]) <= 0.006 * shown, (row, want)
    target = text_of(d, "#power-target")
    assert "10 % change" in target and ("about %d days" % -(-api["target"]["days"] // 1)) in target, (target, api["target"])
    shot(d, "flows-17-experiment-power")

    # Figures entered by hand are used as given; a bad one is explained.
    d.find_element(By.CSS_SELECTOR, "#power summary").click()
    fill(d, "#power-mean", "10")
    fill(d, "#power-sd", "4")
    fill(d, "#power-units", "250")
    d.find_element(By.CSS_SELECTOR, "#power-estimate").click()
    wait_for(d, lambda x: "from entered" in text_of(x, "#power-baseline") or None, "the entered baseline")
    assert "About 250 units a day (from entered)" in text_of(d, "#power-traffic")
    fill(d, "#power-mde", "0")
    d.find_element(By.CSS_SELECTOR, "#power-estimate").click()
    error = wait_for(d, lambda x: text_of(x, "#power-form .form-error"), "the API's error for mde 0")
    assert "mde must be a number between 0 and 100" in error, error
    no_js_errors(d, allow=("status of 400",))


def test_results_over_time_and_for_a_time_range(console, signed_in):
    d = signed_in
    event = uniq("order")
    name = uniq("exp_over_time")
    data = console.console_ok("POST", "/experiments", {
        "name": name, "groups": [{"name": "Control", "size": 50}, {"name": "Test", "size": 50}],
        "primaryMetrics": ["count:" + event]})
    rules = {g["name"]: g["id"] for g in data["groups"]}
    console.console_ok("PUT", "/experiments/%s/start" % name)
    day = 86_400_000
    first_day = now_ms() - now_ms() % day - 3 * day
    exposures, events = [], []
    for g, extra in (("Control", 0), ("Test", 1)):
        for i in range(150):  # 50 a day over three days: intervals from 100 units a group on
            uid = "%s-%s-%d" % (name, g, i)
            t = first_day + (i % 3) * day + HOUR + (i * 7919) % (10 * HOUR)
            exposures.append(_exposure(name, rules[g], uid, t))
            for k in range(i % 3 + extra):
                events.append({"eventName": event, "user": {"userID": uid}, "time": t + (k + 1) * 5 * HOUR})
    console.log_events(exposures)
    console.log_events(events)

    d.get(console.url("experiments/%s/results" % name))
    figure = wait_css(d, "#cumulative figure")
    assert "count:%s, Test against Control" % event in figure.text, figure.text
    api = console.console_ok("GET", "/experiments/%s/results" % name, params={"cumulative": "true"})
    points = api["cumulative"][0]["points"]
    assert len(points) >= 4 and points[0]["units"] == [50, 50] and points[0]["relative"] is None, points
    drawn = len([p for p in points if p["relative"]])
    assert len(figure.find_elements(By.CSS_SELECTOR, "circle.point")) == drawn >= 3, drawn
    shot(d, "flows-18-results-over-time")

    # A time range: the units exposed on the second and third days, their events through the third.
    label = lambda k: time.strftime("%Y-%m-%d", time.gmtime((first_day + k * day) / 1000))
    d.execute_script("document.getElementById('range-from').value = arguments[0];"
                     "document.getElementById('range-to').value = arguments[1];", label(1), label(2))
    d.find_element(By.CSS_SELECTOR, "#results-options button[type=submit]").click()
    banner = wait_css(d, "#range-banner")
    assert "from %s" % label(1) in banner.text and "through %s" % label(2) in banner.text, banner.text
    ranged = console.console_ok("GET", "/experiments/%s/results" % name, params={"from": label(1), "to": label(2)})
    assert [g["units"] for g in ranged["groups"]] == [100, 100], ranged["groups"]
    rows = [r.text for r in d.find_elements(By.CSS_SELECTOR, "#groups-table tbody tr")]
    assert rows[0].split()[:2] == ["Control", "100"] and rows[1].split()[:2] == ["Test", "100"], rows
    no_js_errors(d)


def _alert(driver):
    try:
        return driver.switch_to.alert
    except Exception:
        return None


def test_explorer_finds_names_by_prefix_or_substring(console, signed_in):
    d = signed_in
    stem = uniq("explore_stem")
    console.log_events([{"eventName": n, "user": {"userID": "e1"}, "time": now_ms()}
                        for n in (stem + "_one", stem + "_two", "other_" + stem)])
    d.get(console.url("events?tab=explore"))
    fill(d, "#q-event", stem)
    d.find_element(By.CSS_SELECTOR, "#explorer-search").click()
    rows = lambda x: sorted(a.text for a in x.find_elements(By.CSS_SELECTOR, "#explorer-table a.mono")) or None
    assert wait_for(d, rows, "prefix results") == [stem + "_one", stem + "_two"]
    Select(d.find_element(By.CSS_SELECTOR, "#q-match")).select_by_value("contains")
    d.find_element(By.CSS_SELECTOR, "#explorer-search").click()
    wait_for(d, lambda x: len(rows(x) or []) == 3 or None, "substring results")
    assert rows(d) == sorted([stem + "_one", stem + "_two", "other_" + stem])
    shot(d, "flows-12-explorer-contains")


def test_gate_rollout_results_say_whom_they_compare(console, signed_in):
    d = signed_in
    name = uniq("scoped_rollout")
    console.console_ok("POST", "/gates", {"name": name, "rules": [
        {"name": "staff", "passPercentage": 100, "conditions": [{"type": "email", "operator": "str_contains_any",
                                                                  "targetValue": ["@example.com"]}]},
        {"name": "ramp", "passPercentage": 30, "conditions": [{"type": "public"}]}]})
    d.get(console.url("gates/%s/results" % name))
    scope = wait_css(d, "#results-scope").text
    assert "‘ramp’ (30 %)" in scope and "earlier rule" in scope, scope


def test_a_webhook_is_added_pinged_and_receives_signed_changes(console, signed_in):
    import hashlib
    import hmac
    import http.server
    import threading

    got = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            got.append((self.headers.get("Vane-Signature", ""), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        d = signed_in
        url = "http://127.0.0.1:%d/vane" % server.server_address[1]
        d.get(console.url("settings?tab=webhooks"))
        fill(d, "#webhook-url", url)
        fill(d, "#webhook-description", "chat notifications")
        fill(d, "#webhook-kinds", "gate")
        d.find_element(By.CSS_SELECTOR, "#create-webhook").click()
        secret = wait_for(d, lambda x: x.find_element(By.CSS_SELECTOR, "#new-webhook-secret").get_attribute("value") or None,
                          "the signing secret to be shown")
        assert secret.startswith("whsec_")
        hook = [h for h in console.console_ok("GET", "/webhooks") if h["url"] == url][0]
        assert hook["kinds"] == ["gate"] and hook["description"] == "chat notifications"

        gate = uniq("webhook_gate")
        console.console_ok("POST", "/gates", {"name": gate})
        wait_for(d, lambda x: any(gate.encode() in b for _, b in got) or None, "the change to reach the receiver")
        signature, body = [(s, b) for s, b in got if gate.encode() in b][0]
        t = signature.split(",")[0][2:]
        expected = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert "v1=" + expected in signature, signature

        d.get(console.url("settings?tab=webhooks"))
        row = wait_css(d, "tr[data-webhook='%s']" % hook["id"])
        assert url in row.text and "enabled" in row.text and "1 delivered" in row.text, row.text
        row.find_element(By.XPATH, ".//button[normalize-space()='Send a test ping']").click()
        wait_for(d, lambda x: "Delivered (HTTP 204)" in x.find_element(By.ID, "ping-" + hook["id"]).text or None, "the ping's outcome")
        shot(d, "flows-13-webhooks")

        row = wait_css(d, "tr[data-webhook='%s']" % hook["id"])
        row.find_element(By.CSS_SELECTOR, "input[name=enabled]").click()
        row.find_element(By.XPATH, ".//button[normalize-space()='Save']").click()
        wait_for(d, lambda x: console.console_ok("GET", "/webhooks/" + hook["id"])["enabled"] is False or None, "the webhook to be disabled")

        d.get(console.url("settings?tab=webhooks"))
        row = wait_css(d, "tr[data-webhook='%s']" % hook["id"])
        row.find_element(By.XPATH, ".//button[normalize-space()='Delete']").click()
        wait_for(d, lambda x: _alert(x), "the confirmation").accept()
        wait_for(d, lambda x: console.console("GET", "/webhooks/" + hook["id"]).status_code == 404 or None, "the webhook to be deleted")
    finally:
        server.shutdown()
        server.server_close()


def test_guardrails_are_edited_on_the_gate_page(console, signed_in):
    d = signed_in
    name = uniq("guarded_gate")
    console.console_ok("POST", "/gates", {"name": name, "rules": [
        {"name": "rollout", "passPercentage": 20, "conditions": [{"type": "public"}]}]})
    d.get(console.url("gates/" + name))
    card = wait_css(d, "#guardrails")
    assert "No guardrails" in card.text and "rolls the partial rollout rules back" in card.text, card.text
    card.find_element(By.CSS_SELECTOR, "summary").click()
    box = wait_css(d, "#guardrails-json")
    box.clear()
    box.send_keys('[{"metric": "conversion:purchase", "harmfulDirection": "decrease", "tolerance": 1.5}]')
    d.find_element(By.CSS_SELECTOR, "#save-guardrails").click()
    wait_for(d, lambda x: "tolerance must be" in x.find_element(By.CSS_SELECTOR, "#guardrails-form").text or None, "the error")
    box = wait_css(d, "#guardrails-json")
    box.clear()
    box.send_keys('[{"metric": "conversion:purchase", "harmfulDirection": "decrease", "tolerance": 0.02}]')
    d.find_element(By.CSS_SELECTOR, "#save-guardrails").click()
    rows = wait_for(d, lambda x: [r.text for r in x.find_elements(By.CSS_SELECTOR, "#guardrails-table tbody tr")] or None,
                    "the saved guardrail in the table")
    assert rows == ["conversion:purchase a decrease 2%"], rows
    assert console.console_ok("GET", "/gates/" + name)["guardrails"] == [
        {"metric": "conversion:purchase", "harmfulDirection": "decrease", "tolerance": 0.02}]

    # A second one picked from the metric catalogue instead of typed.
    errors = uniq("page_error")
    console.log_events([{"eventName": errors, "user": {"userID": "u1"}, "time": now_ms()}])
    d.get(console.url("gates/" + name))
    wait_css(d, "#guardrails summary").click()
    wait_for(d, lambda x: "conversion:" + errors in [o.text for o in Select(x.find_element(By.CSS_SELECTOR, "#guardrail-metric")).options] or None,
             "the new event's metrics in the picker")
    Select(d.find_element(By.CSS_SELECTOR, "#guardrail-metric")).select_by_visible_text("conversion:" + errors)
    Select(d.find_element(By.CSS_SELECTOR, "#guardrail-direction")).select_by_visible_text("an increase")
    fill(d, "#guardrail-tolerance", "5")
    d.find_element(By.CSS_SELECTOR, "#add-guardrail").click()
    d.find_element(By.CSS_SELECTOR, "#save-guardrails").click()
    wait_for(d, lambda x: len(x.find_elements(By.CSS_SELECTOR, "#guardrails-table tbody tr")) == 2 or None, "two guardrails in the table")
    assert console.console_ok("GET", "/gates/" + name)["guardrails"] == [
        {"metric": "conversion:purchase", "harmfulDirection": "decrease", "tolerance": 0.02},
        {"metric": "conversion:" + errors, "harmfulDirection": "increase", "tolerance": 0.05}]
    shot(d, "flows-14-guardrails", allow=("status of 400",))  # the refused tolerance


def test_the_audit_log_filters_with_pickers_and_shows_what_changed(console, signed_in):
    d = signed_in
    name = uniq("audited_gate")
    rules = [{"name": "rollout", "passPercentage": 50, "conditions": [{"type": "public"}]}]
    created = console.console_ok("POST", "/gates", {"name": name, "rules": rules})
    rules = created["rules"]
    rules[0]["passPercentage"] = 10
    console.console_ok("PATCH", "/gates/" + name, {"rules": rules})
    console.console_ok("PUT", "/gates/%s/disable" % name)
    d.get(console.url("settings?tab=audit"))
    Select(wait_css(d, "#audit-kind")).select_by_visible_text("gate")
    Select(d.find_element(By.CSS_SELECTOR, "#audit-action")).select_by_value("updated")
    fill(d, "#audit-name", name)
    d.find_element(By.CSS_SELECTOR, "#audit-filter button").click()
    wait_for(d, lambda x: "action=updated" in x.current_url or None, "the filtered page")
    rows = wait_for(d, lambda x: x.find_elements(By.CSS_SELECTOR, "#audit-table > tbody > tr") or None, "the filtered entries")
    assert len(rows) == 1 and "updated" in rows[0].text, [r.text for r in rows]
    rows[0].find_element(By.CSS_SELECTOR, "details summary").click()
    cells = [c.text for c in rows[0].find_elements(By.CSS_SELECTOR, "details tbody td")]
    assert cells == ["rules[0].passPercentage", "50", "10"], cells
    assert Select(d.find_element(By.CSS_SELECTOR, "#audit-action")).first_selected_option.get_attribute("value") == "updated"
    shot(d, "flows-15-audit-diff")
    Select(d.find_element(By.CSS_SELECTOR, "#audit-action")).select_by_value("disabled")
    d.find_element(By.CSS_SELECTOR, "#audit-filter button").click()
    wait_for(d, lambda x: "action=disabled" in x.current_url or None, "the filtered page")
    rows = wait_for(d, lambda x: [r.text for r in x.find_elements(By.CSS_SELECTOR, "#audit-table > tbody > tr")] or None, "the kill switch")
    assert len(rows) == 1 and "disabled" in rows[0] and "Changes (1)" in rows[0], rows
