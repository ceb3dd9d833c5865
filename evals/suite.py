"""An eval suite, described as data (YAML) and validated with errors that say what to fix."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Literal, Union

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from agent.config import DEFAULT_EMBEDDED_MODEL
from agent.errors import InputError

BASELINE_KINDS = ("random", "popularity", "itemknn", "semantic", "ease", "als", "bpr", "bm25", "sequential", "pipeline")
CLASSIC_KINDS = ("ease", "als", "bpr", "bm25", "sequential")


def _folder_safe(name: str) -> str:
    # suite and variant names become folder and file names (runs/SUITE, sessions-VARIANT.sqlite)
    if not re.fullmatch(r"[A-Za-z0-9_.\-]{1,40}", name) or not name.strip("."):
        raise ValueError(f"{name!r}: use 1-40 letters, digits, '_', '.' or '-', not only dots (it names a folder)")
    return name


Name = Annotated[str, AfterValidator(_folder_safe)]


def run_folder(name: str, suffix: str = "") -> Path:
    """The default run folder, runs/NAME+SUFFIX; checked again, so a suite built without
    validation (model_construct, assignment) cannot leave runs/ either."""
    try:
        return Path("runs") / (_folder_safe(name) + suffix)
    except ValueError as e:
        raise InputError(f"suite name {e}") from None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dataset(Strict):
    """The MovieLens preset (`preset: movielens`, `path: DIR`) or the generic files of
    `recagent ingest` (`items`, `interactions`, optional column `map`). Paths are relative to
    the suite file."""

    preset: Literal["movielens"] | None = None
    path: Path | None = None
    items: Path | None = None
    interactions: Path | None = None
    map: dict[str, str] = Field(default_factory=dict, description="file column -> field, as `ingest --map`")

    @model_validator(mode="after")
    def _one_kind(self):
        from agent.ingest import parse_column_map

        try:
            parse_column_map([f"{k}={v}" for k, v in self.map.items()])
        except InputError as e:
            raise ValueError(str(e).replace("--map", "map entry")) from None
        if self.preset and not self.path:
            raise ValueError("a preset needs `path:` (the dataset directory)")
        if not self.preset and not (self.items and self.interactions):
            raise ValueError("give `preset: movielens` with `path:`, or both `items:` and `interactions:`")
        return self


class Split(Strict):
    """Temporal leave-one-out: each user's last positive interaction is held out."""

    positive_rating: float = Field(4.0, description="ratings at or above this are positive; no rating = positive")
    min_history: int = Field(5, ge=1, description="users with fewer earlier interactions are not evaluated")


class Users(Strict):
    n: int = Field(100, ge=1)
    seed: int = 0


class Protocol(Strict):
    kind: Literal["sampled", "retrieved"] = "sampled"
    negatives: int = Field(19, ge=1, le=999, description="sampled: random unseen items beside the held-out one")
    candidates: int = Field(20, ge=1, le=100, description="retrieved: the pipeline's candidate count")


NEWER_FIELDS = ("llm_scoring", "orders", "weights", "validation_users", "pool", "llm_top", "compare_to", "training")


