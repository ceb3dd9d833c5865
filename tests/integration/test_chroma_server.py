"""Client/server Chroma: `chroma run` (from the chromadb package) on a free loopback port;
ingest and recommend through the CLI with --chroma-url; then stop it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.backends.embedded import free_port
from bench.chroma_server import start_server

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture
def chroma_url(tmp_path):
    proc, url, _ = start_server(tmp_path / "server", timeout_s=60)
    yield url
    proc.terminate()
    proc.wait(20)


def cli(*args, data_dir, chroma_url):
    env = {**os.environ, "RECAGENT_DATA_DIR": str(data_dir)}
    env.pop("RECAGENT_BASE_URL", None)
    return subprocess.run([sys.executable, "-m", "agent.cli", *args, "--chroma-url", chroma_url],
                          capture_output=True, text=True, env=env, timeout=300)


def test_ingest_and_recommend_against_a_chroma_server(chroma_url, tmp_path):
    data = tmp_path / "data"
    r = cli("ingest", "--items", str(DATA / "items.csv"), "--interactions", str(DATA / "interactions.csv"), "--json",
            data_dir=data, chroma_url=chroma_url)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["indexed"] == 300
    assert not (data / "chroma").exists() and not (data / "chroma.vectors").exists()  # the vectors live on the server
    r = cli("recommend", "--user", "user-18", "--no-llm", "--json", data_dir=data, chroma_url=chroma_url)
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)["items"]
    assert len(items) == 10 and any("semantic" in i["scores"] for i in items)


def test_unreachable_chroma_server_is_one_clear_line(tmp_path):
    r = cli("ingest", "--items", str(DATA / "items.csv"), data_dir=tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 2 and "cannot open the Chroma store" in r.stderr and "Traceback" not in r.stderr
