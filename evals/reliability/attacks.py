"""The second round of attacks on the service, as a hostile client made them, over real loopback HTTP:

- ingested flood: an app key writes likes of the most-liked movie and a hostile item for 300
  ingested MovieLens people (plus `seen` filler past the refit threshold), ungranted, granted
  (a compromised app), and granted with the trust rule off; the hostile item's place in 13 real
  fans' top 10 after each;
- slowloris: 20,000 sockets trickling one header line every 10 s and 200 slow bodies, from two
  attacker processes, while /healthz and a no-LLM list are asked every half second;
- delete race: six threads send feedback for a user while the admin deletes them, six trials;
- fairness: one key opens 12 streamed chats and hangs up; another key's LLM list, against the
  same list asked alone (the real bundled model)."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from agent.config import Settings
from agent.conversation import ChatSessions
from agent.pipeline.profile import LIKE_THRESHOLD
from agent.service import HEAD_TIMEOUT_S, BODY_TIMEOUT_S, BackgroundServer, create_app, max_connections
from evals.reliability.service import DEPTH, HOSTILE, _places

ADMIN, APP = "admin-key", "app-key"
ATTACKERS, FANS = 300, 13


def _client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120)


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[int(q * (len(values) - 1))] if values else float("nan")


# -- the flood through ingested ids -----------------------------------------------------------------
def ingested_flood(movielens: Settings, scratch: Path) -> dict:
    target, fans, attackers, filler = _flood_plan(movielens)
    runs = {}
    for defence in ("rule on", "rule off"):
        overrides = {"trust_after_days": 0.0, "trust_min_interactions": 0} if defence == "rule off" else {}
        data = scratch / f"ingested-flood-{defence.replace(' ', '-')}"
        shutil.copytree(movielens.data_dir, data)
        agent = ChatSessions(settings=movielens.model_copy(update={"data_dir": data, **overrides}), use_llm=False)
        app = create_app(agent, api_key=ADMIN, app_keys=[f"shop={APP}"], rate_limit=None, signup_limit=None)
        with BackgroundServer(app) as url, _client(url, ADMIN) as admin, _client(url, APP) as shop:
            admin.post("/v1/items", json={"items": [HOSTILE]}).raise_for_status()
            if defence == "rule on":
                runs["before"] = _places(admin, fans)
                codes = _attack(shop, target, attackers, filler)  # no grants: every write is someone else's
                runs["ungranted"] = {"statuses": dict(Counter(codes)), **_after_refit(agent, admin, fans)}
            for user in attackers:  # the admin grants the app these people: then it turns hostile
                admin.put(f"/v1/users/{user}/grants/shop").raise_for_status()
            t0 = time.perf_counter()
            codes = _attack(shop, target, attackers, filler)
            runs[f"granted, {defence}"] = {"statuses": dict(Counter(codes)), "attack_s": round(time.perf_counter() - t0, 1),
                                           **_after_refit(agent, admin, fans)}
        agent.close()
    return {"target": target, "fans": len(fans), "attackers": len(attackers), "requests_per_attack": len(codes), "depth": DEPTH,
            "runs": runs, "trust_after_days": movielens.trust_after_days,
            "trust_min_interactions": movielens.trust_min_interactions}


def _flood_plan(settings: Settings) -> tuple[str, list[str], list[str], dict[str, list[str]]]:
    """The most liked item, 13 of its fans (checked), 300 other people (the attack's ids), and
    for each of those the popular items they have not rated (the `seen` filler)."""
    from agent.recommender import Recommender

    with Recommender(settings) as rec:
        rows = rec.store.all_interactions()
        n_rows = rec.store.count_interactions()
        rec.store.close()
    likes = Counter(item for _, item, rating, _ in rows if rating is not None and rating >= LIKE_THRESHOLD)
    target = likes.most_common(1)[0][0]
    fans = sorted({u for u, item, r, _ in rows if item == target and r is not None and r >= LIKE_THRESHOLD},
                  key=lambda u: int(u) if u.isdigit() else u)[-FANS:]
    attackers = sorted({u for u, *_ in rows} - set(fans), key=lambda u: int(u) if u.isdigit() else u)[:ATTACKERS]
    rated: dict[str, set[str]] = {}
    for u, item, *_ in rows:
        rated.setdefault(u, set()).add(item)
    popular = [item for item, _ in likes.most_common(200)]
    per_user = -(-max(0, int(0.012 * n_rows) - 2 * ATTACKERS) // ATTACKERS)  # past the 1% refit threshold
    filler = {u: [i for i in popular if i not in rated[u] and i != target][:per_user] for u in attackers}
    return target, fans, attackers, filler


def _attack(client: httpx.Client, target: str, attackers: list[str], filler: dict[str, list[str]]) -> list[int]:
    codes = []
    for user in attackers:
        for item, signal in [(target, "like"), (HOSTILE["item_id"], "like"), *((i, "seen") for i in filler[user])]:
            codes.append(client.post("/v1/feedback", json={"user_id": user, "item_id": item, "signal": signal}).status_code)
    return codes


def _after_refit(agent: ChatSessions, admin: httpx.Client, fans: list[str]) -> dict:
    agent.recommender.fitted()  # a refit starts once the writes passed the threshold; lists are read after it
    agent.recommender.wait_for_refit(600)
    return _places(admin, fans)


# -- slow clients -------------------------------------------------------------------------------------
ATTACKER = r"""
import asyncio, json, sys, time
host, port, n, kind, seconds, key = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6]

