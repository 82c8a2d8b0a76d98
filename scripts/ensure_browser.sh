#!/usr/bin/env bash
# Makes sure the browser tests have a browser. Called by `make test` twice:
#
#   ensure_browser.sh system             before the long Python install, so that a machine that can
#                                        get no browser fails at once, with one line
#   ensure_browser.sh playwright PYTHON  after it, to download Playwright's own chromium where that
#                                        is the only way (a laptop with internet, no root)
#
# The order of preference: a chromium already on PATH; Debian's chromium + chromium-driver through
# apt-get (as root, or with passwordless sudo); Playwright's download.
set -u

have_chromium() { command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; }
have_playwright_browser() { compgen -G "${PLAYWRIGHT_BROWSERS_PATH:-$HOME/.cache/ms-playwright}/chromium*" >/dev/null; }
fail() {
  echo "make test: no browser for the browser tests. Install Debian's chromium as root" \
       "(apt-get install chromium chromium-driver), or run make test on a machine with internet" \
       "so that Playwright can download its own." >&2
  exit 1
}

case "${1:-}" in
  system)
    have_chromium && exit 0
    if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else sudo=none; fi
    if [ "$sudo" != none ] && command -v apt-get >/dev/null 2>&1; then
      echo "Installing Debian chromium + chromium-driver for the browser tests (about 300 MB)..."
      if DEBIAN_FRONTEND=noninteractive $sudo apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null &&
         have_chromium; then
        exit 0
      fi
      echo "apt-get could not install chromium; trying Playwright's browser instead." >&2
    fi
    have_playwright_browser && exit 0
    # Playwright downloads from its CDN (or PLAYWRIGHT_DOWNLOAD_HOST, its own setting for a mirror):
    # decide within 3 s whether that can be reached.
    address=${PLAYWRIGHT_DOWNLOAD_HOST:-https://cdn.playwright.dev}
    scheme=${address%%://*}; address=${address#*://}; address=${address%%/*}
    host=${address%%:*}; port=${address##*:}
    [ "$port" = "$address" ] && { [ "$scheme" = http ] && port=80 || port=443; }
    if timeout 3 "$BASH" -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null; then
      echo "No chromium and no root: Playwright will download its own chromium after the install."
      exit 0
    fi
    fail
    ;;
  playwright)
    python=${2:?usage: ensure_browser.sh playwright PYTHON}
    have_chromium && exit 0
    have_playwright_browser && exit 0
    "$python" -m playwright install chromium || fail
    ;;
  *)
    echo "usage: ensure_browser.sh system | playwright PYTHON" >&2
    exit 2
    ;;
esac
