#!/usr/bin/env bash
# Evaluate the piper engine with the judge (../shared/judge, see its README):
#  1. 20 English sentences (numbers, names, long sentences) with the default
#     voice: WER (Whisper) and sanity per sentence;
#  2. voice adaptation toward every reference clip get_refs builds (English,
#     French, Mandarin speakers): SECS and WER of the same 20 sentences with and
#     without adaptation, each scored against that reference.
# Writes target/eval-piper/ (audio, profiles, judge JSON) and docs/eval-piper.md.
# Not a test: it needs the judge (Python, Whisper) and takes ~10 minutes.
#
#   JUDGE=/path/to/judge scripts/eval_piper.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
JUDGE="${JUDGE:-$ROOT/../shared/judge}"
[ -x "$JUDGE/score.py" ] || JUDGE=/work/shared/judge
OUT="$ROOT/target/eval-piper"
JUDGE_CACHE="${JUDGE_CACHE:-$HOME/.cache/vctts-judge}"
REFS="$JUDGE_CACHE/refs"
mkdir -p "$OUT/plain" "$OUT/profiles" "$OUT/adapted"

scripts/setup.sh >/dev/null
"$JUDGE/setup" >/dev/null
"$JUDGE/get_refs" >/dev/null
cargo build --release -q -p vctts-piper --example synth
SYNTH="$ROOT/target/release/examples/synth"

SENTENCES="$OUT/sentences.txt"
cat >"$SENTENCES" <<'TXT'
The meeting starts at 9:30 am on Monday, March 3rd.
Dr. Elizabeth Warren paid $45.99 for the book.
In 1969, Neil Armstrong became the first person to walk on the Moon.
The population of Tokyo is roughly 14 million people.
Please call me back at extension 4521 before 5 pm.
Alexander Hamilton was born on January 11, 1755, in the West Indies.
The recipe calls for 2.5 cups of flour and 3 eggs.
Our quarterly revenue grew by 12% compared to last year.
Professor Nakamura and Ms. Johnson will present the results tomorrow.
Although the weather forecast had promised clear skies for the entire weekend, a sudden storm rolled in from the west on Saturday afternoon, forcing the organizers to move the concert indoors at the last minute.
She finished 2nd in the marathon, just 45 seconds behind the winner.
The Golden Gate Bridge in San Francisco opened to traffic in 1937.
Could you send the report to Michael and Priya by Friday?
The train from Boston to New York takes about 3 hours and 40 minutes.
My grandmother, who grew up on a small farm in Ireland, still remembers the sound of the church bells ringing across the valley every Sunday morning.
The temperature dropped to -5 degrees overnight.
Mount Everest is 8,849 meters tall.
William Shakespeare wrote Hamlet around the year 1600.
Apple, Google and Microsoft announced new products this week.
When the last guests had finally gone home, Thomas sat by the fire, opened the old letter from his brother, and read it slowly, twice, before putting it back in the drawer.
TXT

# Reference clips: every whole clip get_refs builds (the 3 s halves are skipped).
mapfile -t REF_IDS < <(awk -F'\t' 'NR > 1 && $1 !~ /_h[0-9]$/ { print $1 }' "$REFS/manifest.tsv")

# 1. Plain synthesis.
: >"$OUT/plain.tsv"
n=0
while IFS= read -r text; do
    n=$((n + 1))
    printf '%s\t%s\n' "$OUT/plain/$(printf %02d $n).wav" "$text" >>"$OUT/plain.tsv"
done <"$SENTENCES"
"$SYNTH" --batch "$OUT/plain.tsv" 2>"$OUT/plain.log"

# 2. Profiles and adapted synthesis.
: >"$OUT/adapted.tsv"
for id in "${REF_IDS[@]}"; do
    "$SYNTH" --extract "$REFS/$id.wav" --out "$OUT/profiles/$id.json" 2>"$OUT/profiles/$id.log"
    mkdir -p "$OUT/adapted/$id"
    n=0
    while IFS= read -r text; do
        n=$((n + 1))
        printf '%s\t%s\t%s\n' "$OUT/adapted/$id/$(printf %02d $n).wav" "$text" "$OUT/profiles/$id.json" >>"$OUT/adapted.tsv"
    done <"$SENTENCES"
done
"$SYNTH" --batch "$OUT/adapted.tsv" 2>"$OUT/adapted.log"

# 3. Judge: every output against every reference it is compared with.
: >"$OUT/jobs.tsv"
for id in "${REF_IDS[@]}"; do
    n=0
    while IFS= read -r text; do
        n=$((n + 1))
        f=$(printf %02d $n)
        printf '%s\t%s\ten\t%s\n' "$REFS/$id.wav" "$text" "$OUT/plain/$f.wav" >>"$OUT/jobs.tsv"
        printf '%s\t%s\ten\t%s\n' "$REFS/$id.wav" "$text" "$OUT/adapted/$id/$f.wav" >>"$OUT/jobs.tsv"
    done <"$SENTENCES"
done
"$JUDGE/score.py" --batch "$OUT/jobs.tsv" >"$OUT/scores.jsonl"

mkdir -p docs
"$JUDGE_CACHE/venv/bin/python" scripts/eval_piper_report.py "$OUT" "$REFS/manifest.tsv" >docs/eval-piper.md
cat docs/eval-piper.md
