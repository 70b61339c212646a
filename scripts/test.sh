#!/usr/bin/env bash
# Run the whole test suite (what CI runs). Installs what the tests need first
# (idempotent), then checks formatting and lints, then runs every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -x scripts/setup.sh ]; then
  scripts/setup.sh
fi
if [ -f .vctts/env ]; then
  # shellcheck disable=SC1091
  . .vctts/env
fi
# Tests that need installed models fail (instead of skipping) when they are missing.
export VCTTS_REQUIRE_MODELS=1
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --features vctts/test-engine -- -D warnings
cargo test --workspace --features vctts/test-engine
