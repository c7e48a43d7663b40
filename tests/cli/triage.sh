#!/usr/bin/env bash
# triage.sh CARENAV DATA_DIR - "carenav triage" answers every line of the
# labelled set with one JSON object of the documented shape (including which
# detector fired and the text model's emergency probability), agrees with the
# labels as well as the recall gate requires, and reports unreadable lines.
set -euo pipefail
carenav=$1 data=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

cat "$data"/*.jsonl | "$carenav" triage --jsonl >"$out"
python3 - "$data" "$out" <<'PY'
import json, sys, glob
want = [json.loads(l) for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")) for l in open(f) if l.strip()]
got = [json.loads(l) for l in open(sys.argv[2])]
assert len(got) == len(want), (len(got), len(want))
for w, g in zip(want, got):
    assert set(g) == {"text", "level", "reasons", "language", "detector", "p_emergency"}, g
    assert g["detector"] in ("rules", "model", "both", "none"), g
    assert (g["detector"] == "none") == (g["level"] == "none"), g
    assert ("text_model" in g["reasons"]) == (g["detector"] in ("model", "both")), g
    assert isinstance(g["p_emergency"], (int, float)) and 0 <= g["p_emergency"] <= 1, g
    assert g["text"] == w["text"], (g["text"], w["text"])
    assert g["level"] in ("emergency", "see_doctor", "none") and g["language"] in ("en", "es")
    assert (g["level"] == "none") == (g["reasons"] == []), g
emerg = [g for w, g in zip(want, got) if w["level"] == "emergency"]
recall = sum(g["level"] == "emergency" for g in emerg) / len(emerg)
assert recall >= 0.98, recall
print(f"triage CLI: {len(got)} texts, emergency recall {recall:.3f}")
PY
# Bad input: reported, the rest still answered, exit status 1.
set +e
printf 'not json\n{"text": "cant pee"}\n' | "$carenav" triage --jsonl >"$out"
rc=$?
set -e
[ "$rc" = 1 ] || { echo "expected exit 1 for bad input, got $rc"; exit 1; }
grep -q '"error"' "$out" && grep -q '"emergency"' "$out"
