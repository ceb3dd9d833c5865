"""The CLI as a user runs it: a subprocess, real output, exit codes, no tracebacks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).parents[1] / "data"


def run(*args, env=None, data_dir=None):
    e = {**os.environ, **(env or {})}
    if data_dir is not None:
        e["RECAGENT_DATA_DIR"] = str(data_dir)
    if "RECAGENT_BASE_URL" not in (env or {}):
        e.pop("RECAGENT_BASE_URL", None)  # the embedded default, whatever the caller's shell says
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], capture_output=True, text=True, env=e, timeout=300)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli-data")
    r = run("ingest", "--items", str(DATA / "items.csv"), "--interactions", str(DATA / "interactions.csv"),
            "--json", data_dir=d)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["items"]["added"] == 300
    return d


def test_dead_endpoint_still_prints_ten_items_with_a_reason(data_dir):
    r = run("recommend", "--user", "user-18", "--json", "--base-url", "http://127.0.0.1:9",
            "--model", "any", env={"RECAGENT_MAX_RETRIES": "0"}, data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert len(result["items"]) == 10 and result["fallback_reason"].startswith("LLM call failed (unavailable)")
    assert {i["source"] for i in result["items"]} == {"fallback"}
    assert all(i["explanation"] for i in result["items"])
    assert "warning:" in r.stderr and "Traceback" not in r.stderr


def test_strict_makes_a_fallback_fail(data_dir):
    r = run("recommend", "--user", "user-18", "--strict", "--base-url", "http://127.0.0.1:9", "--model", "m",
            env={"RECAGENT_MAX_RETRIES": "0"}, data_dir=data_dir)
    assert r.returncode == 1 and "fallback" in r.stdout


def test_unknown_user_is_one_clear_line(data_dir):
    r = run("recommend", "--user", "ghost", "--no-llm", data_dir=data_dir)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("error: unknown user 'ghost'") and "--history" in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 3  # one message, wrapped at most


def test_bad_config_says_what_to_set(data_dir):
    r = run("recommend", "--user", "user-18", env={"RECAGENT_BASE_URL": "ftp://x"}, data_dir=data_dir)
    assert r.returncode == 2 and "RECAGENT_BASE_URL" in r.stderr and "Traceback" not in r.stderr


def test_no_catalog_says_to_ingest(tmp_path):
    r = run("recommend", "--user", "1", data_dir=tmp_path / "empty")
    assert r.returncode == 2 and "recagent ingest" in r.stderr


def test_history_file_for_a_new_user(data_dir, tmp_path):
    h = tmp_path / "h.json"
    h.write_text(json.dumps([{"item_id": "1", "rating": 5}, {"item_id": "260", "signal": "like"}]))
    r = run("recommend", "--history", str(h), "--no-llm", "--k", "4", "--json", data_dir=data_dir)
    assert r.returncode == 0, r.stderr
    assert len(json.loads(r.stdout)["items"]) == 4


def test_ingest_reports_broken_row_and_is_idempotent(tmp_path):
    items = tmp_path / "items.csv"
    items.write_text("item_id,title,text,categories\n1,Good,,Drama\n2,,,Drama\n3,Fine,,Comedy\n")
    first = run("ingest", "--items", str(items), data_dir=tmp_path / "d")
    assert first.returncode == 0 and "items.csv:3: missing title" in first.stdout
    assert "2 added" in first.stdout
    again = run("ingest", "--items", str(items), "--json", data_dir=tmp_path / "d")
    s = json.loads(again.stdout)
    assert s["items"] == {"added": 0, "updated": 0, "unchanged": 2} and s["indexed"] == 0


def test_prompts_commands(data_dir):
    assert "rerank@v1" in run("prompts", "list").stdout
    assert "{% block system %}" in run("prompts", "show", "rerank@v1").stdout
    r = run("prompts", "render", "rerank@v1", "--user", "user-18", "--k", "3", "--candidates", "5", data_dir=data_dir)
    assert r.returncode == 0 and "--- system ---" in r.stdout and r.stdout.count("\n[") == 5
    assert "user-18" not in r.stdout
    bad = run("prompts", "show", "rerank@v9")
    assert bad.returncode == 2 and "not found" in bad.stderr


def test_model_list_and_doctor(data_dir):
    assert "smollm2-135m" in run("model", "list").stdout
    dead = run("doctor", "--base-url", "http://127.0.0.1:9", data_dir=data_dir)
    assert dead.returncode == 1 and "unreachable" in dead.stdout and "300 items" in dead.stdout
    assert "limits   in memory" in dead.stdout
    no_redis = run("doctor", env={"RECAGENT_LIMITS_URL": "redis://127.0.0.1:9"}, data_dir=data_dir)
    assert no_redis.returncode == 1 and "rate-limit store redis://127.0.0.1:9 does not answer" in no_redis.stdout


def test_vllm_serve_command_has_what_the_pipeline_needs():
    r = run("model", "serve", "--engine", "vllm", "--model", "Qwen/Qwen2.5-1.5B-Instruct", "--port", "8001", "--dry-run")
    assert r.returncode == 0, r.stderr
    cmd = r.stdout.split()
    assert cmd[:3] == ["vllm", "serve", "Qwen/Qwen2.5-1.5B-Instruct"]
    assert cmd[cmd.index("--port") + 1] == "8001"
    assert cmd[cmd.index("--served-model-name") + 1] == "Qwen/Qwen2.5-1.5B-Instruct"  # = RECAGENT_MODEL
    r = run("model", "serve", "--engine", "vllm")
    assert r.returncode == 2 and "needs --model" in r.stderr
    r = run("model", "serve", "--engine", "vllm", "--model", "m", "--tensor-parallel", "4", "--data-parallel", "2",
            "--dry-run")
    cmd = r.stdout.split()
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "4" and cmd[cmd.index("--data-parallel-size") + 1] == "2"


def test_enrich_with_a_dead_endpoint_says_why_and_fails(data_dir):
    r = run("enrich", "--limit", "2", "--base-url", "http://127.0.0.1:9", "--model", "m",
            env={"RECAGENT_MAX_RETRIES": "0"}, data_dir=data_dir)
    assert r.returncode == 1 and "0 items described" in r.stdout
    assert "2 skipped: LLM call failed (unavailable)" in r.stderr and "Traceback" not in r.stderr


def test_enrich_with_an_unknown_prompt_is_one_clear_line(data_dir):
    r = run("enrich", "--prompt", "nope@v1", data_dir=data_dir)
    assert r.returncode != 0 and "prompt 'nope@v1' not found" in r.stderr and "Traceback" not in r.stderr


def test_users_are_added_before_feedback_and_deleted_with_their_data(data_dir):
    unknown = run("feedback", "--user", "walk-in", "--item", "1", "--signal", "like", data_dir=data_dir)
    assert unknown.returncode != 0 and "recagent users add" in unknown.stderr and "Traceback" not in unknown.stderr
    assert run("users", "add", "walk-in", data_dir=data_dir).stderr.startswith("created: walk-in")
    assert run("feedback", "--user", "walk-in", "--item", "1", "--signal", "like", data_dir=data_dir).returncode == 0
    gone = run("users", "delete", "walk-in", "--yes", data_dir=data_dir)
    assert gone.returncode == 0 and "1 interactions, 0 chat sessions" in gone.stderr
    again = run("users", "delete", "walk-in", "--yes", data_dir=data_dir)
    assert again.returncode != 0 and "unknown user 'walk-in'" in again.stderr
    bad = run("users", "add", "a/b", data_dir=data_dir)
    assert bad.returncode != 0 and "id rule" in bad.stderr


def test_eval_commands_come_from_the_entry_point():
    r = run("eval", "--help")
    assert r.returncode == 0 and "Prompt A/B evaluation" in r.stdout and "report" in r.stdout


def test_eval_optimize_explains_itself_and_refuses_a_broken_space(tmp_path):
    r = run("eval", "optimize", "--help")
    assert r.returncode == 0 and "validation users" in r.stdout and "--adopt" in r.stdout
    space = tmp_path / "space.yaml"
    space.write_text("name: broken\nbase: explain-why@v15\nobjective: {kind: explain, metric: llm_share}\n"
                     "operators: [{kind: shuffle}]\n")
    r = run("eval", "optimize", str(space), "--out", str(tmp_path / "run"))
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "shuffle" in r.stderr and "space.yaml" in r.stderr
    assert not (tmp_path / "run").exists()  # nothing written for a space that does not load


def plugin_path(tmp_path, entry_points: str, modules: dict[str, str]) -> dict:
    """PYTHONPATH for a stand-in installed package: a .dist-info declaring `entry_points` and its modules."""
    info = tmp_path / "standin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: standin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)
    for name, source in modules.items():
        (tmp_path / f"{name}.py").write_text(source)
    return {"PYTHONPATH": os.pathsep.join([str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}


def test_an_installed_command_group_is_discovered(tmp_path):
    env = plugin_path(tmp_path, "[recagent.commands]\nhello = standin_cli:app\n", {
        "standin_cli": "import typer\napp = typer.Typer(help='A stand-in group.')\n"
                       "@app.command()\ndef wave(name: str):\n    print(f'hello {name}')\n"
                       "@app.command()\ndef other():\n    pass\n"})  # two commands: a group, not one command
    assert "A stand-in group." in run("--help", env=env).stdout
    r = run("hello", "wave", "you", env=env)
    assert r.returncode == 0 and r.stdout == "hello you\n"


def test_a_group_that_fails_to_load_says_why_and_the_rest_still_works(tmp_path):
    env = plugin_path(tmp_path, "[recagent.commands]\nbroken = no_such_module:app\n", {})
    r = run("broken", "run", "x.yaml", "--users", "3", env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("error: the `broken` commands could not be loaded (No module named 'no_such_module')")
    assert "reinstall recagent" in r.stderr
    assert run("model", "list", env=env).returncode == 0
    assert run("eval", "--help", env=env).returncode == 0
