#!/usr/bin/env bash
# Compare two builds of the gateway side by side, at one connection: each build
# runs its own gateway + tone worker, and rounds alternate between them so that
# the machine's drift hits both. Prints, per build, the median p50 through the
# gateway, the median p50 of its worker called directly, the user and kernel
# CPU per request of the gateway's serving threads and the whole gateway's CPU
# per request (from /proc; steadier than latency on a shared VM). Needs wrk.
# Not a test: run it on an idle machine.
#
#   cp target/release/vctts /tmp/vctts-a   # before a change
#   cargo build --release --features vctts/test-engine -p vctts
#   scripts/ab_gateway.sh /tmp/vctts-a target/release/vctts [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ $# -ge 2 ] || { sed -n 2,11p "$0"; exit 2; }
bins=("$(realpath "$1")" "$(realpath "$2")")
rounds=${3:-8}
secs=${4:-2}
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
export VCTTS_HOME="${VCTTS_HOME:-$PWD/.vctts}"
dir=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$dir"' EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cat >"$dir/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = "{\"text\":\"Hello world.\"}"
wrk.headers["Content-Type"] = "application/json"
EOF

gw=() wk=() gwpid=()
for i in 0 1; do
  g=$(free_port) w=$(free_port)
  "${bins[$i]}" gateway --host 127.0.0.1 --port "$g" --data-dir "$dir/data$i" --default-engine tone \
    --global-rpm 100000000 --ip-rpm 100000000 --concurrent-limit 100000 >"$dir/gw$i.log" 2>&1 &
  pids+=($!) gwpid+=($!)
  sleep 0.5
  "${bins[$i]}" worker --engine tone --host 127.0.0.1 --port "$w" --node-id "ab$i" --auto-load \
    --gateway "http://127.0.0.1:$g" --max-concurrency 256 >"$dir/w$i.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -s "http://127.0.0.1:$g/api/nodes/ab$i" | grep -q '"ready"' && break
    sleep 0.2
  done
  curl -sf -o /dev/null -XPOST -H 'content-type: application/json' -d '{"text":"Hello world."}' \
    "http://127.0.0.1:$g/api/synthesize" || { echo "build $i: no answer through its gateway" >&2; exit 1; }
  gw+=("$g") wk+=("$w")
done

# ticks: serving threads' user and sys (the main thread and vctts-serve-*), then the whole process's
cpu() {
  local pid=$1 su=0 ss=0 line rest u k
  for f in /proc/"$pid"/task/*/stat; do
    line=$(<"$f") || continue
    rest=${line##*) }  # fields from the 3rd on; utime and stime are the 12th and 13th of them
    read -r _ _ _ _ _ _ _ _ _ _ _ u k _ <<<"$rest"
    if [[ $f == /proc/$pid/task/$pid/stat || $line == *"(vctts-serve-"* ]]; then su=$((su + u)) ss=$((ss + k)); fi
  done
  read -r _ _ _ _ _ _ _ _ _ _ _ u k _ <<<"$(sed 's/.*) //' "/proc/$pid/stat")"
  echo "$su $ss $u $k"
}
p50() { wrk -t1 -c1 -d"${secs}s" --latency -s "$dir/post.lua" "$1" | awk '$1 == "50%" {v=$2; if (v ~ /ms$/) {sub("ms","",v); v*=1000} else sub("us","",v); print v}'; }
for r in $(seq 1 "$rounds"); do
  for i in 0 1; do
    echo "direct$i $(p50 "http://127.0.0.1:${wk[$i]}/api/synthesize")"
    read -r u0 s0 pu0 ps0 < <(cpu "${gwpid[$i]}")
    out=$(wrk -t1 -c1 -d"${secs}s" --latency -s "$dir/post.lua" "http://127.0.0.1:${gw[$i]}/api/synthesize")
    read -r u1 s1 pu1 ps1 < <(cpu "${gwpid[$i]}")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    v=$(awk '$1 == "50%" {v=$2; if (v ~ /ms$/) {sub("ms","",v); v*=1000} else sub("us","",v); print v}' <<<"$out")
    v99=$(awk '$1 == "99%" {v=$2; if (v ~ /ms$/) {sub("ms","",v); v*=1000} else sub("us","",v); print v}' <<<"$out")
    tick=$(getconf CLK_TCK)
    echo "gateway$i $v $(( (u1 - u0) * 1000000 / tick / n )) $(( (s1 - s0) * 1000000 / tick / n ))" \
      "$(( (pu1 - pu0 + ps1 - ps0) * 1000000 / tick / n ))" "$v99"
  done
done | python3 -c '
import sys, statistics as st, collections
d = collections.defaultdict(list)
for line in sys.stdin:
    k, *v = line.split()
    d[k].append([float(x) for x in v])
names = sys.argv[1:]
print("| build | direct p50 us | via gateway p50 us | added us | via gateway p99 us | serving thread user us/req | kernel us/req | whole gateway CPU us/req |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for i, name in enumerate(names):
    direct = st.median(x[0] for x in d[f"direct{i}"])
    g = d[f"gateway{i}"]
    via = st.median(x[0] for x in g)
    print(f"| {name} | {direct:.0f} | {via:.0f} | {via - direct:.0f} | {st.median(x[4] for x in g):.0f} | {st.median(x[1] for x in g):.0f} | {st.median(x[2] for x in g):.0f} | {st.median(x[3] for x in g):.0f} |")
' "$1" "$2"
