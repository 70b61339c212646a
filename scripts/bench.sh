#!/usr/bin/env bash
# Every benchmark behind BENCHMARKS.md, one after the other, each printing its
# own Markdown table. Not part of the test suite: run it on an idle machine.
#
#   scripts/bench.sh                 # all of them (about 30 minutes on 2 cores)
#   scripts/bench.sh overhead scale  # only these (names below)
#
# Output goes to stdout and to target/bench/<name>.txt.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export VCTTS_HOME="${VCTTS_HOME:-$PWD/.vctts}"
scripts/setup.sh >/dev/null
command -v nginx >/dev/null && command -v wrk >/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx-light wrk >/dev/null
}
cargo build --release --features vctts/test-engine -p vctts -p vctts-bench -p vctts-piper \
  -p vctts-model-xtts -p vctts-model-openvoice --bins --examples
B=target/release
mkdir -p target/bench

all=(overhead scale engine-tone engine-piper engine-piper-zh websocket piper piper-zh xtts openvoice soak)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${all[@]}")

run() {  # run NAME COMMAND...
  local name=$1
  shift
  for w in "${wanted[@]}"; do
    if [ "$w" = "$name" ]; then
      echo "## $name: $*"
      "$@" 2>&1 | tee "target/bench/$name.txt"
      echo
    fi
  done
}

run overhead "$B/vctts-bench" overhead
run scale "$B/vctts-bench" scale
run engine-tone "$B/vctts-bench" engine --engine tone
run engine-piper "$B/vctts-bench" engine --engine piper --env "VCTTS_HOME=$VCTTS_HOME"
run engine-piper-zh "$B/vctts-bench" engine --engine piper --language zh --env "VCTTS_HOME=$VCTTS_HOME"
run websocket "$B/examples/ws_clients"
run piper "$B/examples/piper_bench" --requests 200 --clients 4
run piper-zh "$B/examples/piper_zh_bench"
run xtts "$B/examples/xtts_bench" --tokens 100
run openvoice "$B/examples/openvoice_bench" --base default --rounds 2
run soak "$B/vctts-bench" soak --duration 600
