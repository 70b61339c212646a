#!/usr/bin/env bash
# Pack the gateway-overhead benchmark for a machine that has no package
# manager access (the lent GPU machine): the release binaries, nginx and wrk,
# every shared library they link and glibc's loader go to target/devbench,
# each started through that loader, so the host's own libraries do not matter.
#
#   scripts/pack_device_bench.sh     # after the release build scripts/bench.sh does
#   then on the other machine (carry target/devbench):  target/devbench/run.sh
#
# ~41 MB. run.sh prints the machine and two runs of `vctts-bench overhead`
# (c = 1, 32, 256; 3 rounds of 5 s per path) in about 6 minutes on 16 cores.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
D=target/devbench
rm -rf "$D" && mkdir -p "$D/lib"
strip -o "$D/vctts.bin" target/release/vctts
strip -o "$D/vctts-bench.bin" target/release/vctts-bench
cp "$(command -v nginx)" "$D/nginx.bin"
cp "$(command -v wrk)" "$D/wrk.bin"
for b in "$D"/*.bin; do ldd "$b"; done | awk '/=>/ {print $3} /ld-linux/ {print $1}' | sort -u |
  while read -r lib; do cp -L "$lib" "$D/lib/"; done
for n in vctts vctts-bench nginx wrk; do
  cat >"$D/$n" <<WRAP
#!/bin/sh
D=\$(cd "\$(dirname "\$0")" && pwd)
exec "\$D/lib/ld-linux-x86-64.so.2" --library-path "\$D/lib" "\$D/$n.bin" "\$@"
WRAP
  chmod +x "$D/$n"
done
cat >"$D/run.sh" <<'RUN'
#!/bin/bash
B=$(cd "$(dirname "$0")" && pwd)
echo "## $(nproc) cpus; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2); $(. /etc/os-release; echo "$PRETTY_NAME")"
cd "$B"
for i in 1 2; do
  echo "## run $i"
  timeout 270 ./vctts-bench overhead --vctts "$B/vctts" --nginx "$B/nginx" --wrk "$B/wrk" \
    --concurrency 1,32,256 --rounds 3 --duration 5 --warmup 1 --threads 4 "$@" 2>&1 | tail -16
done
RUN
chmod +x "$D/run.sh"
"$D/vctts" --version >/dev/null && "$D/nginx" -v 2>/dev/null && "$D/wrk" -v >/dev/null 2>&1 || true
du -sh "$D"
