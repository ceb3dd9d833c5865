"""One client for every OpenAI-compatible endpoint: the embedded llama.cpp server, vLLM,
OpenAI. Third-party errors are translated into BackendError here and nowhere else."""

from __future__ import annotations

import functools
import time
from typing import Any

import httpx
import openai
import tenacity

from agent.backends.base import ChatRequest, ChatResponse
from agent.errors import BackendError
from agent.offline import ensure_tiktoken_cache
from agent.types import Usage

PER_MESSAGE_OVERHEAD = 8  # role markers and separators a chat template adds
# JSON-schema keywords OpenAI's strict mode rejects; llama.cpp and vLLM enforce them.
_OPENAI_UNSUPPORTED = {"maxLength", "minLength"}
OPENAI_MAX_TOP_LOGPROBS = 20


def _strip_keywords(schema: Any, drop: set[str]) -> Any:
    if isinstance(schema, dict):
        return {k: _strip_keywords(v, drop) for k, v in schema.items() if k not in drop}
    if isinstance(schema, list):
        return [_strip_keywords(v, drop) for v in schema]
    return schema


class OpenAICompatBackend:
    def __init__(self, base_url: str, model: str | None = None, api_key: str | None = None,
                 timeout_s: float = 180.0, max_retries: int = 2, context_window: int | None = None,
                 cache_dir=None):
        self.endpoint = base_url.rstrip("/")
        self.api_base = self.endpoint if self.endpoint.endswith("/v1") else self.endpoint + "/v1"
        self.is_openai = "api.openai.com" in self.endpoint
        # Retries are ours (see `complete`): the SDK's would also retry timeouts, multiplying
        # the wait on a slow server.
        self._client = openai.OpenAI(base_url=self.api_base, api_key=api_key or "not-needed",
                                     timeout=timeout_s, max_retries=0)
        self.max_retries = max_retries
        # the key also goes to the server's own endpoints (/models, /tokenize): a keyed llama.cpp needs it there
        self._http = httpx.Client(timeout=min(timeout_s, 10.0),
                                  headers={"Authorization": f"Bearer {self._client.api_key}"})
        self._server_meta: dict | None = None
        self._context_window = context_window
        self._tokenize_url: str | None = None if self.is_openai else self.api_base[: -len("/v1")] + "/tokenize"
        self._cache_dir = cache_dir
        self.model = model or self._discover_model()

    # -- discovery ---------------------------------------------------------------------------
    def _models(self) -> dict:
        if self._server_meta is None:
            try:
                r = self._http.get(self.api_base + "/models")
                r.raise_for_status()
                self._server_meta = r.json()
            except (httpx.HTTPError, ValueError):
                self._server_meta = {}
        return self._server_meta

    def _discover_model(self) -> str:
        data = self._models().get("data") or []
        if data:
            return data[0]["id"]
        raise BackendError(f"no model given and {self.api_base}/models lists none: set --model "
                           "or RECAGENT_MODEL", kind="unavailable")

    @property
    def context_window(self) -> int:
        if self._context_window is None:
            window = None
            for m in self._models().get("data") or []:
                if m.get("id") == self.model:
                    window = (m.get("meta") or {}).get("n_ctx") or m.get("max_model_len")
            self._context_window = int(window or (128_000 if self.is_openai else 8192))
        return self._context_window

    @functools.cached_property
    def is_llamacpp(self) -> bool:
        return any(m.get("owned_by") == "llamacpp" for m in self._models().get("data") or [])

    @property
    def continues_answers(self) -> bool:
        """llama.cpp's server continues a final assistant message. vLLM can too, with its own
        request flags, and OpenAI cannot: both get the JSON schema instead (not verified on vLLM)."""
        return self.is_llamacpp

    # -- tokens ------------------------------------------------------------------------------
    def count_tokens(self, messages: list[dict[str, str]]) -> int:
        """The server's own tokenizer where it has one (llama.cpp, vLLM), else tiktoken."""
        text = "\n".join(m["content"] for m in messages)
        overhead = PER_MESSAGE_OVERHEAD * len(messages)
        if self._tokenize_url:
            try:
                r = self._http.post(self._tokenize_url, json={"content": text, "prompt": text, "model": self.model})
                if r.status_code == 200:
                    body = r.json()
                    return int(body.get("count") or len(body.get("tokens", []))) + overhead
            except (httpx.HTTPError, ValueError):
                pass
            self._tokenize_url = None  # no tokenizer endpoint: do not ask again
        return len(self._tiktoken.encode(text, disallowed_special=())) + overhead

    @functools.cached_property
    def _tiktoken(self):
        import tiktoken

        ensure_tiktoken_cache(self._cache_dir)
        try:
            return tiktoken.encoding_for_model(self.model)
        except KeyError:
            return tiktoken.get_encoding("o200k_base" if self.is_openai else "cl100k_base")

    # -- the call ----------------------------------------------------------------------------
    def complete(self, request: ChatRequest) -> ChatResponse:
        """One chat completion. Connection failures, rate limits and 5xx are retried with
        exponential backoff up to `max_retries` times; a timeout is not (a slow server stays slow)."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=tenacity.wait_exponential(multiplier=0.5, max=8),
            retry=tenacity.retry_if_exception(lambda e: isinstance(e, BackendError) and e.is_retryable()
                                              and e.kind != "timeout"),
            reraise=True)
        return retrying(self._complete_once, request)

    def _complete_once(self, request: ChatRequest) -> ChatResponse:
        messages = request.messages + ([{"role": "assistant", "content": request.prefix}] if request.prefix else [])
        kwargs: dict[str, Any] = dict(model=self.model, messages=messages,
                                      max_tokens=request.max_tokens, temperature=request.temperature)
        if request.seed is not None and not self.is_openai:
            kwargs["seed"] = request.seed
        if request.stop:
            kwargs["stop"] = request.stop
        if request.banned and self.is_llamacpp:  # llama.cpp tokenizes string keys; others take token ids only
            kwargs["logit_bias"] = {f" {w}": -100 for word in request.banned for w in (word, word.capitalize())}
        if request.top_logprobs:
            kwargs.update(logprobs=True, top_logprobs=min(request.top_logprobs, OPENAI_MAX_TOP_LOGPROBS)
                          if self.is_openai else request.top_logprobs)
        if request.response_schema is not None:
            schema = request.response_schema
            if self.is_openai:
                schema = _strip_keywords(schema, _OPENAI_UNSUPPORTED)
            kwargs["response_format"] = {"type": "json_schema", "json_schema": {
                "name": request.schema_name, "schema": schema, "strict": True}}
        if request.timeout_s is not None:
            kwargs["timeout"] = request.timeout_s
        start = time.perf_counter()
        try:
            resp = self._client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            limit = request.timeout_s or self._client.timeout
            raise BackendError(f"the LLM at {self.api_base} is slow: no answer within {float(limit):.0f} s "
                               "(raise RECAGENT_TIMEOUT_S, check RECAGENT_THREADS on a busy machine, or use a "
                               "smaller model)", kind="timeout") from None
        except openai.APIConnectionError:
            raise BackendError(f"cannot reach the LLM at {self.api_base} "
                               "(is the server running? check --base-url)", kind="unavailable") from None
        except openai.RateLimitError:
            raise BackendError(f"rate limited by {self.api_base}", kind="rate_limited") from None
        except openai.AuthenticationError:
            raise BackendError(f"{self.api_base} refused the API key: set RECAGENT_LLM_API_KEY",
                               kind="auth") from None
        except (ValueError, openai.APIResponseValidationError) as e:  # a body labelled JSON that is not
            raise BackendError(f"the LLM at {self.api_base} answered something that is not a chat completion: "
                               f"{_short(str(e), 80)} (is --base-url the model server?)", kind="bad_response") from None
        except openai.APIStatusError as e:
            kind = "server_error" if e.status_code >= 500 else "bad_request"
            if e.status_code == 500 and ("format" in str(e).lower() or "parse" in str(e).lower()):
                kind = "bad_response"  # the server could not parse its own output: same input, same failure
            if "context" in str(e).lower() and ("length" in str(e).lower() or "exceed" in str(e).lower()):
                kind = "context_window"
            raise BackendError(f"the LLM at {self.api_base} answered {e.status_code}: "
                               f"{_short(e.message)}", kind=kind) from None
        latency = (time.perf_counter() - start) * 1000
        if not hasattr(resp, "choices"):  # the SDK hands back the raw text of a non-JSON body
            raise BackendError(f"the LLM at {self.api_base} answered something that is not a chat completion: "
                               f"{_short(str(resp), 80)!r} (is --base-url the model server?)", kind="bad_response")
        if not resp.choices:
            raise BackendError("the LLM returned no choices", kind="bad_response")
        choice = resp.choices[0]
        usage = Usage(prompt_tokens=getattr(resp.usage, "prompt_tokens", 0) or 0,
                      completion_tokens=getattr(resp.usage, "completion_tokens", 0) or 0)
        content = choice.message.content or ""
        if request.prefix and content.startswith(request.prefix):  # llama.cpp repeats the opening it continued
            content = content[len(request.prefix):]
        return ChatResponse(content=content, finish_reason=choice.finish_reason,
                            usage=usage, model=resp.model or self.model, latency_ms=latency,
                            first_token_logprobs=_first_token_logprobs(choice) if request.top_logprobs else None)

    def close(self) -> None:
        self._client.close()
        self._http.close()


def _first_token_logprobs(choice) -> dict[str, float]:
    """{token: logprob} of the answer's first position (empty when the server sent none)."""
    content = getattr(getattr(choice, "logprobs", None), "content", None) or []
    if not content:
        return {}
    out: dict[str, float] = {}
    for alt in content[0].top_logprobs or []:
        out[alt.token] = max(out.get(alt.token, float("-inf")), float(alt.logprob))
    return out


def _short(text: str, n: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[:n] + "…"