async def one(i, t0, out):
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        out["refused"] += 1
        return
    out["opened"] += 1
    if kind == "head":
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    else:
        writer.write(b"POST /v1/feedback HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Authorization: Bearer " + key.encode() + b"\r\nContent-Length: 1000\r\n\r\n")
    opened = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            await writer.drain()
            data = await asyncio.wait_for(reader.read(1024), 10)
            out["closed_after"].append(time.monotonic() - opened)  # closed, or answered (408): let go
            out["answered"] += bool(data)
            return
        except asyncio.TimeoutError:
            writer.write(b"X-Slow: 1\r\n" if kind == "head" else b"x")  # one more line, or byte, every 10 s
        except OSError:
            out["closed_after"].append(time.monotonic() - opened)
            return
    out["held_to_end"] += 1

async def main():
    out = {"opened": 0, "refused": 0, "answered": 0, "held_to_end": 0, "closed_after": []}
    t0 = time.monotonic()
    await asyncio.gather(*(one(i, t0, out) for i in range(n)))
    print(json.dumps(out))

asyncio.run(main())
"""


def slowloris(settings: Settings, scratch: Path, sockets: int = 20_000, bodies: int = 200, seconds: float = 60) -> dict:
    data = scratch / "slowloris"
    shutil.copytree(settings.data_dir, data)
    agent = ChatSessions(settings=settings.model_copy(update={"data_dir": data}), use_llm=False)
    user = _some_user(agent)
    server = BackgroundServer(create_app(agent, api_key=ADMIN, app_keys=[APP], rate_limit=None))
    with server as url, _client(url, ADMIN) as c:
        c.post("/v1/recommend", json={"user_id": user, "k": 10, "use_llm": False}).raise_for_status()  # warm
        host, port = url.removeprefix("http://").split(":")
        script = scratch / "attacker.py"
        script.write_text(ATTACKER)
        half = sockets // 2
        procs = [subprocess.Popen([sys.executable, str(script), host, port, str(n), kind, str(seconds), APP],
                                  stdout=subprocess.PIPE, text=True)
                 for n, kind in ((half, "head"), (sockets - half, "head"), (bodies, "body"))]
        health, lists, failures, open_max = [], [], 0, 0
        t_end = time.monotonic() + seconds
        while time.monotonic() < t_end:
            open_max = max(open_max, len(server._server.server_state.connections))
            for path, into in (("/healthz", health), ("/v1/recommend", lists)):
                t0 = time.perf_counter()
                try:  # a new connection each time, as a health checker or a new visitor makes
                    if path == "/healthz":
                        r = httpx.get(url + path, timeout=10)
                    else:
                        r = httpx.post(url + path, json={"user_id": user, "k": 10, "use_llm": False}, timeout=10,
                                       headers={"Authorization": f"Bearer {ADMIN}"})
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                into.append(time.perf_counter() - t0)
                failures += not ok
            time.sleep(0.5)
        results = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    agent.close()
    heads = {k: results[0][k] + results[1][k] for k in ("opened", "refused", "answered", "held_to_end")}
    head_closed = results[0]["closed_after"] + results[1]["closed_after"]
    body = results[2]
    return {"sockets": sockets, "slow_bodies": bodies, "seconds": seconds, "head_timeout_s": HEAD_TIMEOUT_S,
            "body_timeout_s": BODY_TIMEOUT_S, "max_connections": max_connections(),
            "server_open_max": open_max, "heads": heads,
            "head_closed_p50_s": round(statistics.median(head_closed), 1) if head_closed else None,
            "head_closed_max_s": round(max(head_closed), 1) if head_closed else None,
            "bodies": {k: body[k] for k in ("opened", "refused", "answered", "held_to_end")},
            "body_closed_max_s": round(max(body["closed_after"]), 1) if body["closed_after"] else None,
            "probes": len(health) + len(lists), "probe_failures": failures,
            "healthz_p95_ms": round(_percentile(health, 0.95) * 1000, 1),
            "list_p95_ms": round(_percentile(lists, 0.95) * 1000, 1),
            "passed": failures == 0 and heads["held_to_end"] == 0 and body["held_to_end"] == 0}


def _some_user(agent: ChatSessions) -> str:
    return sorted({u for u, *_ in agent.recommender.store.all_interactions()})[0]


# -- deletes racing writes ----------------------------------------------------------------------------
def delete_race(settings: Settings, scratch: Path, trials: int = 6, writers: int = 6) -> dict:
    data = scratch / "delete-race"
    shutil.copytree(settings.data_dir, data)
    agent = ChatSessions(settings=settings.model_copy(update={"data_dir": data}), use_llm=False)
    items = [it.item_id for it in agent.recommender.store.all_items()]
    rows = []
    with BackgroundServer(create_app(agent, api_key=ADMIN, app_keys=[f"shop={APP}"], rate_limit=None,
                                     signup_limit=None)) as url, _client(url, ADMIN) as admin:
        for trial in range(trials):
            user = f"racer-{trial}"
            with _client(url, APP) as shop:
                shop.post("/v1/users", json={"user_id": user}).raise_for_status()
                for item in items[:20]:
                    shop.post("/v1/feedback", json={"user_id": user, "item_id": item, "signal": "like"}).raise_for_status()
            stop, answered = threading.Event(), []
            deleted_at: list[float] = []

            def write(n: int) -> None:
                with _client(url, APP) as own:
                    i = 0
                    while not stop.is_set():
                        i += 1
                        sent = time.monotonic()
                        r = own.post("/v1/feedback", json={"user_id": user, "item_id": items[(20 + n * 997 + i) % len(items)],
                                                           "signal": "like"})
                        answered.append((sent, r.status_code))

            threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
            for t in threads:
                t.start()
            time.sleep(0.5)
            r = admin.delete(f"/v1/users/shop:{user}")
            deleted_at.append(time.monotonic())
            time.sleep(1.0)
            stop.set()
            for t in threads:
                t.join()
            left = len(agent.recommender.store.user_interactions(f"shop:{user}"))
            accepted_after = sum(code == 200 for sent, code in answered if sent > deleted_at[0])  # sent after it answered
            rows.append({"trial": trial + 1, "delete_status": r.status_code,
                         "deleted": r.json().get("deleted", {}).get("interactions") if r.status_code == 200 else None,
                         "writes": len(answered), "accepted_after_delete": accepted_after, "rows_left": left,
                         "registered_after": agent.recommender.store.has_user(f"shop:{user}")})
    agent.close()
    return {"trials": rows, "writers": writers,
            "passed": all(r["rows_left"] == 0 and r["accepted_after_delete"] == 0 and not r["registered_after"]
                          for r in rows)}


# -- fair use of the model ----------------------------------------------------------------------------
def fairness(settings: Settings, scratch: Path, model: str, greedy_streams: int = 12) -> dict:
    data = scratch / "fairness"
    shutil.copytree(settings.data_dir, data)
    agent = ChatSessions(settings=settings.model_copy(update={"data_dir": data, "model": model}), use_llm=True)
    user = _some_user(agent)
    keys = [f"greedy={APP}", "polite=polite-key"]
    with BackgroundServer(create_app(agent, api_key=ADMIN, app_keys=keys, rate_limit=None)) as url, \
            _client(url, ADMIN) as admin, _client(url, "polite-key") as polite:
        admin.put(f"/v1/users/{user}/grants/polite").raise_for_status()
        asked = {"user_id": user, "k": 5}
        polite.post("/v1/recommend", json=asked).raise_for_status()  # the model loaded and warm
        t0 = time.perf_counter()
        polite.post("/v1/recommend", json=asked).raise_for_status()
        alone_s = time.perf_counter() - t0
        statuses: list[int | str] = []

        def hang_up() -> None:  # open a streamed chat and drop it after a second, answered or not
            status: int | str = "dropped before an answer"
            try:
                with _client(url, APP) as own, own.stream("POST", "/v1/chat", timeout=1.0,
                                                          json={"message": "comedies", "stream": True}) as r:
                    status = r.status_code
                    if r.status_code == 200:
                        next(r.iter_lines(), None)
            except httpx.TimeoutException:
                pass
            statuses.append(status)

        greedy = [threading.Thread(target=hang_up) for _ in range(greedy_streams)]
        for t in greedy:
            t.start()
        time.sleep(0.5)
        t0 = time.perf_counter()
        r = polite.post("/v1/recommend", json=asked)
        shared_s = time.perf_counter() - t0
        for t in greedy:
            t.join()
    agent.close()
    return {"model": model, "greedy_streams": greedy_streams, "greedy_statuses": dict(Counter(map(str, statuses))),
            "polite_status": r.status_code, "polite_alone_s": round(alone_s, 1), "polite_shared_s": round(shared_s, 1),
            "passed": r.status_code == 200 and shared_s <= 3 * alone_s + 5}
