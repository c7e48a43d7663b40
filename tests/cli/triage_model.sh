#!/usr/bin/env bash
# triage_model.sh CARENAV DATA_DIR MODEL - the text model's edges:
#  - "carenav triage train" is deterministic: two runs on a small set give
#    byte-identical files, and the model it writes is loadable;
#  - the committed MODEL is exactly what the committed DATA_DIR trains to
#    (a stale model after new data fails here: run the train command);
#  - a damaged model stops both "carenav triage" and the gateway at startup,
#    naming the file (before any database is needed);
#  - a bad training line stops training, naming the file and line.
set -euo pipefail
carenav=$1 data=$2 model=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A small set: every third line of the hand-written files.
mkdir -p "$tmp/small"
for f in "$data"/*.jsonl; do
  awk 'NR % 3 == 0' "$f" >"$tmp/small/$(basename "$f")"
done
"$carenav" triage train --data "$tmp/small" --out "$tmp/a.txt" 2>"$tmp/train.log"
"$carenav" triage train --data "$tmp/small" --out "$tmp/b.txt" 2>/dev/null
cmp "$tmp/a.txt" "$tmp/b.txt"
grep -q '^threshold_emergency 0\.[0-9]*$' "$tmp/a.txt"
grep -q 'cross-validated, model alone, en: emergency recall' "$tmp/train.log"
echo "cant pee" | "$carenav" triage --model "$tmp/a.txt" | grep -q '"level":"emergency"'

# The committed model is reproducible from the committed data.
"$carenav" triage train --data "$data" --out "$tmp/full.txt" 2>/dev/null
cmp "$tmp/full.txt" "$model" || {
  echo "$model is not what $data trains to: run carenav triage train --out $model"; exit 1; }

# A truncated model: the CLI and the gateway refuse it and name the file.
head -c $(( $(wc -c <"$model") / 2 )) "$model" >"$tmp/truncated.txt"
set +e
echo "cant pee" | "$carenav" triage --model "$tmp/truncated.txt" >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ "$rc" != 0 ] || { echo "triage accepted a truncated model"; exit 1; }
grep -q "triage model $tmp/truncated.txt: .*truncated" "$tmp/err"
set +e
TRIAGE_MODEL_FILE="$tmp/truncated.txt" VAR_DIR="$tmp/var" DATABASE_URL="postgresql:///nonexistent?host=$tmp" \
  HTTP_PORT=1 timeout 20 "$carenav" serve >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ "$rc" != 0 ] && [ "$rc" != 124 ] || { echo "the gateway started (or hung) with a truncated model: rc=$rc"; exit 1; }
grep -q "triage model $tmp/truncated.txt: .*truncated" "$tmp/err"
printf 'carenav-triage-model 1\nhash_bits 20\nscale_floor 100\nthreshold_emergency 0.5\nthreshold_see_doctor 0.5\nweights 1\nbias 0 0 0\n7 0 0 nope\nend\n' \
  >"$tmp/garbled.txt"
set +e
echo x | "$carenav" triage --model "$tmp/garbled.txt" >/dev/null 2>"$tmp/err"
rc=$?
set -e
[ "$rc" != 0 ] && grep -q "garbled.txt: line 8: expected" "$tmp/err"

# A bad training line names its file and line.
mkdir -p "$tmp/bad"
printf '{"text": "ok", "level": "none", "language": "en"}\n{"text": "x", "level": "urgent"}\n' >"$tmp/bad/a.jsonl"
set +e
"$carenav" triage train --data "$tmp/bad" --out "$tmp/bad.txt" 2>"$tmp/err"
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "bad/a.jsonl:2:" "$tmp/err" && [ ! -e "$tmp/bad.txt" ]
echo "triage model: deterministic training, committed model current, damaged models refused"
