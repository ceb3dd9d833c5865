"""Blind set: what a person reads under one prompt against another for the same item of the same list, where the
two differ (the model's sentence or, where it failed, the evidence template), from one paired 100-user run.
Shuffled sides, seeded; reader 2 gets A/B swapped.
`python pairs-make.py RUN_DIR OUT_DIR NEW OLD SEED` (v22-vs-v17: explain-why@v22 explain-why@v17 22)."""
import csv
import json
import random
import sys
from pathlib import Path

from agent.ingest import movielens_title

run, out, new, old_prompt, seed = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
rows = [json.loads(line) for line in (run / "lists.jsonl").read_text().splitlines()]
by = {(r["prompt"], r["user"]): r for r in rows}
with open("data/ml-latest-small/movies.csv", newline="") as f:  # run from the repository root
    movies = {r["movieId"]: (movielens_title(r["title"]), r["genres"].split("|")) for r in csv.DictReader(f)}
rng = random.Random(seed)
pairs = []
for (prompt, user), r in by.items():
    if prompt != new:
        continue
    old = {i: (t, s) for i, t, s in by[(old_prompt, user)]["delivered"]}
    for item_id, text, source in r["delivered"]:
        if item_id in old and old[item_id][0] != text:
            pairs.append({"item_id": item_id, "model": text, "other": old[item_id][0], "sources": [source, old[item_id][1]]})
rng.shuffle(pairs)
pairs = pairs[:80]
out.mkdir(parents=True, exist_ok=True)
key, s1, s2 = [], [], []
for i, p in enumerate(pairs):
    new_a = rng.random() < 0.5
    a, b = (p["model"], p["other"]) if new_a else (p["other"], p["model"])
    key.append({"id": i, "a_is_model_in_set1": new_a, f"sources_{new.split('@')[-1]}_{old_prompt.split('@')[-1]}": p["sources"]})
    movie, genres = movies[p["item_id"]]
    s1.append({"id": i, "movie": movie, "genres": genres, "A": a, "B": b})
    s2.append({"id": i, "movie": movie, "genres": genres, "A": b, "B": a})
(out / "key.json").write_text(json.dumps(key))
for name, s in (("set1", s1), ("set2", s2)):
    (out / f"{name}.jsonl").write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in s))
print(len(pairs), "pairs")
