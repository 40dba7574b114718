#!/usr/bin/env bash
# Install Debian's headless-capable Chromium for the report browser test (tests/test_analysis_browser.py).
# Idempotent: does nothing when /usr/bin/chromium exists. Needs root (or sudo) and the Debian archive;
# Playwright's own browser download does not work offline, Debian's package does.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo -n"; else
    echo "install_chromium.sh: /usr/bin/chromium is missing and this user cannot apt-get install it;" \
         "fix: as root run apt-get install chromium (the browser test is skipped without it)" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "install_chromium.sh: no apt-get here; install Chromium yourself (the browser test is skipped without it)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
if ! { $SUDO apt-get update -qq && \
       $SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null; }; then
    echo "install_chromium.sh: apt-get could not install chromium (offline, or sudo needs a password);" \
         "the browser test is skipped without it" >&2
fi
exit 0
