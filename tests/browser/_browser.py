"""Helpers for the browser tests (tests/browser): Chrome options, full-page screenshots, waits.

Import them in tests with ``from _browser import screenshot, wait_css, ...`` (conftest.py puts this
folder on sys.path). Everything talks to 127.0.0.1 only.

Browser: Debian's ``chromium`` + ``chromium-driver`` (.ci/install-browser.sh). Paths can be overridden
with $CHROMIUM_BIN and $CHROMEDRIVER_BIN. Selenium Manager is never used (no network here): the
driver path is always given explicitly.
"""
import base64
import os
import pathlib
import re
import shutil

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException, WebDriverException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent

WINDOW_W, WINDOW_H = 1280, 900
DEFAULT_WAIT_S = 10.0
# The first sign-in on a fresh data dir creates this administrator (first-run setup); later ones
# sign in with it (conftest's `signed_in` fixture).
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "correct horse battery staple"
# Chromium cannot rasterize arbitrarily tall pages in one go; taller pages are cut here.
MAX_SCREENSHOT_H = 16000

# The options that work as root in a container: no sandbox (root), /tmp instead of the small
# /dev/shm, the new headless mode (same renderer as headed Chrome), a fixed viewport.
CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-dev-shm-usage",
    "--window-size=%d,%d" % (WINDOW_W, WINDOW_H),
    "--disable-gpu",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--lang=en-US",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--password-store=basic",
)


def chromium_paths():
    """(browser, chromedriver) paths; fails with a hint when either is missing."""
    browser = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "/usr/bin/chromium"
    driver = os.environ.get("CHROMEDRIVER_BIN") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    missing = [p for p in (browser, driver) if not os.access(p, os.X_OK)]
    if missing:
        raise RuntimeError("headless Chromium not found (%s). Install it with .ci/install-browser.sh "
                           "(Debian: apt-get install chromium chromium-driver) or set CHROMIUM_BIN / "
                           "CHROMEDRIVER_BIN." % ", ".join(missing))
    return browser, driver


def chrome_options(extra_args=()):
    browser, _ = chromium_paths()
    o = Options()
    o.binary_location = browser
    for a in tuple(CHROME_ARGS) + tuple(extra_args):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # driver.get_log("browser")
    o.page_load_strategy = "normal"
    return o


def new_driver(extra_args=(), log_path=None):
    """A fresh headless Chromium session (implicit wait 0). The caller quits it."""
    _, driver_path = chromium_paths()
    service = Service(executable_path=driver_path, log_output=str(log_path) if log_path else os.devnull)
    d = webdriver.Chrome(options=chrome_options(extra_args), service=service)
    try:
        _fit_viewport(d, WINDOW_W, WINDOW_H)
    except Exception:
        d.quit()
        raise
    d.implicitly_wait(0)
    d.set_page_load_timeout(30)
    d.set_script_timeout(30)
    return d


def _fit_viewport(d, width, height):
    """Makes the viewport (window.innerWidth x innerHeight) exactly width x height. Headless Chromium
    (--headless=new) treats --window-size as the *outer* size and reserves ~143 px of it for emulated
    browser UI, so a 1280x900 window has a 1280x757 viewport; grow the window by the difference."""
    for _ in range(3):
        iw, ih = d.execute_script("return [window.innerWidth, window.innerHeight]")
        if (iw, ih) == (width, height):
            return
        size = d.get_window_size()
        d.set_window_size(size["width"] + width - iw, size["height"] + height - ih)


# ---------------------------------------------------------------- screenshots

_SHOTS = {"dir": None, "saved": []}


def screenshots_dir():
    """$VANE_SCREENSHOTS, or tests/browser/screenshots-out/ (created on first use)."""
    if _SHOTS["dir"] is None:
        d = pathlib.Path(os.environ.get("VANE_SCREENSHOTS") or (HERE / "screenshots-out"))
        d.mkdir(parents=True, exist_ok=True)
        _SHOTS["dir"] = d.resolve()
    return _SHOTS["dir"]


def saved_screenshots():
    return list(_SHOTS["saved"])


def _safe_name(name):
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("._") or "screenshot"
    return name if name.lower().endswith(".png") else name + ".png"


def page_size(driver):
    """The document's full scroll size (CSS px), at least the viewport."""
    return driver.execute_script(
        "const d = document.documentElement, b = document.body || d;"
        "return [Math.max(d.scrollWidth, b.scrollWidth, d.clientWidth, window.innerWidth),"
        "        Math.max(d.scrollHeight, b.scrollHeight, d.clientHeight, window.innerHeight)];")


