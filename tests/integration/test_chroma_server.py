"""Client/server Chroma: `chroma run` (from the chromadb package) on a free loopback port;
ingest and recommend through the CLI with --chroma-url; then stop it."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agent.backends.embedded import free_port

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture
def chroma_url(tmp_path):
    chroma = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert chroma, "the chroma CLI ships with the chromadb package"
    port = free_port()
    proc = subprocess.Popen([chroma, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1",
                             "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/v2/heartbeat", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not come up")
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
    assert not (data / "chroma").exists()  # the vectors live on the server
    r = cli("recommend", "--user", "user-18", "--no-llm", "--json", data_dir=data, chroma_url=chroma_url)
    assert r.returncode == 0, r.stderr
    items = json.loads(r.stdout)["items"]
    assert len(items) == 10 and any("semantic" in i["scores"] for i in items)


def test_unreachable_chroma_server_is_one_clear_line(tmp_path):
    r = cli("ingest", "--items", str(DATA / "items.csv"), data_dir=tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}")
    assert r.returncode == 2 and "cannot open the Chroma store" in r.stderr and "Traceback" not in r.stderr
