"""bench/classic.py measures every model on a toy matrix: each fits, keeps arrays, scores."""

import queue

import pytest

from bench import classic as bench

ROWS = [(f"u{u}", f"i{(u * 7 + n) % 12}", 5.0, n) for u in range(30) for n in range(6)]


@pytest.mark.parametrize("name", list(bench.MODELS))
def test_each_model_is_fitted_sized_and_timed(name):
    histories = [([f"i{n}", f"i{n + 1}"], {f"i{n}", f"i{n + 1}"}) for n in range(5)]
    out = queue.Queue()
    bench.measure(name, ROWS, histories, out)
    r = out.get_nowait()
    assert r["name"] == name
    assert r["kept_mb"] > 0  # the arrays it scores from were found
    assert 0 < r["p50_ms"] <= r["p95_ms"]
