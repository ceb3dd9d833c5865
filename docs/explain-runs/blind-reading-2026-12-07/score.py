"""Scores a blind pairwise reading: `python score.py v15` (or v17, v21-vs-template; `python score.py v21-vs-v17 v17`
names the other side). set1.jsonl holds each pair as
read by the first reader; the second read the same pairs with A and B swapped. key.json says
which side of set1 is the model's sentence (the other is the evidence template for the item)."""
import json
import sys
from collections import Counter
from pathlib import Path

folder = Path(__file__).parent / sys.argv[1]
other = sys.argv[2] if len(sys.argv) > 2 else "template"
key = {k["id"]: k["a_is_model_in_set1"] for k in json.loads((folder / "key.json").read_text())}
reads = [{r["id"]: r for r in map(json.loads, (folder / f"out{n}.jsonl").read_text().splitlines())} for n in (1, 2)]
for n, out in enumerate(reads, 1):
    model_is_a = {i: a if n == 1 else not a for i, a in key.items()}
    won = Counter("tie" if r["better"] == "tie" else "model" if (r["better"] == "A") == model_is_a[i]
                  else other for i, r in out.items())
    well = Counter(side for i, r in out.items() for side, ok in
                   (("model", r["a_reads_well"] if model_is_a[i] else r["b_reads_well"]),
                    (other, r["b_reads_well"] if model_is_a[i] else r["a_reads_well"])) if ok)
    print(f"reader {n}: preferred {dict(won)}; reads well {dict(well)} of {len(out)}")
