"""Blind sets: (1) v21's model sentence vs the template for the same item; (2) v17's vs v21's model sentence where
they differ (same user, item). Shuffled sides, seeded; reader 2 gets A/B swapped."""
import json, random
from agent.config import load_settings
from agent.recommender import Recommender
from agent.pipeline.explain import template_texts
OUT = "/tmp"  # where the reading sets go (run from the repository root)
rec = Recommender(load_settings())
v21 = [json.loads(l) for l in open('docs/explain-runs/100-users-explain-why-v21/lists.jsonl')]
v17 = {r['user']: r for r in map(json.loads, open('docs/explain-runs/100-users-paired-v17-v18/lists.jsonl')) if r['prompt'] == 'explain-why@v17'}
rng = random.Random(19)
tmpl_pairs, ab_pairs = [], []
for r in v21:
    res = rec.recommend(r['user'], k=10, use_llm=False)
    ev = rec.evidence_for(rec.history(r['user']), [rec.item(i.item_id) for i in res.items])
    pos = {it.item_id: n for n, it in enumerate(res.items)}
    old = {i: (t, s) for i, t, s in v17[r['user']]['delivered']}
    for item_id, text, source in r['delivered']:
        if source != 'llm' or item_id not in pos:
            continue
        n = pos[item_id]
        it = res.items[n]
        tmpl_pairs.append({"title": it.title, "genres": list(it.categories), "model": text,
                           "other": template_texts(ev.contexts[n].evidence, n)[1]})
        if item_id in old and old[item_id][1] == 'llm' and old[item_id][0] != text:
            ab_pairs.append({"title": it.title, "genres": list(it.categories), "model": text, "other": old[item_id][0]})
rng.shuffle(tmpl_pairs); rng.shuffle(ab_pairs)
for name, pairs in (('tmpl', tmpl_pairs[:120]), ('v17', ab_pairs[:60])):
    key, s1, s2 = [], [], []
    for i, p in enumerate(pairs):
        model_a = rng.random() < 0.5
        a, b = (p['model'], p['other']) if model_a else (p['other'], p['model'])
        key.append({"id": i, "a_is_model_in_set1": model_a})
        s1.append({"id": i, "movie": p['title'], "genres": p['genres'], "A": a, "B": b})
        s2.append({"id": i, "movie": p['title'], "genres": p['genres'], "A": b, "B": a})
    json.dump(key, open(f'{OUT}/{name}-key.json', 'w'))
    for fn, s in (('set1', s1), ('set2', s2)):
        with open(f'{OUT}/{name}-{fn}.jsonl', 'w') as f:
            for x in s: f.write(json.dumps(x, ensure_ascii=False) + '\n')
    print(name, len(pairs), 'pairs of', len(tmpl_pairs if name == 'tmpl' else ab_pairs))
