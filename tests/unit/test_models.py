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


def tiny_gguf(path):
    """A small .gguf: one Q5_0 weight matrix, Q5_0 token embeddings, an F32 norm, a metadata key."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(0)
    weights = {"blk.0.ffn_up.weight": rng.normal(size=(8, 64)).astype(np.float32),
               "token_embd.weight": rng.normal(size=(8, 64)).astype(np.float32)}
    w = gguf.GGUFWriter(path, "llama")
    w.add_string("general.name", "tiny")
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q5_0)
    for name, x in weights.items():
        w.add_tensor(name, gguf.quants.quantize(x, gguf.GGMLQuantizationType.Q5_0),
                     raw_dtype=gguf.GGMLQuantizationType.Q5_0)
    w.add_tensor("blk.0.attn_norm.weight", np.ones(64, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return weights


def test_requantize_rewrites_the_weight_matrices_only_and_keeps_their_values(tmp_path):
    import gguf
    import numpy as np

    from agent.requantize import requantize

    weights = tiny_gguf(tmp_path / "src.gguf")
    requantize(tmp_path / "src.gguf", tmp_path / "dst.gguf", "Q5_0", "Q4_0")
    src, dst = gguf.GGUFReader(tmp_path / "src.gguf"), gguf.GGUFReader(tmp_path / "dst.gguf")
    types = {t.name: t.tensor_type.name for t in dst.tensors}
    assert types == {"blk.0.ffn_up.weight": "Q4_0", "token_embd.weight": "Q5_0", "blk.0.attn_norm.weight": "F32"}
    assert dst.fields["general.name"].contents() == "tiny" and "general.file_type" not in dst.fields  # no longer true
    by_name = {t.name: t for t in dst.tensors}
    for t in src.tensors:
        if t.name != "blk.0.ffn_up.weight":
            assert np.array_equal(by_name[t.name].data, t.data), t.name  # byte for byte
    up = gguf.quants.dequantize(by_name["blk.0.ffn_up.weight"].data, gguf.GGMLQuantizationType.Q4_0)
    x = weights["blk.0.ffn_up.weight"]
    assert up.shape == x.shape and np.abs(up - x).max() <= np.abs(x).max() / 6  # 4-bit steps of each 32-block


def test_a_derived_model_is_made_from_its_source_and_verified(tmp_path, monkeypatch):
    import agent.bundled_models as bm
    from agent.requantize import requantize

    pkg = tmp_path / "site" / "tinymodel_part1"
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    tiny_gguf(pkg / "data" / "part01.bin")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    raw = (pkg / "data" / "part01.bin").read_bytes()
    source = BundledModel(name="tiny", extra="tiny", packages=("tinymodel_part1",), files=("data/part01.bin",),
                          size=len(raw), sha256=hashlib.sha256(raw).hexdigest())
    requantize(pkg / "data" / "part01.bin", tmp_path / "expected.gguf", "Q5_0", "Q4_0")
    expected = (tmp_path / "expected.gguf").read_bytes()
    derived = BundledModel(name="tiny-q4_0", extra="tiny", packages=source.packages, files=source.files,
                           size=len(expected), sha256=hashlib.sha256(expected).hexdigest(), derived_from="tiny",
                           requantized=("Q5_0", "Q4_0"))
    monkeypatch.setitem(bm.MODELS, "tiny", source)
    cache = tmp_path / "cache"
    assert bm.pull_bytes(derived, cache) == 2 * len(raw)  # the join, then the source read again
    path = bm.pull(derived, cache)
    assert path.read_bytes() == expected and bm.is_pulled(derived, cache) and bm.is_pulled(source, cache)
    assert bm.pull_bytes(derived, cache) == 0
    wrong = BundledModel(**{**derived.__dict__, "name": "tiny-wrong", "sha256": "0" * 64})
    with pytest.raises(ConfigError, match="--model tiny"):
        bm.pull(wrong, cache)
    assert not (cache / "models" / "tiny-wrong.gguf").exists() and not (cache / "models" / "tiny-wrong.part").exists()
