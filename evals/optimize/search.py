"""The search: candidates from the operators, successive halving on validation users within a
budget, confirmation on test users. Every score is kept in the run folder (scores.jsonl, per
template body and user) and every LLM answer in the response cache, so a rerun makes no calls
and a killed run resumes where it stopped."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agent.errors import AgentError, InputError, PromptError
from evals.optimize import edits
from evals.optimize.objectives import Scored
from evals.optimize.space import Space
from evals.split import sample_users
from evals.stats import paired_comparison
from prompts.registry import PROMPTS_DIR, PromptRegistry

PROPOSE_PROMPT = "propose@v1"
PROPOSE_SCHEMA = {"type": "object", "properties": {"instructions": {"type": "string", "minLength": 20,
                                                                       "maxLength": edits.MAX_INSTRUCTIONS}},
                  "required": ["instructions"], "additionalProperties": False}


class BudgetSpent(Exception):
    """The search stops: its LLM calls or minutes are used up."""


@dataclass
class Candidate:
    ref: str
    parent: str
    operator: str
    detail: str
    sha: str
    round: int
    error: str | None = None  # why it could not be scored (then it is out)


@dataclass
class UserSplit:
    train: list[str]
    validation: list[str]
    test: list[str]


def split_users(pool: list[str], space: Space) -> UserSplit:
    u = space.users
    need = u.train + u.validation + u.test
    if len(pool) < need:
        raise InputError(f"the objective has {len(pool)} users; the space asks for {need} "
                         f"(train {u.train} + validation {u.validation} + test {u.test}): lower them")
    chosen = sample_users(pool, need, u.seed)
    return UserSplit(chosen[:u.train], chosen[u.train:u.train + u.validation], chosen[u.train + u.validation:])


class ScoreBook:
    """scores.jsonl: one line per (template body, user) scored, appended as it is scored."""

    def __init__(self, path: Path):
        self.path = path
        self.rows: dict[tuple[str, str], Scored] = {}
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                    self.rows[r["sha"], r["user"]] = Scored(r["value"], r["measures"], r["failures"])
                except (ValueError, KeyError):
                    continue  # a line cut by a kill: that case is scored again
        self.new = 0

    def get(self, sha: str, user: str) -> Scored | None:
        return self.rows.get((sha, user))

    def put(self, sha: str, user: str, scored: Scored) -> None:
        self.rows[sha, user] = scored
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"sha": sha, "user": user, **asdict(scored)}) + "\n")
        self.new += 1


class Optimizer:
    def __init__(self, space: Space, out: Path, objective, registry: PromptRegistry, proposer=None,
                 console: Console | None = None):
        """`objective`: evals/optimize/objectives.py; `registry` reads shipped prompts and this run's
        candidates (out/prompts); `proposer`: the rewrite operator's backend (default: the objective's)."""
        self.space, self.out, self.objective, self.registry = space, Path(out), objective, registry
        self.proposer = proposer or objective.backend
        self.console = console or Console(stderr=True)
        self.book = ScoreBook(self.out / "scores.jsonl")
        self.candidates: dict[str, Candidate] = {}  # by ref
        self.trajectory: list[dict] = []
        self.started = time.monotonic()
        self.manifest_path = self.out / "candidates.json"
        self._manifest: dict[str, str] = (json.loads(self.manifest_path.read_text())
                                          if self.manifest_path.exists() else {})  # body sha -> ref

    # -- budget ------------------------------------------------------------------------------------
    def calls(self) -> int:
        backends = {id(b): b for b in (self.objective.backend, self.proposer)}
        return sum(getattr(b, "live_calls", 0) for b in backends.values())

    def _check_budget(self) -> None:
        b = self.space.budget
        if self.calls() >= b.calls:
            raise BudgetSpent(f"{b.calls} LLM calls")
        if time.monotonic() - self.started >= b.minutes * 60:
            raise BudgetSpent(f"{b.minutes:g} minutes")

    # -- scoring -----------------------------------------------------------------------------------
    def score(self, ref: str, user: str) -> Scored:
        sha = edits.body_sha(self.registry.source(ref))
        got = self.book.get(sha, user)
        if got is None:
            self._check_budget()
            got = self.objective.score(ref, user)
            self.book.put(sha, user, got)
        return got

    def mean(self, ref: str, users: list[str]) -> float:
        values = [self.score(ref, u).value for u in users]
        return float(np.mean(values)) * (1 if self.space.objective.higher_is_better else -1)

    def holds_constraints(self, ref: str, users: list[str]) -> list[str]:
        """What the candidate breaks, e.g. ["list_s p50 14.2 > 12"] (scores are already there). A
        measure with no value (list times of lists answered from the response cache) is not held
        against it; `constraint_p50` says how many lists it was measured on."""
        broken = []
        for c in self.space.objective.constraints:
            p50, measured = self.constraint_p50(ref, users, c.measure)
            if not measured:
                continue
            if c.p50_max is not None and not p50 <= c.p50_max:
                broken.append(f"{c.measure} p50 {p50:.2f} > {c.p50_max:g}")
            if c.p50_min is not None and not p50 >= c.p50_min:
                broken.append(f"{c.measure} p50 {p50:.2f} < {c.p50_min:g}")
        return broken

    def constraint_p50(self, ref: str, users: list[str], measure: str) -> tuple[float, int]:
        """The median of `measure` over the users where it was measured, and how many those were."""
        values = [v for u in users if not math.isnan(v := self.score(ref, u).measures.get(measure, math.nan))]
        return (float(np.median(values)) if values else math.nan), len(values)

    # -- candidates --------------------------------------------------------------------------------
    def _next_version(self, family: str) -> int:
        versions = [int(p.stem[1:]) for d in self.registry.directories for p in (d / family).glob("v*.j2")
                    if p.stem[1:].isdigit()]
        return max(versions, default=0) + 1

    def add(self, edit: edits.Edit, parent: str, round_: int) -> Candidate | None:
        """Write the edit as the next version of the family (the same version again on a rerun)."""
        sha = edits.body_sha(edit.body)
        if sha in {c.sha for c in self.candidates.values()} or sha == edits.body_sha(self.registry.source(parent)):
            return None
        try:
            self.registry.env.parse(edit.body)
        except Exception as e:  # a proposal that breaks the template is no candidate
            self.console.print(f"[yellow]skipped a {edit.operator} candidate: it does not parse ({e})[/yellow]")
            return None
        family = self.space.family
        ref = self._manifest.get(sha) or f"{family}@v{self._next_version(family)}"
        path = self.out / "prompts" / family / f"{ref.partition('@')[2]}.j2"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(edits.header(parent, edit.operator, edit.detail) + edit.body, encoding="utf-8")
        self._manifest[sha] = ref
        self.manifest_path.write_text(json.dumps(self._manifest, indent=1))
        cand = Candidate(ref, parent, edit.operator, edit.detail, sha, round_)
        self.candidates[ref] = cand
        return cand

    def propose(self, parent: str, users: UserSplit, round_: int) -> list[Candidate]:
        body = edits.body_of(self.registry.source(parent))
        made: list[edits.Edit] = []
        for op in self.space.operators:
            if op.kind == "blocks":
                made += edits.block_edits(body, op.drop, op.move)
            elif op.kind == "constraints":
                made += [edits.constraint_edit(body, s) for s in op.options if s.strip() not in body]
            elif op.kind == "demos":
                for s in range(op.sets):
                    demos = self.objective.demos(parent, users.train, op.n, offset=s)
                    if demos:
                        made.append(edits.demos_edit(body, demos, f"{len(demos)} examples from training users (set {s + 1})"))
            elif op.kind == "rewrite":
                made += self.rewrites(parent, body, op, users, round_)
        return [c for e in made if (c := self.add(e, parent, round_)) is not None]

    def rewrites(self, parent: str, body: str, op, users: UserSplit, round_: int) -> list[edits.Edit]:
        """Instructions rewritten by the proposer, shown the parent's worst validation cases
        (of the first rung) and what went wrong in each."""
        from agent.backends.base import ChatRequest
        from prompts.inputs import ProposeInputs

        first = users.validation[:self.space.selection.rungs[0]]
        worst = sorted(first, key=lambda u: self.score(parent, u).value)[:op.worst]
        cases = [f for u in worst for f in self.score(parent, u).failures[:2]] or ["(no failure was recorded)"]
        inputs = ProposeInputs(instructions=edits.instructions(body), goal=self.objective.goal(), cases=cases[:8])
        rendered = PromptRegistry().render(PROPOSE_PROMPT, inputs)
        out = []
        for i in range(op.n):
            self._check_budget()
            request = ChatRequest(messages=rendered.messages, max_tokens=400, temperature=op.temperature,
                                  seed=1000 * round_ + i, response_schema=PROPOSE_SCHEMA)
            try:
                answer = json.loads(self.proposer.complete(request).content)["instructions"]
            except (AgentError, ValueError, KeyError, TypeError) as e:
                self.console.print(f"[yellow]rewrite {i + 1}: no usable proposal ({e})[/yellow]")
                continue
            copied = edits.copied_from(str(answer), [inputs.goal, *inputs.cases])
            if copied:
                self.console.print(f"[yellow]rewrite {i + 1}: refused, {copied}[/yellow]")
                continue
            edit = edits.rewrite_edit(body, str(answer), f"proposal {i + 1} of round {round_}, from the worst "
                                                        f"{len(worst)} validation cases")
            if edit is not None:
                out.append(edit)
        return out

    # -- selection ---------------------------------------------------------------------------------
    def halving(self, pool: list[Candidate], users: UserSplit, progress, task) -> list[Candidate]:
        """Successive halving over the rungs; returns the candidates scored on all validation users."""
        sel = self.space.selection
        alive = list(pool)
        for n_rung, rung in enumerate(sel.rungs):
            batch = users.validation[:rung]
            scored = []
            for cand in alive + [None]:  # None: the incumbent, scored beside them on every rung
                ref = cand.ref if cand else self.space.base
                try:
                    value = self.mean(ref, batch)
                except PromptError as e:
                    if cand is None:
                        raise
                    cand.error = str(e)
                    continue
                finally:
                    progress.update(task, advance=rung if cand else 0, calls=self.calls())
                if cand is not None:
                    scored.append((value, cand))
                self._record(ref, rung, value)
                progress.update(task, best=self.best_line())
            scored.sort(key=lambda x: -x[0])
            last = n_rung == len(sel.rungs) - 1
            keep = len(scored) if last else max(1, math.ceil(len(scored) * sel.keep))
            dropped = scored[keep:]
            progress.update(task, advance=sum(r - rung for r in sel.rungs[n_rung + 1:]) * len(dropped))
            alive = [c for _, c in scored[:keep]]
        return alive

    def _record(self, ref: str, rung: int, value: float) -> None:
        sign = 1 if self.space.objective.higher_is_better else -1
        self.trajectory.append({"calls": self.calls(), "seconds": round(time.monotonic() - self.started, 1),
                                "ref": ref, "users": rung, "mean": round(sign * value, 6)})

    def best_line(self) -> str:
        last = max((t["users"] for t in self.trajectory), default=0)
        at = [t for t in self.trajectory if t["users"] == last]
        sign = 1 if self.space.objective.higher_is_better else -1
        top = max(at, key=lambda t: sign * t["mean"], default=None)
        return f"best {top['ref']} {top['mean']:.3f} on {last} users" if top else ""

    # -- the run -----------------------------------------------------------------------------------
    def run(self) -> dict:
        space = self.space
        self.out.mkdir(parents=True, exist_ok=True)
        self.registry.source(space.base)  # an unknown base fails before any work
        users = split_users(self.objective.users(), space)
        stopped = None
        incumbent, best = space.base, space.base
        finalists: list[Candidate] = []
        sel = space.selection
        with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[calls]} calls · {task.fields[best]}"), TimeElapsedColumn(),
                      console=self.console) as progress:
            task = progress.add_task("proposing candidates", total=None, calls=self.calls(), best="")
            try:
                for round_ in range(1, sel.rounds + 1):
                    progress.update(task, description=f"round {round_}: proposing from {best}")
                    pool = self.propose(best, users, round_)
                    if not pool:
                        self.console.print(f"round {round_}: the operators made no new candidate")
                        break
                    total = len(pool) * sel.rungs[-1]  # an upper bound: halving drops some
                    progress.update(task, description=f"round {round_}: {len(pool)} candidates", total=total,
                                    completed=0)
                    finalists += self.halving(pool, users, progress, task)
                    best = self.select(finalists, users.validation) or best
            except BudgetSpent as e:
                stopped = str(e)
                self.console.print(f"[yellow]budget spent ({stopped}): selecting among the candidates "
                                   f"scored on all {len(users.validation)} validation users[/yellow]")
                finalists = [c for c in self.candidates.values()
                             if all(self.book.get(c.sha, u) for u in users.validation) and not c.error]
                best = self.select(finalists, users.validation) or incumbent
        result = self.confirm(best, incumbent, users, stopped)
        self.write(result, users)
        return result

    def select(self, finalists: list[Candidate], validation: list[str]) -> str | None:
        """The best finalist on all validation users that holds the constraints."""
        ok = [c for c in finalists if not c.error and not self.holds_constraints(c.ref, validation)]
        return max(ok, key=lambda c: self.mean(c.ref, validation)).ref if ok else None

    def confirm(self, best: str, incumbent: str, users: UserSplit, stopped: str | None) -> dict:
        """The winner against the incumbent: validation means (selection) and test users (confirmation)."""
        sign = 1 if self.space.objective.higher_is_better else -1
        out = {"space": self.space.name, "base": incumbent, "winner": best, "stopped": stopped, "adopt": False}
        try:
            val = {r: sign * self.mean(r, users.validation) for r in {best, incumbent}}
            out["validation"] = val
            if best == incumbent or sign * (val[best] - val[incumbent]) <= 0:
                out["verdict"] = (f"no candidate beat the incumbent {incumbent} on the {len(users.validation)} "
                                  f"validation users" + (f" (the best, {best}: {val[best]:.3f} vs {val[incumbent]:.3f})"
                                                         if best != incumbent else ""))
                return out
            win = np.array([self.score(best, u).value for u in users.test])
            inc = np.array([self.score(incumbent, u).value for u in users.test])
        except BudgetSpent as e:
            out["verdict"] = (f"the budget ({e}) ran out before the incumbent and the winner were scored on all "
                              "validation and test users: rerun with a larger budget (the scores so far are kept)")
            return out
        finally:
            out.update(calls=self.calls(), scored_now=self.book.new)
        c = paired_comparison(sign * win, sign * inc)
        gap = sign * (val[best] - val[incumbent]) - (c["diff"] or 0.0)
        broken = self.holds_constraints(best, users.test)
        out["constraints"] = {k.measure: {"limit": {"p50_max": k.p50_max, "p50_min": k.p50_min},
                                          **{who: dict(zip(("p50", "measured"), self.constraint_p50(ref, users.test, k.measure)))
                                             for who, ref in (("winner", best), ("incumbent", incumbent))}}
                              for k in self.space.objective.constraints}
        adopt = c["ci_low"] is not None and c["ci_low"] > 0 and not broken
        out.update(test={"winner": float(np.mean(win)), "incumbent": float(np.mean(inc)), **c},
                   selection_gap=round(gap, 6), adopt=adopt, calls=self.calls(), scored_now=self.book.new)
        if broken:
            out["verdict"] = (f"{best} breaks a constraint on the test users ({'; '.join(broken)}); keep {incumbent}")
            return out
        out["verdict"] = (f"{best} beats {incumbent} on {len(users.test)} test users by {c['diff']:+.3f} "
                          f"(95% CI {c['ci_low']:+.3f} to {c['ci_high']:+.3f}, p {c['p_value']:.3f}): adopt it"
                          if adopt else
                          f"{best} won the search but not the confirmation: {c['diff']:+.3f} on {len(users.test)} test "
                          f"users (95% CI {c['ci_low']:+.3f} to {c['ci_high']:+.3f}, p {c['p_value']:.3f}); "
                          f"keep {incumbent}")
        return out

    def write(self, result: dict, users: UserSplit) -> None:
        from evals.optimize.report import write_report

        table = []
        sign = 1 if self.space.objective.higher_is_better else -1

        def rung_means(sha: str) -> dict[str, float]:
            """The mean on each rung's users that the candidate was scored on (the rung it reached)."""
            means = {}
            for n in self.space.selection.rungs:
                got = [self.book.get(sha, u) for u in users.validation[:n]]
                if all(got):
                    means[str(n)] = sign * float(np.mean([g.value for g in got]))
            return means

        result["incumbent_rungs"] = rung_means(edits.body_sha(self.registry.source(result["base"])))
        for c in self.candidates.values():
            done = [u for u in users.validation if self.book.get(c.sha, u)]
            mean = sign * float(np.mean([self.book.get(c.sha, u).value for u in done])) if done else None
            table.append({**asdict(c), "validation_users": len(done), "validation_mean": mean,
                          "rungs": rung_means(c.sha)})
            scores = (f"validation {mean:.3f} on {len(done)} users" if mean is not None else "not scored")
            if c.ref == result["winner"] and "test" in result:
                scores += f"; test {result['test']['winner']:.3f} vs {result['test']['incumbent']:.3f} ({result['base']})"
            path = self.out / "prompts" / self.space.family / f"{c.ref.partition('@')[2]}.j2"
            path.write_text(edits.header(c.parent, c.operator, c.detail, scores) +
                            edits.body_of(path.read_text(encoding="utf-8")), encoding="utf-8")
        result["candidates"] = table
        result["users"] = asdict(users)
        result["trajectory"] = self.trajectory
        (self.out / "result.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
        write_report(self.out, self.space, result)


def adopt(out: Path) -> Path:
    """Copy a confirmed winner into prompts/ as the family's next version; refuse an unconfirmed one."""
    result_path = Path(out) / "result.json"
    if not result_path.exists():
        raise InputError(f"{out} holds no finished optimisation (no result.json): run `recagent eval optimize` first")
    result = json.loads(result_path.read_text())
    if not result.get("adopt"):
        raise InputError(f"{result['winner']} is not confirmed: {result['verdict']}")
    family, _, version = result["winner"].partition("@")
    src = Path(out) / "prompts" / family / f"{version}.j2"
    dest = PROMPTS_DIR / family / f"{version}.j2"
    if dest.exists():
        raise InputError(f"{dest} exists already: the shipped prompts moved on since this run; rerun the search")
    dest.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    return dest
