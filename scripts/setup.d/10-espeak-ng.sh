#!/usr/bin/env bash
# espeak-ng turns text into phonemes for the Piper voices. It is GPL-3.0 and is
# only ever run as a separate program (never linked), so vctts itself keeps its
# permissive licence. Installed with apt when missing; nothing else to do.
set -euo pipefail
log() { echo "[10-espeak-ng] $*"; }

if command -v espeak-ng >/dev/null 2>&1 && espeak-ng --version >/dev/null 2>&1; then
    log "present: $(espeak-ng --version | head -n1)"
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "[10-espeak-ng] error: espeak-ng is missing and apt-get is not available; install espeak-ng (>= 1.50) with your package manager" >&2
    exit 1
fi
SUDO=""
if [[ "$(id -u)" != "0" ]]; then
    command -v sudo >/dev/null 2>&1 || { echo "[10-espeak-ng] error: installing espeak-ng needs root (or sudo)" >&2; exit 1; }
    SUDO="sudo"
fi
log "installing espeak-ng with apt-get"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends espeak-ng >/dev/null
espeak-ng --version | head -n1
