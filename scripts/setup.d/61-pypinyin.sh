#!/usr/bin/env bash
# The Chinese dictionaries of the XTTS text front end: the single-character and phrase readings of the PyPI
# package `pypinyin` 0.55.0 (the version the reference venv of coqui-tts 0.28 resolves; coqui-tts accepts
# pypinyin>=0.40.0), which XTTS-v2's tokenizer uses to write Chinese as TONE3 pinyin. Installed into
# $VCTTS_HOME/models/pypinyin/; the vctts-xtts-text crate reads it there when Chinese text is requested.
#
# The wheel ships the data as pypinyin/pinyin_dict.json ({"<code point>": "reading,reading"}) and
# pypinyin/phrases_dict.json ({"phrase": [["reading", ...], ...]}). The system python3 rewrites them, with
# nothing added or dropped, as two sorted UTF-8 text files the Rust code reads without a JSON parser:
#   pinyin_dict.txt   <code point in hex> TAB <readings, comma-separated, in pypinyin's order>
#   phrases_dict.txt  <phrase> TAB <one field per character, space-separated; each field the readings,
#                     comma-separated>
# Python is needed only here; nothing of pypinyin runs at run time.
#
# Idempotent: does nothing when the files are already there. Runs on its own
# (`bash scripts/setup.d/61-pypinyin.sh`) or from scripts/setup.sh.
#
# Licence: pypinyin (code and data) is MIT, © mozillazg; LICENSE.txt is installed next to the data.
set -euo pipefail
log() { echo "[61-pypinyin] $*"; }

VERSION="0.55.0"
WHEEL_NAME="pypinyin-$VERSION-py2.py3-none-any.whl"
SHA256="d53b1e8ad2cdb815fb2cb604ed3123372f5a28c6f447571244aca36fc62a286f"
. "$(dirname "${BASH_SOURCE[0]}")/../setup-lib.sh"
setup_home
DEST="$VCTTS_HOME/models/pypinyin"
STAMP="$DEST/.installed-pypinyin-$VERSION"
NEEDED=(pinyin_dict.txt phrases_dict.txt LICENSE.txt)

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
pypi_fetch 61-pypinyin "$WHEEL_NAME" "pypinyin==$VERSION" "$SHA256" --only-binary=:all:
WHEEL="$FETCHED"

TMP="$DEST.tmp.$$"
rm -rf "$TMP"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
log "converting the dictionaries into $DEST"
"$PY" - "$WHEEL" "$TMP" "$VERSION" <<'PY'
import json
import sys
import zipfile

wheel, out, version = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    chars = json.loads(z.read("pypinyin/pinyin_dict.json").decode("utf-8"))
    phrases = json.loads(z.read("pypinyin/phrases_dict.json").decode("utf-8"))
    licence = z.read(f"pypinyin-{version}.dist-info/licenses/LICENSE.txt")

bad = "\t\n\r ,"
def check(s, what):
    if not s or any(c in s for c in bad):
        raise SystemExit(f"[61-pypinyin] error: unexpected {what} {s!r}")

with open(f"{out}/pinyin_dict.txt", "w", encoding="utf-8", newline="\n") as f:
    for cp in sorted(int(k) for k in chars):
        readings = chars[str(cp)].split(",")
        for r in readings:
            check(r, "reading")
        f.write(f"{cp:X}\t{','.join(readings)}\n")
with open(f"{out}/phrases_dict.txt", "w", encoding="utf-8", newline="\n") as f:
    for phrase in sorted(phrases):
        check(phrase, "phrase")
        fields = []
        for syllable in phrases[phrase]:
            for r in syllable:
                check(r, "reading")
            fields.append(",".join(syllable))
        f.write(f"{phrase}\t{' '.join(fields)}\n")
with open(f"{out}/LICENSE.txt", "wb") as f:
    f.write(licence)
print(f"[61-pypinyin] {len(chars)} characters, {len(phrases)} phrases")
PY
cat >"$TMP/SOURCE.txt" <<TXT
The character and phrase readings of pypinyin $VERSION, from the PyPI wheel $WHEEL_NAME
(sha256 $SHA256): pypinyin/pinyin_dict.json and pypinyin/phrases_dict.json, rewritten as
pinyin_dict.txt and phrases_dict.txt (sorted text, same entries and readings in the same order; see
scripts/setup.d/61-pypinyin.sh). Licence: MIT (c) mozillazg, see LICENSE.txt in this folder.
Read by crates/vctts-xtts-text (the Chinese part of the XTTS text front end).
TXT
touch "$TMP/.installed-pypinyin-$VERSION"
rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
log "installed $DEST"
