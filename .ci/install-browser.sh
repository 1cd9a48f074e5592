#!/usr/bin/env bash
# Installs headless Chromium + chromedriver from Debian packages (for tests/browser) and prints
# their versions. Non-interactive; run as root (or with sudo available) on Debian 12 (bookworm).
# Both packages come from the same source package, so their versions always match.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

PKGS="chromium chromium-driver fonts-liberation"
installed="$(dpkg-query -W -f='${Status}\n' $PKGS 2>/dev/null | grep -c '^install ok installed$' || true)"
if [ "$installed" != 3 ]; then
  # Always refresh the package lists first: a fresh container has none, and stale ones (e.g. from
  # debootstrap, without bookworm-security) would install an older chromium or fail with 404s.
  $SUDO apt-get update -qq
  # --no-install-recommends is enough for headless use. Of chromium's Recommends only
  # fonts-liberation is wanted (Arial/Helvetica/Times/Courier-metric fonts, so screenshots look the
  # same everywhere; without it only DejaVu is there). Skipped: libgl1-mesa-dri (+ libllvm15),
  # upower, udev, notification-daemon, system-config-printer.
  $SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
fi

echo "chromium:     $(command -v chromium)  $(chromium --version 2>/dev/null)"
echo "chromedriver: $(command -v chromedriver)  $(chromedriver --version 2>/dev/null)"

# Smoke check: headless Chromium can start and render a page (as root it needs --no-sandbox).
out="$(timeout 60 chromium --headless=new --no-sandbox --disable-dev-shm-usage --disable-gpu \
        --dump-dom 'data:text/html,<title>ok</title><p>browser-ok</p>' 2>/dev/null || true)"
case "$out" in
  *browser-ok*) echo "headless chromium: OK" ;;
  *) echo "headless chromium failed to render a page" >&2; exit 1 ;;
esac
