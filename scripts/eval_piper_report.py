#!/usr/bin/env python3
"""Turn target/eval-piper/scores.jsonl (see scripts/eval_piper.sh) into the
markdown report docs/eval-piper.md (printed on stdout)."""
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import date

out, manifest = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(os.path.join(out, "scores.jsonl")) if l.strip()]
refs = {}
for line in open(manifest).read().splitlines()[1:]:
    c = line.split("\t")
    refs[c[0]] = dict(speaker=c[1], lang=c[2], dur=c[4])
sentences = open(os.path.join(out, "sentences.txt")).read().splitlines()


def ref_id(r):
    return os.path.basename(r["ref"])[:-4]


plain = [r for r in rows if "/plain/" in r["out"]]
adapted = [r for r in rows if "/adapted/" in r["out"]]
first_ref = ref_id(plain[0])
plain_once = [r for r in plain if ref_id(r) == first_ref]

print("# piper engine: judge evaluation\n")
print(f"Made by `scripts/eval_piper.sh` on {date.today()} ({platform.machine()}, {os.cpu_count()} cores); "
      "judge: `../shared/judge` (Whisper tiny.en WER, Resemblyzer SECS). Voice: en_US-joe-medium. "
      "Raw outputs: `target/eval-piper/`.\n")
wers = [r["wer"] for r in plain_once]
print("## 1. Default voice, 20 English sentences\n")
print(f"Median WER **{statistics.median(wers):.3f}** (mean {statistics.mean(wers):.3f}); "
      f"sane: **{sum(r['sane'] for r in plain_once)}/{len(plain_once)}**.\n")
print("| # | WER | sane | text | Whisper heard |")
print("|---|---|---|---|---|")
for i, r in enumerate(plain_once, 1):
    print(f"| {i} | {r['wer']:.3f} | {'yes' if r['sane'] else 'NO ' + ','.join(r['sanity_flags'])} | "
          f"{r['text']} | {r['asr_text']} |")

print("\n## 2. Voice adaptation toward each reference clip\n")
print("The same 20 sentences, without adaptation (joe's own voice) and with the profile `extract_voice` made "
      "from the clip; SECS of each output against that clip. Goal: mean SECS at least 0.05 higher with "
      "adaptation, WER rising by at most 0.05.\n")
print("| reference | speaker (lang) | SECS plain | SECS adapted | ΔSECS | WER plain | WER adapted | ΔWER | sane adapted | formant scale | pitch shift (st) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
all_d, all_dw = [], []
for rid in sorted({ref_id(r) for r in adapted}):
    p = [r for r in plain if ref_id(r) == rid]
    a = [r for r in adapted if ref_id(r) == rid]
    sp = statistics.mean(r["secs"] for r in p if r["secs"] is not None)
    sa = statistics.mean(r["secs"] for r in a if r["secs"] is not None)
    wp = statistics.mean(r["wer"] for r in p)
    wa = statistics.mean(r["wer"] for r in a)
    all_d.append(sa - sp)
    all_dw.append(wa - wp)
    prof = json.load(open(os.path.join(out, "profiles", rid + ".json")))["summary"]
    t = prof["transform"]
    info = refs.get(rid, {})
    print(f"| {rid} | {info.get('speaker', '?')} ({info.get('lang', '?')}) | {sp:.3f} | {sa:.3f} | "
          f"**{sa - sp:+.3f}** | {wp:.3f} | {wa:.3f} | {wa - wp:+.3f} | {sum(r['sane'] for r in a)}/{len(a)} | "
          f"{t['formant_scale']:.3f} | {t['pitch_shift_semitones']:+.1f} |")
print(f"\nOver all references: mean ΔSECS **{statistics.mean(all_d):+.3f}** "
      f"(min {min(all_d):+.3f}), mean ΔWER **{statistics.mean(all_dw):+.3f}** (max {max(all_dw):+.3f}).\n")
print("SECS reads (judge README): ≥ 0.85 same-voice level, ≤ 0.75 not distinguishable from a different person. "
      "The adaptation is a timbre approximation by signal processing (pitch, formant scale, rate, equaliser), "
      "not neural voice cloning: it moves joe toward the reference but does not reach same-speaker level.")
