import hashlib

import pytest

from agent.errors import ConfigError
from agent.bundled_models import BundledModel, get_model, is_pulled, pull


@pytest.fixture
def chunk_packages(tmp_path, monkeypatch):
    """Two tiny importable packages holding the chunks of a fake 'model'."""
    parts = [b"GGUF" + b"a" * 1000, b"b" * 777]
    for n, data in enumerate(parts, start=1):
        pkg = tmp_path / "site" / f"fakemodel_part{n}"
        (pkg / "data").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        (pkg / "data" / f"part{n:02d}.bin").write_bytes(data)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    joined = b"".join(parts)
    return BundledModel(name="fake", extra="fake", packages=("fakemodel_part1", "fakemodel_part2"),
                        files=("data/part01.bin", "data/part02.bin"), size=len(joined),
                        sha256=hashlib.sha256(joined).hexdigest()), joined


def test_pull_joins_in_order_verifies_and_is_idempotent(tmp_path, chunk_packages):
    model, joined = chunk_packages
    path = pull(model, tmp_path / "cache")
    assert path.read_bytes() == joined and is_pulled(model, tmp_path / "cache")
    mtime = path.stat().st_mtime_ns
    assert pull(model, tmp_path / "cache") == path and path.stat().st_mtime_ns == mtime  # no re-join


def test_a_corrupt_model_is_refused_and_not_left_behind(tmp_path, chunk_packages):
    model, _ = chunk_packages
    bad = BundledModel(**{**model.__dict__, "sha256": "0" * 64})
    with pytest.raises(ConfigError, match="failed verification"):
        pull(bad, tmp_path / "cache")
    assert not list((tmp_path / "cache" / "models").glob("*.gguf"))


def test_missing_package_says_which_extra_to_install(tmp_path):
    model = BundledModel(name="x", extra="qwen99", packages=("no_such_pkg_xyz",), files=("a.bin",), size=1, sha256="0")
    with pytest.raises(ConfigError, match="uv sync --extra qwen99"):
        pull(model, tmp_path)


def test_unknown_model_lists_the_bundled_ones():
    with pytest.raises(ConfigError, match="smollm2-135m"):
        get_model("gpt-17")
