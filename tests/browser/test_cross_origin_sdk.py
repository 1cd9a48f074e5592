"""A page on another origin calls Vane the way Statsig's JS client (@statsig/js-client v3) does:
`/v1/initialize?k=…&se=1` with a reversed-base64 body and `/v1/rgstr?k=…&ec=1` with the client's
custom headers, so Chromium preflights both. The page must read both answers; a page using a
server secret must not be able to read anything."""
import http.server
import json
import socket
import threading
import time

import pytest

from _browser import wait
from conftest import CLIENT_KEY, SERVER_SECRET

PAGE = """<!doctype html><html><body><pre id="out">running</pre><script>
const api = %(api)s, key = %(key)s, secret = %(secret)s;
const headers = {"Content-Type": "text/plain", "statsig-api-key": key, "statsig-sdk-type": "javascript-client",
                 "statsig-sdk-version": "3.33.3", "statsig-client-time": String(Date.now())};
function encode(obj) { return btoa(JSON.stringify(obj)).split("").reverse().join(""); }
async function run() {
  const out = {};
  const user = {userID: "browser-user"};
  const meta = {sdkType: "javascript-client", sdkVersion: "3.33.3", stableID: "stable-browser"};
  const init = await fetch(api + "/v1/initialize?k=" + key + "&st=javascript-client&sv=3.33.3&t=" + Date.now() + "&sid=s1&se=1",
    {method: "POST", headers, body: encode({user, hash: "djb2", sinceTime: 0, deltasResponseRequested: false,
                                            statsigMetadata: meta})});
  out.initStatus = init.status;
  const values = await init.json();
  out.hashUsed = values.hash_used;
  out.gates = Object.keys(values.feature_gates || {}).length;
  out.checksum = values.full_checksum;
  const again = await fetch(api + "/v1/initialize?k=" + key + "&se=1", {method: "POST", headers,
    body: encode({user, hash: "djb2", full_checksum: values.full_checksum, statsigMetadata: meta})});
  out.again = await again.json();
  const events = [{eventName: "browser_click", user, time: Date.now(), metadata: {button: "buy"}}];
  const rgstr = await fetch(api + "/v1/rgstr?k=" + key + "&st=javascript-client&sv=3.33.3&t=" + Date.now() + "&sid=s1&ec=1",
    {method: "POST", headers: Object.assign({}, headers, {"statsig-event-count": "1", "statsig-retry-count": "0",
                                                           "Content-Type": "application/json"}),
     body: JSON.stringify({events, statsigMetadata: meta})});
  out.rgstrStatus = rgstr.status;
  out.rgstr = await rgstr.json();
  try {
    await fetch(api + "/v1/initialize", {method: "POST", headers: Object.assign({}, headers, {"statsig-api-key": secret}),
                                          body: JSON.stringify({user})});
    out.secretReadable = true;
  } catch (e) {
    out.secretReadable = false;
  }
  document.getElementById("out").textContent = JSON.stringify(out);
}
run().catch(e => { document.getElementById("out").textContent = "error: " + e; });
</script></body></html>"""


@pytest.fixture
def other_origin(vane):
    """A page server on its own loopback port: another origin than Vane's."""
    page = (PAGE % {"api": json.dumps(vane.base), "key": json.dumps(CLIENT_KEY),
                    "secret": json.dumps(SERVER_SECRET)}).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % server.server_address[1]
    server.shutdown()


def test_a_page_on_another_origin_uses_vane_like_the_js_client(vane, driver, other_origin):
    vane.console("POST", "/gates", {"name": "browser_gate", "rules": [
        {"name": "everyone", "passPercentage": 100, "conditions": [{"type": "public"}]}]})
    driver.get(other_origin)
    wait(driver, 20).until(lambda d: d.find_element("id", "out").text not in ("", "running"))
    text = driver.find_element("id", "out").text
    assert not text.startswith("error"), text
    out = json.loads(text)
    assert out["initStatus"] == 200 and out["hashUsed"] == "djb2" and out["gates"] >= 1, out
    assert out["again"] == {"has_updates": False, "time": out["again"]["time"]}, out
    assert out["rgstrStatus"] == 202 and out["rgstr"].get("success") is True, out
    assert out["secretReadable"] is False, "a page could read an answer made with a server secret"
    deadline = time.time() + 10
    while time.time() < deadline:
        r = vane.console("GET", "/events", params={"eventName": "browser_click"})
        if r.status_code == 200 and r.json()["data"]:
            break
        time.sleep(0.3)
    event = r.json()["data"][0]
    assert event["metadata"] == {"button": "buy"} and event["userID"] == "browser-user"
