#!/usr/bin/env bash
# Install what is missing (idempotent), build, and start `vctts standalone`.
# Extra arguments go to `vctts standalone` (e.g. --port 9000).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -x scripts/setup.sh ]; then
  scripts/setup.sh
fi
if [ -f .vctts/env ]; then
  # shellcheck disable=SC1091
  . .vctts/env
fi
cargo build --release -p vctts
exec "${CARGO_TARGET_DIR:-target}/release/vctts" standalone "$@"
