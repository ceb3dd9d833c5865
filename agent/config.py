"""Settings from arguments, then environment variables, then defaults."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import platformdirs
import psutil
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDED_MODEL = "qwen2.5-coder-0.5b-q4_0"
# Fitted by `recagent eval fit evals/suites/ml-latest-small-fusion-retrieved.yaml --variant fusion`
# (300 validation users from the training period, full-ranking protocol).
DEFAULT_FUSION_WEIGHTS = {"collaborative": 0.25, "recent": 0.1, "semantic": 0.25, "popularity": 0.0, "ease": 0.1,
                          "sequential": 0.1}


@lru_cache(maxsize=1)
def free_cores(sample_s: float = 0.25) -> int:
    """Cores not busy with other work when the process starts (at least one): the larger of the
    1-minute load average and the cores in use over `sample_s` now. The load average alone missed
    a process started seconds before (its share had not risen yet): llama.cpp then took both cores,
    fought it for one and wrote a list in 47 s instead of 28 (docs/explanations.md)."""
    cores = os.cpu_count() or 2
    try:
        busy = os.getloadavg()[0]
    except OSError:  # no load average on this platform
        busy = 0.0
    busy = max(busy, psutil.cpu_percent(interval=sample_s) / 100 * cores)
    return max(1, min(cores, cores - int(busy)))  # a core counts as busy once a whole one is used


class Settings(BaseSettings):
    """Where the data lives and which LLM endpoint to call.

    With no `base_url`, an embedded llama.cpp server is started on a free loopback port
    with the bundled model named by `model`.
    """

    model_config = SettingsConfigDict(env_prefix="RECAGENT_", extra="ignore")

    base_url: str | None = Field(None, description="an OpenAI-compatible endpoint (vLLM, OpenAI, llama.cpp); "
                                 "unset: the embedded llama.cpp server with a bundled model")
    model: str | None = Field(None, description=f"the model id at base_url, or a bundled model's name for the "
                              f"embedded server (default {DEFAULT_EMBEDDED_MODEL}; `recagent model list`)")
    llm_api_key: str | None = Field(
        None, validation_alias=AliasChoices("RECAGENT_LLM_API_KEY", "OPENAI_API_KEY", "llm_api_key"),
        description="the endpoint's API key (also read from OPENAI_API_KEY)")
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("recagent")),
                           description="the catalog (SQLite), interactions, sessions and the embedded vector store")
    chroma_url: str | None = Field(None, description="a Chroma server (`chroma run`) instead of the embedded store")
    store_url: str | None = Field(None, description="postgresql://… : the catalog, interactions, users and chat "
                                  "sessions in PostgreSQL, shared by service replicas; unset: SQLite files in data_dir")
    fit_dir: str | None = Field(None, description="the fitted item models, keyed by the interactions generation: a "
                                "folder (replicas share one volume) or an fsspec URL such as s3://bucket/fits, each "
                                "process keeping a local copy in data_dir/fit-cache (default: data_dir/fitted)")
    fit_check_s: float = Field(5.0, ge=0, description="seconds between looks at the interactions generation for "
                               "writes by other processes or replicas (a newer fit on disk is loaded, or a refit begun)")
    limits_url: str | None = Field(None, description="redis://… : rate-limit counters shared by service replicas "
                                   "(the `limits` library's storage URL); unset: in memory, per process")
    cache_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_cache_dir("recagent")),
                            description="pulled models, the eval's data and its cache of LLM answers")
    timeout_s: float = Field(180.0, gt=0, description="seconds one LLM call may take")
    max_retries: int = Field(2, ge=0, le=10, description="retries of an LLM call after a connection error, "
                             "429 or 5xx (never after a timeout)")
    context_window: int | None = Field(None, ge=512, description="the model's context in tokens at base_url "
                                       "(default: what the server reports; bundled models know theirs)")
    threads: int = Field(default_factory=lambda: free_cores(), ge=1, description=(
        "llama.cpp threads for the embedded server; default: the cores not already busy at start "
        "(spinning threads that fight another process for a core run ten times slower)"))
    parallel: int = Field(1, ge=1, le=64, description="requests the embedded server runs at once (its slots), "
                          "and explanation calls in flight")
    explain_mode: Literal["auto", "constrained", "open"] = Field(
        "auto", description="how the model explains: constrained (given openings, a word whitelist; for small "
                            "models) or open (it writes hook and sentence freely, each claim checked); auto: "
                            "constrained for a bundled model, open for any endpoint at base_url")
    explain_budget_s: float = Field(
        45.0, gt=0, description="seconds the model may spend writing one list's explanations; items not written "
                                "by then get their data template, flagged")
    candidate_order: Literal["rrf", "fusion", "ltr"] = Field(
        "fusion", description="fusion: fitted linear score (default); ltr: a learned ranker (LambdaMART), one installed in "
                              "data_dir/ranker/ (`recagent eval fit SUITE --variant ltr --install`), else one fitted "
                              "with the item models on the workspace's interactions and used where it beats the fusion "
                              "on its training lists; rrf: reciprocal rank of semantic and co-occurrence lists")
    fusion_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_FUSION_WEIGHTS),
        description="weights of collaborative, recent, semantic, popularity (candidate_order=fusion)")
    trust_after_days: float = Field(
        7.0, ge=0, description="what the service or chat writes for a user shapes the shared item models (co-liked "
                               "counts, EASE) only once its writer (a service key) has written for that user this "
                               "many days and the user has trust_min_interactions interactions; ingested rows and "
                               "the operator's writes (CLI, Python) always do (a flood moves nobody else's list)")
    trust_min_interactions: int = Field(5, ge=0, description="interactions a user needs before what the service "
                                                             "writes for them shapes the shared item models")
    rating_min: float = Field(0.5, allow_inf_nan=False, description="the lowest valid rating (ingest rows, histories)")
    rating_max: float = Field(5.0, allow_inf_nan=False, description="the highest valid rating")
    redact_builtin: bool = Field(True, description="replace e-mail addresses, phone, social security and card "
                                 "numbers in prompts and in stored chat messages")
    session_retention_days: float | None = Field(
        30.0, gt=0, description="chat sessions untouched this many days are deleted; unset: kept")
    redact_patterns: list[str] = Field(default_factory=list, description="more regular expressions to redact")
    prompt_exclude_fields: list[str] = Field(default_factory=list, description="item fields kept out of prompts: text, tags")

    @field_validator("fit_dir", mode="before")
    @classmethod
    def _fit_dir_text(cls, v):
        return None if v is None else str(v)  # a folder or a URL (a Path would fold s3:// into s3:/)

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, v: str | None) -> str | None:
        if v in (None, ""):
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"RECAGENT_BASE_URL must start with http:// or https://, got {v!r}")
        return v.rstrip("/")

    @field_validator("fusion_weights")
    @classmethod
    def _check_weights(cls, v: dict[str, float]) -> dict[str, float]:
        from agent.pipeline.order import FEATURES

        known = set(FEATURES) - {"llm"}  # the product path scores without the LLM signal
        if set(v) - known:
            raise ValueError(f"unknown weights {sorted(set(v) - known)}; known: {', '.join(sorted(known))}")
        if not any(v.values()):
            raise ValueError("at least one weight must be non-zero")
        return v

    @model_validator(mode="after")
    def _check_scale(self):
        if self.rating_min >= self.rating_max:
            raise ValueError(f"rating_min ({self.rating_min:g}) must be below rating_max ({self.rating_max:g})")
        return self

    @property
    def rating_scale(self):
        from agent.types import RatingScale

        return RatingScale(low=self.rating_min, high=self.rating_max)

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_EMBEDDED_MODEL

    @property
    def catalog_store(self) -> str | Path:
        """Where the catalog and interactions live: the PostgreSQL URL, else the data dir's SQLite file."""
        return self.store_url or Path(self.data_dir) / "catalog.sqlite"

    @property
    def sessions_store(self) -> str | Path:
        return self.store_url or Path(self.data_dir) / "sessions.sqlite"


