#!/usr/bin/env python3
"""Calibration for the Piper section of BENCHMARKS.md: the joe voice in ONNX Runtime's own
Python API (no vctts code at all), the same five sentences as the Rust
benchmark, phoneme ids from piper-tts. Prints wall and CPU seconds per second
of audio, so both can be compared with `cargo run --release -p vctts-piper
--example piper_bench` on the same (possibly busy) machine.
    /tmp/pvenv/bin/pip install onnxruntime==1.31.1 piper-tts==1.8.0
    /tmp/pvenv/bin/python scripts/bench_bare_ort.py .vctts/voices/piper/en_US-joe-medium.onnx
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort
from piper.phoneme_ids import phonemes_to_ids
from piper.phonemize_espeak import EspeakPhonemizer

SENTENCES = [
    "The old lighthouse stood at the edge of the cliff, its white paint peeling after decades of storms.",
    "Every evening, the keeper climbed the spiral staircase to light the great lamp.",
    "Ships passing in the night relied on its steady beam to avoid the rocks below.",
    "In nineteen eighty-seven, an automated system replaced him, and the tower fell silent for the first time in a century.",
    "Today, visitors pay twelve dollars to walk the same stairs and look out over the restless sea.",
]
model = sys.argv[1]
cfg = json.load(open(model + ".json"))
opts = ort.SessionOptions()
opts.intra_op_num_threads = int(next((a.split("=")[1] for a in sys.argv if a.startswith("--threads=")), "2"))
if "--no-arena" in sys.argv:
    opts.enable_cpu_mem_arena = False
    opts.enable_mem_pattern = False
sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
ph = EspeakPhonemizer()
ids = [phonemes_to_ids(s, cfg["phoneme_id_map"]) for t in SENTENCES for s in ph.phonemize("en-us", t)]


def run(i):
    x = np.array([i], dtype=np.int64)
    return sess.run(None, {"input": x, "input_lengths": np.array([x.shape[1]], dtype=np.int64),
                           "scales": np.array([0.667, 1.0, 0.8], dtype=np.float32)})[0]


for i in ids:
    run(i)
wall = cpu = audio = 0.0
for _ in range(3):
    for i in ids:
        t, c = time.perf_counter(), time.process_time()
        a = run(i)
        wall += time.perf_counter() - t
        cpu += time.process_time() - c
        audio += a.size / cfg["audio"]["sample_rate"]
print(f"bare ONNX Runtime (Python, {opts.intra_op_num_threads} threads): RTF {wall / audio:.4f} wall, {cpu / audio:.4f} CPU-s per audio-s "
      f"({audio / 3:.1f} s of audio per pass)")
