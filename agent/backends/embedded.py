"""The embedded llama.cpp server (xllamacpp), on a free loopback port, stopped on exit."""

from __future__ import annotations

import atexit
import gc
import secrets
import socket
import time
from pathlib import Path

import httpx

from agent.errors import BackendError


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedLlamaServer:
    """Starts llama.cpp's OpenAI-compatible HTTP server in-process for one .gguf file. It
    requires `api_key` (a random one per start unless given), so other local processes cannot
    call the model past the service's own keys and limits; only /health stays open."""

    def __init__(self, model_path: Path, alias: str, n_ctx: int = 4096, threads: int = 2,
                 parallel: int = 1, port: int | None = None, host: str = "127.0.0.1",
                 verbose: bool = False, cache_prompt: bool = True, metrics: bool = False,
                 api_key: str | None = None):
        self.model_path, self.alias = Path(model_path), alias
        self.n_ctx, self.threads, self.parallel = n_ctx, threads, parallel
        self.port, self.host, self.verbose = port, host, verbose
        self.cache_prompt = cache_prompt  # reuse the KV cache of a shared prompt prefix
        self.metrics = metrics  # llama.cpp's own counters at /metrics (prompt and generation seconds)
        self._server = None
        self._given_key = api_key
        self.base_url: str | None = None
        self.api_key: str | None = None

    def start(self, wait_s: float = 120.0) -> str:
        if self._server is not None:
            return self.base_url
        import xllamacpp

        p = xllamacpp.CommonParams()
        p.model.path = str(self.model_path)
        p.model_alias = self.alias
        p.port = self.port or free_port()
        p.hostnames = [self.host]
        p.n_ctx = self.n_ctx * self.parallel  # llama.cpp splits n_ctx across slots
        p.n_parallel = self.parallel
        p.cpuparams.n_threads = self.threads
        p.cpuparams_batch.n_threads = self.threads
        p.use_jinja = True
        p.warmup = True  # llama.cpp touches the weights at start, not in the first request (demo: first item 8.7 s → 6.6 s)
        p.cache_prompt = self.cache_prompt
        p.endpoint_metrics = self.metrics
        self.api_key = self._given_key or secrets.token_urlsafe(32)
        p.api_keys = [self.api_key]
        if not self.verbose:
            p.verbosity = -1
        try:
            self._server = xllamacpp.Server(p)
        except Exception as e:
            raise BackendError(f"the embedded llama.cpp server failed to start with "
                               f"{self.model_path.name}: {e}", kind="unavailable") from None
        self.base_url = f"http://{self.host}:{p.port}"
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        else:
            self.stop()
            raise BackendError("the embedded llama.cpp server did not become healthy", kind="unavailable")
        atexit.register(self.stop)
        return self.base_url

    @property
    def headers(self) -> dict[str, str]:
        """For direct HTTP calls (/metrics, /props, /tokenize): every endpoint but /health needs the key."""
        return {"Authorization": f"Bearer {self.api_key}"}

    def stop(self) -> None:
        if self._server is not None:
            self._server = None
            gc.collect()  # the server shuts down when its object is freed

    def __enter__(self) -> "EmbeddedLlamaServer":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
