"""Generate parity fixtures for the Rust crate `vctts-xtts-text`.

Run with the reference venv (coqui-tts 0.28). Japanese needs cutlet/fugashi/unidic-lite, which the shared venv
lacks: install them into a separate folder and put it on PYTHONPATH, e.g.

    /work/ref-venv/bin/pip install --target /tmp/xtts-pyextra cutlet fugashi unidic-lite
    PYTHONPATH=/tmp/xtts-pyextra /work/ref-venv/bin/python tools/parity/xtts_text/gen_fixtures.py

Writes into crates/vctts-xtts-text/tests/fixtures/:
  vocab.json      a small BPE trained with `tokenizers`, in the layout of the XTTS-v2 release vocab.json
  cases.json      Coqui VoiceBpeTokenizer preprocess_text + encode for every corpus sentence (or the error raised)
  num2words.json  num2words outputs (cardinal, ordinal, float, currency) for the languages XTTS calls it with
"""

import json
import os
import random
import sys

from tokenizers import Tokenizer, models, pre_tokenizers, trainers

from TTS.tts.layers.xtts import tokenizer as xtok
from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus import CORPUS, EDGE  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
OUT = os.path.join(ROOT, "crates", "vctts-xtts-text", "tests", "fixtures")

LANG_TOKENS = ["en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "ja", "hu", "ko", "hi"]
SPECIALS = ["[STOP]", "[UNK]", "[SPACE]", "[START]"] + [f"[{l}]" for l in LANG_TOKENS]


def preprocess_all(tok):
    rows = []
    for lang, sentences in CORPUS.items():
        for text in sentences:
            rows.append(run_case(tok, lang, text))
    for lang, text in EDGE:
        rows.append(run_case(tok, lang, text))
    return rows


def run_case(tok, lang, text):
    row = {"lang": lang, "text": text}
    base = lang.split("-")[0]
    try:
        if base == "zh":
            # The text pypinyin receives, to check the Chinese cleaners without a pinyin converter.
            row["cleaned_before_pinyin"] = xtok.multilingual_cleaners(text, "zh")
        row["cleaned"] = tok.preprocess_text(text, base)
    except Exception as e:  # upstream raises for some inputs; record which
        row["error"] = f"{type(e).__name__}: {e}"
    return row


def train_vocab(rows, path):
    # Train on every other sentence so that some characters stay unknown ([UNK]) and merges are not perfect.
    train_text = [r["cleaned"].replace(" ", "[SPACE]") for i, r in enumerate(rows) if "cleaned" in r and i % 2 == 0]
    tk = Tokenizer(models.BPE(unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.BpeTrainer(vocab_size=1500, special_tokens=SPECIALS, show_progress=False)
    tk.train_from_iterator(train_text, trainer)
    tk.save(path)


def num2words_cases():
    from num2words import num2words

    rng = random.Random(1234)
    ints = list(range(0, 125)) + [
        200, 201, 300, 333, 400, 500, 555, 600, 700, 800, 900, 999, 1000, 1001, 1010, 1100, 1111, 1999, 2000, 2001,
        2024, 3000, 5000, 10000, 10001, 11000, 21000, 100000, 100001, 123456, 1000000, 1000001, 2000000, 2500000,
        1000000000, 1234567890, 10**12, 10**15, 10**18, 10**21, 10**24,
    ]
    ints += [rng.randrange(0, 10 ** rng.randrange(2, 13)) for _ in range(150)]
    floats = ["12.5", "12.0", "3.14159", "0.05", "0.5", "100000.5", "1.5", "2.25", "7.125", "99.99", "0.001",
              "1.005", "10.10", "123.456", "5.555", "0.00001", "1234567.89", "3.0", "20.15", "1.1", "42.42"]
    floats += [f"{rng.randrange(0, 10000)}.{rng.randrange(0, 1000)}" for _ in range(40)]
    money = ["20", "20.15", "0.99", "1", "1.01", "2.5", "5.555", "0.5", "100", "1000000", "21.21", "3.50", "0.01",
             "1.005", "12345.67", "2", "0", "101.1"]
    out = {}
    langs = ["en", "es", "fr", "de", "pt", "it", "pl", "ar", "cs", "ru", "nl", "tr", "hu", "ko", "hi"]

    def call(*a, **k):
        try:
            return num2words(*a, **k)
        except Exception as e:
            return {"error": type(e).__name__}

    for lang in langs:
        d = {"cardinal": [], "ordinal": [], "float": [], "currency": []}
        for n in ints:
            d["cardinal"].append([str(n), call(n, lang=lang)])
            d["ordinal"].append([str(n), call(n, ordinal=True, lang=lang)])
        for f in floats:
            d["float"].append([f, call(float(f), lang=lang)])
        for m in money:
            for cur in ["GBP", "USD", "EUR"]:
                d["currency"].append([m, cur, call(float(m), to="currency", currency=cur, lang=lang)])
        out[lang] = d
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    tok = VoiceBpeTokenizer()
    rows = preprocess_all(tok)
    vocab_path = os.path.join(OUT, "vocab.json")
    train_vocab(rows, vocab_path)
    tok = VoiceBpeTokenizer(vocab_path)
    for r in rows:
        if "cleaned" in r:
            r["ids"] = tok.encode(r["text"], r["lang"])
    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "tools/parity/xtts_text/gen_fixtures.py", "cases": rows}, f, ensure_ascii=False,
                  indent=1)
    with open(os.path.join(OUT, "num2words.json"), "w", encoding="utf-8") as f:
        json.dump(num2words_cases(), f, ensure_ascii=False)
    print(f"{len(rows)} cases, vocab size {Tokenizer.from_file(vocab_path).get_vocab_size()}")


if __name__ == "__main__":
    main()