def load_settings(**overrides) -> Settings:
    """Settings with explicit overrides (None means: use the environment)."""
    from pydantic import ValidationError

    from agent.errors import ConfigError

    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**given)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"bad setting {field} (RECAGENT_{field.upper()}): {first['msg']}"
        ) from None


def fields_table(model, env_prefix: str = "") -> str:
    """A markdown table of a pydantic model's fields: name (or environment variable), default, meaning."""
    lines = ["| " + ("variable" if env_prefix else "option") + " | default | bounds | meaning |", "|---|---|---|---|"]
    for name, info in model.model_fields.items():
        if info.default_factory is not None:
            default = "(computed)" if name in ("threads", "data_dir", "cache_dir") else repr(info.default_factory())
        else:
            default = repr(info.default)
        label = f"{env_prefix}{name.upper()}" if env_prefix else name
        lines.append(f"| `{label}` | `{default}` | {_bounds(info)} | {(info.description or '').replace('|', '/')} |")
    return "\n".join(lines)


def field_bounds(info) -> dict[str, object]:
    """A pydantic field's constraints by name (Ge, Gt, Le, Lt, MinLen, MaxLen) and their values."""
    return {type(m).__name__: getattr(m, next(iter(type(m).__dataclass_fields__)))
            for m in info.metadata if hasattr(type(m), "__dataclass_fields__")}


def _bounds(info) -> str:
    words = {"Ge": "≥", "Gt": ">", "Le": "≤", "Lt": "<", "MinLen": "length ≥", "MaxLen": "length ≤"}
    out = [f"{words[name]} {value}" for name, value in field_bounds(info).items() if name in words]
    if "Literal" in str(info.annotation):
        out.append(" / ".join(repr(a) for a in info.annotation.__args__))
    return ", ".join(out)


def configuration_markdown() -> str:
    """docs/configuration.md: generated by `recagent config --markdown` (a test keeps it current)."""
    from agent.options import RecommendOptions

    return f"""# Configuration

Generated from `agent/config.py` and `agent/options.py` by `recagent config --markdown > docs/configuration.md`;
`recagent config` prints the values in effect.

## Settings

Arguments first, then environment variables, then these defaults. `data_dir` defaults to the
platform's user data folder, `cache_dir` to its cache folder, `threads` to the cores not busy at start.

{fields_table(Settings, "RECAGENT_")}

## Per-request options

`RecommendOptions`: the Python API (`Recommender.recommend(user, k=5)`), the CLI (`recagent recommend --k 5`),
the HTTP service (`POST /v1/recommend {{"k": 5}}`) and the chat agent take the same options, with these bounds
(an out-of-range value is a clear error).

{fields_table(RecommendOptions)}
"""
