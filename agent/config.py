"""Settings from arguments, then environment variables, then defaults."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_EMBEDDED_MODEL = "qwen2.5-coder-0.5b"
# Fitted by `recagent eval fit evals/suites/ml-latest-small-fusion-retrieved.yaml --variant fusion`
# (300 validation users from the training period, full-ranking protocol).
DEFAULT_FUSION_WEIGHTS = {"collaborative": 0.0, "recent": 0.5, "semantic": 0.1, "popularity": 0.0}


def free_cores() -> int:
    """Cores not busy with other work, from the 1-minute load average (at least one)."""
    cores = os.cpu_count() or 2
    try:
        busy = os.getloadavg()[0]
    except OSError:  # no load average on this platform
        busy = 0.0
    return max(1, min(cores, cores - int(busy)))  # a core counts as busy once a whole one is used


class Settings(BaseSettings):
    """Where the data lives and which LLM endpoint to call.

    With no `base_url`, an embedded llama.cpp server is started on a free loopback port
    with the bundled model named by `model`.
    """

    model_config = SettingsConfigDict(env_prefix="RECAGENT_", extra="ignore")

    base_url: str | None = None
    model: str | None = None
    llm_api_key: str | None = Field(
        None, validation_alias=AliasChoices("RECAGENT_LLM_API_KEY", "OPENAI_API_KEY", "llm_api_key")
    )
    data_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_data_dir("recagent")))
    chroma_url: str | None = Field(None, description="a Chroma server (`chroma run`) instead of the embedded store")
    cache_dir: Path = Field(default_factory=lambda: Path(platformdirs.user_cache_dir("recagent")))
    timeout_s: float = Field(180.0, gt=0)
    max_retries: int = Field(2, ge=0, le=10)  # connection errors, 429, 5xx; never timeouts
    context_window: int | None = Field(None, ge=512)
    threads: int = Field(default_factory=lambda: free_cores(), ge=1, description=(
        "llama.cpp threads for the embedded server; default: the cores not already busy at start "
        "(spinning threads that fight another process for a core run ten times slower)"))
    parallel: int = Field(1, ge=1, le=64)
    explain_budget_s: float = Field(
        45.0, gt=0, description="seconds the model may spend writing one list's explanations; items not written "
                                "by then get their data template, flagged")
    # how retrieved candidates are ordered before the LLM (agent/pipeline/order.py)
    candidate_order: Literal["rrf", "fusion"] = Field(
        "fusion", description="fusion: fitted linear score (default); rrf: reciprocal rank of semantic and co-occurrence lists")
    fusion_weights: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_FUSION_WEIGHTS),
        description="weights of collaborative, recent, semantic, popularity (candidate_order=fusion)")
    # privacy: what free text may reach a prompt (agent/privacy.py)
    redact_builtin: bool = Field(True, description="replace e-mail addresses and phone numbers in prompts")
    redact_patterns: list[str] = Field(default_factory=list, description="more regular expressions to redact")
    prompt_exclude_fields: list[str] = Field(default_factory=list, description="item fields kept out of prompts: text, tags")

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

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    @property
    def model_name(self) -> str:
        return self.model or DEFAULT_EMBEDDED_MODEL


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
