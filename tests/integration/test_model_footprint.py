"""The model footprint measurement runs the real smallest model in a child process."""

import re

import pytest

from bench import model_footprint
from tests.conftest import SMALLEST_MODEL

pytestmark = pytest.mark.llm


def test_footprint_row_for_the_smallest_model(embedded_server, cache_dir, monkeypatch, capsys):
    # embedded_server has pulled the model into cache_dir; the child process starts its own server
    monkeypatch.setenv("RECAGENT_CACHE_DIR", str(cache_dir))  # the child finds the pulled model here
    assert model_footprint.main(["--models", SMALLEST_MODEL, "--calls", "1"]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith(f"| {SMALLEST_MODEL} ")]
    assert row and "failed" not in row[0], row
    file_mib, load_s, peak, added, tokens, call_s = (float(v) for v in re.findall(r"\| ([\d.]+) ", row[0] + " "))
    assert 80 < file_mib < 100 and peak > added > file_mib * 0.5  # the weights' pages are resident
    assert 400 < tokens < 900 and 0 < call_s < load_s + 60
