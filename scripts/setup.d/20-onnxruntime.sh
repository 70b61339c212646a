#!/usr/bin/env bash
# The ONNX Runtime shared library, taken from the PyPI wheel `onnxruntime`
# (downloaded with pip, unpacked with Python's zipfile: nothing is installed into
# any Python environment). vctts loads it at run time from $VCTTS_HOME/lib
# (or ORT_DYLIB_PATH). The version must match the `ort` crate (Cargo.toml).
set -euo pipefail
log() { echo "[20-onnxruntime] $*"; }

VERSION="1.31.1"
SHA256_X86_64="5752bd508126ae7c49894d3b9d2e83f0c3d487319246d04c444b393308d7ad7f"
. "$(dirname "${BASH_SOURCE[0]}")/../setup-lib.sh"
setup_home
LIB="$VCTTS_HOME/lib"

if [[ -f "$LIB/libonnxruntime.so.$VERSION" && -L "$LIB/libonnxruntime.so" ]]; then
    log "present: $LIB/libonnxruntime.so.$VERSION"
    exit 0
fi
mkdir -p "$LIB"
ARCH="$(uname -m)"
case "$ARCH" in
    x86_64 | aarch64) ;;
    *) echo "[20-onnxruntime] error: no onnxruntime wheel for $ARCH; set ORT_DYLIB_PATH to your own libonnxruntime.so" >&2; exit 1 ;;
esac
WHEEL="$(ls "$CACHE"/onnxruntime-"$VERSION"-cp311-cp311-manylinux_*_"$ARCH".whl 2>/dev/null | head -n1 || true)"
if [[ -z "$WHEEL" ]]; then
    log "downloading onnxruntime==$VERSION from PyPI"
    # The shared library is the same for every Python version; ask for one fixed
    # tag so the download does not depend on the local interpreter.
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: --implementation cp --python-version 3.11 \
        --abi cp311 --platform "manylinux_2_28_$ARCH" --platform "manylinux_2_27_$ARCH" \
        --platform "manylinux_2_17_$ARCH" -d "$CACHE" "onnxruntime==$VERSION"
    WHEEL="$(ls "$CACHE"/onnxruntime-"$VERSION"-cp311-cp311-manylinux_*_"$ARCH".whl | head -n1)"
fi
if [[ "$ARCH" == "x86_64" ]]; then
    echo "$SHA256_X86_64  $WHEEL" | sha256sum -c --quiet - || { echo "[20-onnxruntime] error: checksum mismatch for $WHEEL; delete it and rerun" >&2; exit 1; }
fi
"$PY" - "$WHEEL" "$LIB" "$VERSION" <<'PY'
import os, sys, zipfile
whl, lib, version = sys.argv[1:]
name = f"onnxruntime/capi/libonnxruntime.so.{version}"
with zipfile.ZipFile(whl) as z:
    data = z.read(name)
tmp = os.path.join(lib, f".libonnxruntime.so.{version}.tmp")
with open(tmp, "wb") as f:
    f.write(data)
os.chmod(tmp, 0o755)
os.replace(tmp, os.path.join(lib, f"libonnxruntime.so.{version}"))
with zipfile.ZipFile(whl) as z:
    with open(os.path.join(lib, "onnxruntime-LICENSE.txt"), "wb") as f:
        f.write(z.read("onnxruntime/LICENSE"))
PY
ln -sfn "libonnxruntime.so.$VERSION" "$LIB/libonnxruntime.so"
log "installed $LIB/libonnxruntime.so.$VERSION (MIT licence: $LIB/onnxruntime-LICENSE.txt)"
