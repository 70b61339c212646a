#!/usr/bin/env bash
# The browser tests of the status, admin and playground pages drive Debian's
# Chromium through chromedriver (WebDriver). A CJK font is installed too, so
# that the Chinese pages render as text (not empty boxes) in the screenshots
# the tests save. Installed with apt when missing; a fast no-op otherwise.
# Nothing here is needed to *run* vctts (the pages are compiled into the binary),
# so scripts/test.sh runs this, not scripts/setup.sh.
set -euo pipefail
log() { echo "[browser] $*"; }

have_font() { command -v fc-list >/dev/null 2>&1 && [[ -n "$(fc-list :lang=zh 2>/dev/null | head -n1)" ]]; }

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
have_font || missing+=(fonts-wqy-microhei)

if [[ ${#missing[@]} -eq 0 ]]; then
    log "present: $(chromedriver --version 2>/dev/null | head -n1)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "[browser] error: ${missing[*]} missing and apt-get is not available; install Chromium and its chromedriver (same version) with your package manager" >&2
    exit 1
fi
SUDO=""
if [[ "$(id -u)" != "0" ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "[browser] error: installing ${missing[*]} needs root (or sudo)" >&2; exit 1; }
    SUDO="sudo"
fi
log "installing ${missing[*]} with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
chromedriver --version | head -n1
