"""A search space, described as data (YAML beside the suites) and validated with errors that
say what to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from evals.suite import Name, Strict, read_suite_file

MetricWeights = dict[str, float]


class Constraint(Strict):
    """A per-user measure whose median over the validation users must stay within bounds,
    e.g. `{measure: list_s, p50_max: 12}` (seconds per explained list)."""
    measure: str
    p50_max: float | None = None
    p50_min: float | None = None


class Objective(Strict):
    kind: Literal["explain", "ranking", "chat"]
    metric: str | MetricWeights = Field(
        ..., description="a per-user measure, or weights of several, e.g. {llm_share: 1, facts_over_template: 0.5}")
    higher_is_better: bool = True
    constraints: list[Constraint] = Field(default_factory=list)
    k: int = Field(10, ge=1, le=20, description="explain: items per list")
    suite: Path | None = Field(None, description="ranking: the suite whose data, split and sampled protocol are used; "
                               "chat: the simulated-conversation suite")
    model: str | None = Field(None, description="a bundled model name, or the id served at base_url; none = default")
    base_url: str | None = Field(None, pattern=r"^https?://")

    @model_validator(mode="after")
    def _needs_a_suite(self):
        if self.kind != "explain" and self.suite is None:
            raise ValueError(f"a {self.kind} objective names `suite:` (a "
                             + ("sampled-protocol suite YAML)" if self.kind == "ranking" else "chat suite YAML)"))
        return self

    def weights(self) -> MetricWeights:
        return {self.metric: 1.0} if isinstance(self.metric, str) else dict(self.metric)


class Rewrite(Strict):
    kind: Literal["rewrite"]
    n: int = Field(3, ge=1, le=20, description="rewrites proposed per round")
    worst: int = Field(4, ge=1, le=20, description="worst-scoring cases shown to the proposer")
    model: str | None = Field(None, description="the proposer: a bundled model name or an id at base_url")
    base_url: str | None = Field(None, pattern=r"^https?://")
    temperature: float = Field(0.7, ge=0.0, le=2.0)


class Demos(Strict):
    kind: Literal["demos"]
    n: int = Field(2, ge=1, le=6, description="examples per candidate")
    sets: int = Field(1, ge=1, le=6, description="candidates, each with another set of examples")


class Blocks(Strict):
    kind: Literal["blocks"]
    drop: bool = Field(True, description="a candidate without each optional input block")
    move: bool = Field(True, description="a candidate with each optional input block moved one place up")


class Constraints(Strict):
    kind: Literal["constraints"]
    options: list[str] = Field(..., min_length=1, description="sentences; each gives a candidate with it added")


Operator = Annotated[Union[Rewrite, Demos, Blocks, Constraints], Field(discriminator="kind")]


class Users(Strict):
    """Disjoint seeded samples: demos come from training users, selection uses validation users
    only, and the winner is confirmed on test users never seen in the search."""
    train: int = Field(8, ge=0, le=500)
    validation: int = Field(24, ge=2, le=2000)
    test: int = Field(40, ge=2, le=2000)
    seed: int = 7


class Selection(Strict):
    """Successive halving: every candidate is scored on the first `rungs[0]` validation users,
    the better `keep` share goes on to the next rung, and so on; the last rung is all of them."""
    rungs: list[int] = Field(default_factory=lambda: [6, 12], description="users per rung, growing")
    keep: float = Field(0.5, gt=0.0, lt=1.0)
    rounds: int = Field(1, ge=1, le=5, description="rounds; each proposes new candidates from the best so far")

    @model_validator(mode="after")
    def _growing(self):
        if not self.rungs or any(b <= a for a, b in zip(self.rungs, self.rungs[1:])) or self.rungs[0] < 2:
            raise ValueError("rungs are growing user counts, the first at least 2, e.g. [6, 12]")
        return self


class Budget(Strict):
    calls: int = Field(2000, ge=1, description="live LLM calls (cache hits are free)")
    minutes: float = Field(110.0, gt=0.0)


class Space(Strict):
    name: Name
    description: str = ""
    base: str = Field(..., pattern=r"^[a-z0-9-]+@v\d+$", description="the incumbent prompt, FAMILY@vN")
    objective: Objective
    operators: list[Operator] = Field(..., min_length=1)
    users: Users = Field(default_factory=Users)
    selection: Selection = Field(default_factory=Selection)
    budget: Budget = Field(default_factory=Budget)

    @model_validator(mode="after")
    def _rungs_fit(self):
        if self.selection.rungs[-1] > self.users.validation:
            raise ValueError(f"the last rung ({self.selection.rungs[-1]} users) exceeds users.validation "
                             f"({self.users.validation})")
        return self

    @property
    def family(self) -> str:
        return self.base.partition("@")[0]


def load_space(path: Path) -> Space:
    """Read and validate a search space; a ranking objective's suite path is made absolute
    (relative to the space file)."""
    space = read_suite_file(path, Space)
    suite = space.objective.suite
    if suite is not None and not suite.is_absolute():
        space.objective.suite = (Path(path).resolve().parent / suite).resolve()
    return space