class Variant(Strict):
    name: Name
    kind: Literal["random", "popularity", "itemknn", "semantic", "ease", "als", "bpr", "bm25", "sequential", "pipeline",
                  "llm", "fusion", "ltr"] = "llm"
    prompt: str = Field("rank@v1", description="llm: the ranking prompt; fusion: the scoring prompt "
                        "(default pick@v1 for labels, judge@v1 for pointwise)")
    model: str | None = Field(None, description="a bundled model name (embedded server) or the id served at base_url")
    base_url: str | None = Field(None, pattern=r"^https?://", description="an OpenAI-compatible endpoint; none = the embedded server")
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    seed: int | None = 0
    candidate_order: Literal["pipeline", "shuffled"] = Field(
        "pipeline", description="order the LLM sees: the pipeline's fused order, or shuffled")
    diversity: float = Field(0.0, ge=0.0, le=1.0, description="MMR weight after ranking (0 = off)")
    # -- fusion variants (kind: fusion) --
    llm_scoring: Literal["none", "labels", "pointwise"] = Field(
        "none", description="fusion: the LLM signal, from candidate-letter logprobs or per-item yes/no logprobs")
    orders: int = Field(1, ge=1, le=8, description="fusion, labels: candidate orders scored and averaged "
                        "(2 = also reversed: cancels position bias)")
    weights: dict[str, float] | None = Field(None, description="fusion: fixed weights of collaborative, semantic, "
                                             "popularity, llm; none = fitted on the validation split")
    validation_users: int = Field(100, ge=5, le=5000, description="fusion, ltr: users of the validation split")
    pool: int = Field(100, ge=10, le=1000, description="fusion, ltr, retrieved protocol: items taken from each source")
    llm_top: int = Field(20, ge=2, le=26, description="fusion: how many of the pool's best the LLM scores")
    compare_to: str | None = Field(None, description="also report paired differences against this variant")
    training: Literal["validation", "workspace"] = Field(
        "validation", description="ltr: lists from the validation split's pools (evals/ltr.py), or the product's own "
                                  "fit (agent/pipeline/learned_fit.py: its requests replayed over the training rows)")

    @model_validator(mode="after")
    def _fusion_defaults(self):
        from agent.pipeline.order import FEATURES
        from evals.llm_scoring import DEFAULT_PROMPTS

        if self.kind in ("fusion", "ltr") and "prompt" not in self.model_fields_set:
            self.prompt = DEFAULT_PROMPTS.get(self.llm_scoring, "pick@v1")
        if self.weights is not None and set(self.weights) - set(FEATURES):
            raise ValueError(f"unknown fusion weights {sorted(set(self.weights) - set(FEATURES))}; "
                             f"known: {', '.join(FEATURES)}")
        if self.weights is not None and not any(self.weights.values()):
            raise ValueError("fusion weights are all zero: give at least one signal a weight")
        if self.kind == "ltr" and (self.llm_scoring == "pointwise" or self.weights is not None):
            raise ValueError("an ltr variant learns its own weights, with the LLM's label scores at most "
                             "(llm_scoring: labels): leave out weights and pointwise scoring")
        if self.training == "workspace" and (self.kind != "ltr" or self.llm_scoring != "none"):
            raise ValueError("training: workspace is the product's ranker fit: an ltr variant without llm_scoring")
        if self.kind in ("fusion", "ltr") and self.llm_scoring != "none" and self.temperature != 0.0:
            raise ValueError("fusion scores come from logprobs of a greedy call: leave temperature at 0")
        return self

    def fingerprint(self) -> str:
        """Rows computed under another configuration of a variant are not reused."""
        payload = self.model_dump(mode="json")
        for name in NEWER_FIELDS:  # at their defaults, fields added later leave older rows valid
            if payload[name] == Variant.model_fields[name].default:
                del payload[name]
        return hashlib.sha256(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()[:16]


class Enrich(Strict):
    """Item texts written by an LLM (`recagent enrich`) for the run's semantic index: the
    `limit` thin items most rated in the training rows. Every variant of the run searches
    the enriched index; compare the run with one without `enrich` (`recagent eval compare`)."""
    model: str = Field(DEFAULT_EMBEDDED_MODEL, description="a bundled model name (embedded server) or the id served at base_url")
    base_url: str | None = Field(None, pattern=r"^https?://")
    prompt: str = "enrich@v1"
    limit: int = Field(500, ge=1, le=100_000)


class Pricing(Strict):
    prompt_per_1k: float = Field(0.0, ge=0)
    completion_per_1k: float = Field(0.0, ge=0)


class Suite(Strict):
    name: Name
    description: str = ""
    dataset: Dataset
    split: Split = Field(default_factory=Split)
    users: Users = Field(default_factory=Users)
    protocol: Protocol = Field(default_factory=Protocol)
    k: list[int] = Field(default_factory=lambda: [1, 5, 10])
    variants: list[Variant] = Field(default_factory=list)
    baseline: str = Field("ease", description="the variant every other is compared with (paired); default: "
                                              "EASE, the strongest classic model measured")
    references: list[str] = Field(default_factory=lambda: ["itemknn"],
                                  description="variants every variant is also compared with (paired)")
    pricing: Pricing = Field(default_factory=Pricing)
    enrich: Enrich | None = Field(None, description="search an index with LLM-written text for thin items")
    concurrency: Union[int, Literal["auto"]] = "auto"
    bootstrap_resamples: int = Field(2000, ge=100, le=100_000)

    @model_validator(mode="after")
    def _check(self):
        # the baselines are always there, unless the suite redefines their names
        names = {v.name for v in self.variants}
        self.variants = [Variant(name=kind, kind=kind) for kind in BASELINE_KINDS if kind not in names] + self.variants
        seen = set()
        for v in self.variants:
            if v.name in seen:
                raise ValueError(f"variant name {v.name!r} is used twice")
            seen.add(v.name)
        for v in self.variants:
            if v.compare_to is not None and v.compare_to not in seen:
                raise ValueError(f"variant {v.name!r}: compare_to {v.compare_to!r} is not a variant")
        if self.baseline not in seen:
            raise ValueError(f"baseline {self.baseline!r} is not a variant; variants: {', '.join(sorted(seen))}")
        unknown = [r for r in self.references if r not in seen]
        if unknown:
            raise ValueError(f"references {unknown} are not variants; variants: {', '.join(sorted(seen))}")
        if not self.k or any(k < 1 for k in self.k):
            raise ValueError("k must be a non-empty list of positive cut-offs, e.g. [1, 5, 10]")
        self.k = sorted(set(self.k))
        if self.protocol.kind == "retrieved" and self.max_k > self.protocol.candidates:
            raise ValueError(f"the largest k ({self.max_k}) exceeds protocol.candidates ({self.protocol.candidates})")
        if self.protocol.kind == "sampled" and self.max_k > self.protocol.negatives + 1:
            raise ValueError(f"the largest k ({self.max_k}) exceeds the sampled list (negatives + 1)")
        return self

    @property
    def max_k(self) -> int:
        return max(self.k)

    def data_fingerprint(self) -> str:
        """What the candidate file depends on: data, split, users' seed and protocol."""
        payload = {"dataset": self.dataset.model_dump(mode="json"), "split": self.split.model_dump(),
                   "seed": self.users.seed, "protocol": self.protocol.model_dump()}
        if self.enrich is not None:  # the retrieved protocol's candidates come from the enriched index
            payload["enrich"] = self.enrich.model_dump()
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def read_suite_file(path: Path, model: type[BaseModel]):
    """A YAML suite file validated as `model`, its dataset paths made absolute (relative to
    the file); errors name the file and the field."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"suite file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise InputError(f"{path} is not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a mapping with at least `name:` "
                         f"({'and `dataset:` ' if 'dataset' in model.model_fields else ''}see evals/suites/)")
    try:
        suite = model.model_validate(raw)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "suite"
        raise InputError(f"{path}: {where}: {first['msg'].removeprefix('Value error, ')}") from None
    base, dataset = path.resolve().parent, getattr(suite, "dataset", None)
    for field in ("path", "items", "interactions") if dataset is not None else ():
        value = getattr(dataset, field)
        if value is not None and not value.is_absolute():
            setattr(dataset, field, (base / value).resolve())
    return suite


def load_suite(path: Path, users: int | None = None, variants: list[str] | None = None) -> Suite:
    """Read and validate a suite; `users` and `variants` override its sample size and narrow
    its variants (the baseline and the references are always kept)."""
    suite = read_suite_file(path, Suite)
    if users is not None:
        if users < 1:
            raise InputError("--users must be at least 1")
        suite.users.n = users
    if variants:
        known = {v.name for v in suite.variants}
        unknown = [v for v in variants if v not in known]
        if unknown:
            raise InputError(f"unknown variant(s) {', '.join(unknown)}; the suite has: {', '.join(sorted(known))}")
        keep = set(variants) | {suite.baseline} | set(suite.references)
        keep |= {v.compare_to for v in suite.variants if v.name in keep and v.compare_to}
        suite.variants = [v for v in suite.variants if v.name in keep]
    return suite
