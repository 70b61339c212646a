#!/usr/bin/env bash
# Install everything vctts needs at run time into $VCTTS_HOME (default ./.vctts):
# the ONNX Runtime library, voices, auxiliary models, and system programs
# (espeak-ng). Runs every scripts/setup.d/*.sh in lexical order; each part is
# idempotent and a fast no-op when its files are already present, so this is
# safe to run before every start and every test run.
#
#   scripts/setup.sh            # all parts
#   scripts/setup.sh 20 30      # only the parts whose names start with 20 or 30
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export VCTTS_HOME="${VCTTS_HOME:-./.vctts}"
mkdir -p "$VCTTS_HOME"
VCTTS_HOME="$(cd "$VCTTS_HOME" && pwd)"
export VCTTS_HOME

shopt -s nullglob
parts=("$HERE"/setup.d/*.sh)
if [[ ${#parts[@]} -eq 0 ]]; then
    echo "setup: no parts in $HERE/setup.d" >&2
    exit 1
fi
for part in "${parts[@]}"; do
    name="$(basename "$part")"
    if [[ $# -gt 0 ]]; then
        wanted=false
        for p in "$@"; do [[ "$name" == "$p"* ]] && wanted=true; done
        $wanted || continue
    fi
    if ! bash "$part"; then
        echo "setup: $name failed (VCTTS_HOME=$VCTTS_HOME)" >&2
        exit 1
    fi
done
echo "setup: OK (VCTTS_HOME=$VCTTS_HOME)"
