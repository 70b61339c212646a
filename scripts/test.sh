#!/usr/bin/env bash
# Run the whole test suite (what CI runs). Installs what the tests need first
# (idempotent: a no-op when everything is there), then checks formatting and
# lints, runs every Rust test, then the OpenAI-client test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
export VCTTS_HOME="${VCTTS_HOME:-$ROOT/.vctts}"

apt_need() {  # apt_need COMMAND PACKAGE...
  if ! command -v "$1" >/dev/null 2>&1; then
    shift
    if [ ! -f "$VCTTS_HOME/.apt-updated" ]; then
      mkdir -p "$VCTTS_HOME" && apt-get update -qq && touch "$VCTTS_HOME/.apt-updated"
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

if [ -x scripts/setup.sh ]; then
  scripts/setup.sh
fi
# Test-only tools: Chromium + chromedriver for the page tests,
bash scripts/test-browser-setup.sh
# and real decoders for every output format, a C/C++ toolchain for the vendored encoders.
apt_need ffprobe ffmpeg
apt_need g++ g++
# The official OpenAI Python client, in a venv of the project's own.
TEST_VENV="$VCTTS_HOME/venv-test"
if [ ! -x "$TEST_VENV/bin/python" ] || ! "$TEST_VENV/bin/python" -c 'import openai' 2>/dev/null; then
  python3 -m venv "$TEST_VENV"
  "$TEST_VENV/bin/python" -m pip install -q --disable-pip-version-check openai==3.57.0
fi
if [ -f "$VCTTS_HOME/env" ]; then
  # shellcheck disable=SC1091
  . "$VCTTS_HOME/env"
fi

# Tests that need installed models fail (instead of skipping) when they are missing.
export VCTTS_REQUIRE_MODELS=1
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --features vctts/test-engine -- -D warnings
cargo test --workspace --features vctts/test-engine
VCTTS_BIN=target/debug/vctts "$TEST_VENV/bin/python" tests/openai/test_openai_client.py
