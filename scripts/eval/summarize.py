"""Markdown table of judge results: python3 summarize.py OUT_DIR SYSTEM [SYSTEM...]"""
import json
import os
import statistics
import sys

out, systems = sys.argv[1], sys.argv[2:]
here = os.path.dirname(os.path.abspath(__file__))
rows = []
for f in ("zh_sentences.tsv", "zh_mixed.tsv"):
    for line in open(os.path.join(here, f), encoding="utf-8"):
        if not line.startswith("#") and line.strip():
            rows.append(line.rstrip("\n").split("\t"))
res = {}
for s in systems:
    res[s] = {}
    for line in open(os.path.join(out, f"{s}.jsonl"), encoding="utf-8"):
        d = json.loads(line)
        res[s].setdefault("_list", []).append(d)
    for (rid, _, _), d in zip(rows, res[s]["_list"]):
        res[s][rid] = d

print("| id | text | " + " | ".join(f"{s} CER | {s} heard" for s in systems) + " |")
print("|---|---|" + "---|---|" * len(systems))
for rid, text, _ in rows:
    cells = []
    for s in systems:
        d = res[s][rid]
        flag = "" if d.get("sane") else " (not sane)"
        cells.append(f"{d['cer']:.3f}{flag} | {d.get('asr_text', '')}")
    print(f"| {rid} | {text} | " + " | ".join(cells) + " |")
print()
for s in systems:
    main = [res[s][r[0]] for r in rows if not r[0].startswith("m")]
    cers = [d["cer"] for d in main]
    sane = sum(1 for d in main if d.get("sane"))
    print(
        f"- **{s}**: {len(main)} sentences, median CER {statistics.median(cers):.3f}, "
        f"mean CER {statistics.mean(cers):.3f}, sane {sane}/{len(main)}"
    )
