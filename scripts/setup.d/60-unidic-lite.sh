#!/usr/bin/env bash
# The Japanese dictionary of the XTTS text front end: UniDic 2.1.2 compiled for MeCab, as the PyPI package
# `unidic-lite` 1.0.8 ships it (the dictionary Coqui's cutlet/fugashi use). Unpacked into
# $VCTTS_HOME/models/unidic-lite/ (sys.dic, matrix.bin, char.bin, unk.dic, dicrc and the licence files);
# the vctts-xtts-text crate reads it there when Japanese text is requested.
#
# unidic-lite is published as a source archive only (no wheel); `pip download` fetches it (pip prepares its
# metadata in a throwaway build environment; nothing is installed). Python is needed only here.
#
# Idempotent: does nothing when the files are already there. Runs on its own
# (`bash scripts/setup.d/60-unidic-lite.sh`) or from scripts/setup.sh.
#
# Licence: UniDic is triple-licensed GPL / LGPL / BSD (3-clause) by the UniDic Consortium; see COPYING, BSD,
# GPL and LGPL next to the dictionary and crates/vctts-xtts-text/README.md.
set -euo pipefail
log() { echo "[60-unidic-lite] $*"; }

VERSION="1.0.8"
SHA256="db9d4572d9fdd4d00a97949d4b0741ec480ee05a7e7e2e32f547500dae27b245"
. "$(dirname "${BASH_SOURCE[0]}")/../setup-lib.sh"
setup_home
DEST="$VCTTS_HOME/models/unidic-lite"
STAMP="$DEST/.installed-unidic-lite-$VERSION"
NEEDED=(sys.dic matrix.bin char.bin unk.dic dicrc COPYING BSD)

present() {
    [[ -f "$STAMP" ]] || return 1
    local f
    for f in "${NEEDED[@]}"; do [[ -f "$DEST/$f" ]] || return 1; done
}

if present; then
    log "present: $DEST"
    exit 0
fi

mkdir -p "$(dirname "$DEST")"
# 47 MB, published as a source archive only.
pypi_fetch 60-unidic-lite "unidic-lite-$VERSION.tar.gz" "unidic-lite==$VERSION" "$SHA256" --no-binary=:all:
SDIST="$FETCHED"

TMP="$DEST.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
log "unpacking the dictionary into $DEST"
tar --no-same-owner -xzf "$SDIST" -C "$TMP" --strip-components=3 "unidic-lite-$VERSION/unidic_lite/dicdir"
for f in "${NEEDED[@]}"; do
    [[ -f "$TMP/$f" ]] || { echo "[60-unidic-lite] error: $f missing from $SDIST" >&2; exit 1; }
done
cat >"$TMP/SOURCE.txt" <<TXT
UniDic 2.1.2 for MeCab, from the PyPI source archive unidic-lite $VERSION (sha256 $SHA256),
folder unidic_lite/dicdir, unmodified. Licence: GPL, LGPL or BSD at your choice (UniDic Consortium);
see COPYING, BSD, GPL and LGPL in this folder. (The unidic-lite packaging code is MIT or WTFPL.)
Read by crates/vctts-xtts-text (the Japanese part of the XTTS text front end).
TXT
touch "$TMP/.installed-unidic-lite-$VERSION"
rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
log "installed $DEST"