def screenshot(driver, name):
    """Saves a full-page PNG (the whole scroll height, not only the viewport) as <dir>/<name>.png and
    returns its path. Uses CDP Page.captureScreenshot with captureBeyondViewport and a clip of the
    document's scroll size, so the window (and the layout) is not resized."""
    path = screenshots_dir() / _safe_name(name)
    w, h = page_size(driver)
    h = min(int(h), MAX_SCREENSHOT_H)
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True, "fromSurface": True,
        "clip": {"x": 0, "y": 0, "width": int(w), "height": h, "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))
    _SHOTS["saved"].append(path)
    return path


# ---------------------------------------------------------------- waits (implicit wait is 0)

def wait(driver, timeout=DEFAULT_WAIT_S):
    # While a form post navigates, an element found in the old document can vanish between lookup
    # and read (stale element, or chromedriver's "node does not belong to the document"): poll again.
    return WebDriverWait(driver, timeout, poll_frequency=0.05,
                         ignored_exceptions=(NoSuchElementException, StaleElementReferenceException, WebDriverException))


def wait_css(driver, selector, timeout=DEFAULT_WAIT_S, visible=True):
    """The first element matching the CSS selector, once present (and visible)."""
    cond = EC.visibility_of_element_located if visible else EC.presence_of_element_located
    try:
        return wait(driver, timeout).until(cond((By.CSS_SELECTOR, selector)))
    except TimeoutException:
        raise AssertionError("no %selement matches %r on %s within %ss" % (
            "visible " if visible else "", selector, driver.current_url, timeout)) from None


def wait_text(driver, text, selector="body", timeout=DEFAULT_WAIT_S):
    """Waits until `text` appears in the element matched by `selector`; returns that element."""
    try:
        wait(driver, timeout).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text))
    except TimeoutException:
        body = driver.find_element(By.CSS_SELECTOR, "body").text[:1500] if driver.find_elements(By.CSS_SELECTOR, "body") else ""
        raise AssertionError("text %r did not appear in %r on %s within %ss; page text:\n%s" % (
            text, selector, driver.current_url, timeout, body)) from None
    return driver.find_element(By.CSS_SELECTOR, selector)


def wait_url(driver, fragment, timeout=DEFAULT_WAIT_S):
    """Waits until the current URL contains `fragment`; returns the URL."""
    try:
        wait(driver, timeout).until(EC.url_contains(fragment))
    except TimeoutException:
        raise AssertionError("URL did not come to contain %r within %ss (now %s)" % (
            fragment, timeout, driver.current_url)) from None
    return driver.current_url


def wait_gone(driver, selector, timeout=DEFAULT_WAIT_S):
    """Waits until no visible element matches the selector (e.g. a spinner or a toast)."""
    try:
        wait(driver, timeout).until(EC.invisibility_of_element_located((By.CSS_SELECTOR, selector)))
    except TimeoutException:
        raise AssertionError("%r still visible on %s after %ss" % (selector, driver.current_url, timeout)) from None


def browser_errors(driver, ignore=("/favicon.ico",)):
    """SEVERE entries of the browser console since the last call (JS errors, failed loads), except
    those mentioning a string in `ignore` (by default the favicon request: /favicon.ico is a 404)."""
    try:
        entries = driver.get_log("browser")
    except Exception:
        return []
    return [e for e in entries if e.get("level") == "SEVERE"
            and not any(i in (e.get("message") or "") for i in ignore)]


# ---------------------------------------------------------------- console sign-in

def sign_in(driver, base, email, password, name="Browser Test"):
    """Signs in to the web console; on a fresh data dir /console/login redirects to /console/setup,
    which creates the first administrator with these credentials. Returns the URL landed on.

    Written against the console's setup/sign-in forms (#email, #password, #name, one submit button);
    adjust here if those change."""
    driver.get(base + "/console/login")
    wait_css(driver, "#email")
    on_setup = "/console/setup" in driver.current_url
    if on_setup and driver.find_elements(By.CSS_SELECTOR, "#name"):
        f = driver.find_element(By.CSS_SELECTOR, "#name")
        f.clear()
        f.send_keys(name)
    f = driver.find_element(By.CSS_SELECTOR, "#email")
    f.clear()
    f.send_keys(email)
    driver.find_element(By.CSS_SELECTOR, "#password").send_keys(password)
    form = driver.find_element(By.CSS_SELECTOR, "#password").find_element(By.XPATH, "./ancestor::form")
    form.find_element(By.CSS_SELECTOR, "button[type=submit], input[type=submit], button:not([type])").click()
    try:
        wait(driver).until(lambda d: "/console/login" not in d.current_url and "/console/setup" not in d.current_url)
    except TimeoutException:
        raise AssertionError("sign-in as %s did not leave %s; page text:\n%s" % (
            email, driver.current_url, driver.find_element(By.CSS_SELECTOR, "body").text[:1500])) from None
    return driver.current_url

