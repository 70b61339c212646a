#!/usr/bin/env bash
# OpenVoice V2's tone colour converter for the `openvoice` engine:
# $VCTTS_HOME/voices/openvoice/converter/{config.json,checkpoint.pth}, exactly as
# MyShell publishes them (checkpoints_v2_0417.zip, linked from the OpenVoice
# README; MIT licence). The files are not on any package registry, so this step
# cannot fetch them: it unpacks the release zip you downloaded, if you name it,
# and otherwise says what to do. The engine is optional, so a missing converter
# is a note here, not a failure; the worker reports it when asked to load it.
#
#   OPENVOICE_CHECKPOINTS_ZIP=/path/to/checkpoints_v2_0417.zip scripts/setup.sh
#   (or copy the zip's checkpoints_v2/converter/ folder to the place below)
set -euo pipefail
log() { echo "[50-openvoice] $*"; }

VCTTS_HOME="${VCTTS_HOME:-./.vctts}"
mkdir -p "$VCTTS_HOME"
VCTTS_HOME="$(cd "$VCTTS_HOME" && pwd)"
DEST="$VCTTS_HOME/voices/openvoice/converter"
PY="${PYTHON:-python3}"

check() {
    # A zip-format PyTorch file starts with "PK"; the config must name a V2 converter.
    [[ -f "$DEST/config.json" && -f "$DEST/checkpoint.pth" ]] || return 1
    [[ "$(head -c 2 "$DEST/checkpoint.pth")" == "PK" ]] || {
        echo "[50-openvoice] error: $DEST/checkpoint.pth is not a PyTorch zip checkpoint (corrupt download?)" >&2
        return 2
    }
    grep -q '"n_speakers": *0' "$DEST/config.json" || {
        echo "[50-openvoice] error: $DEST/config.json is not the converter's config (n_speakers must be 0)" >&2
        return 2
    }
}

if check; then
    log "present: $DEST ($(du -h "$DEST/checkpoint.pth" | cut -f1))"
    exit 0
elif [[ $? -eq 2 ]]; then
    exit 1
fi

ZIP="${OPENVOICE_CHECKPOINTS_ZIP:-}"
if [[ -z "$ZIP" ]]; then
    log "note: the openvoice engine's converter is not installed (optional)."
    log "      Download checkpoints_v2_0417.zip from the OpenVoice V2 release and rerun with"
    log "      OPENVOICE_CHECKPOINTS_ZIP=/path/to/checkpoints_v2_0417.zip, or copy its"
    log "      checkpoints_v2/converter/ folder to $DEST."
    exit 0
fi
[[ -f "$ZIP" ]] || { echo "[50-openvoice] error: OPENVOICE_CHECKPOINTS_ZIP=$ZIP does not exist" >&2; exit 1; }
mkdir -p "$DEST"
"$PY" - "$ZIP" "$DEST" <<'PY'
import os, sys, zipfile
zip_path, dest = sys.argv[1:]
with zipfile.ZipFile(zip_path) as z:
    names = {os.path.basename(n): n for n in z.namelist() if "/converter/" in n and not n.endswith("/")}
    for want in ("config.json", "checkpoint.pth"):
        if want not in names:
            sys.exit(f"[50-openvoice] error: {zip_path} has no converter/{want}; is it the OpenVoice V2 release?")
        tmp = os.path.join(dest, "." + want + ".tmp")
        with z.open(names[want]) as src, open(tmp, "wb") as out:
            while chunk := src.read(1 << 20):
                out.write(chunk)
        os.replace(tmp, os.path.join(dest, want))
PY
check || exit 1
log "installed $DEST"
