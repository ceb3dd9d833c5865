"""The compose file in docs/deploy.md holds together: its services, volumes, configs and
dependencies are declared, every RECAGENT_* name is one the code reads (a typo fails here, not
silently in production), and the replicas run a real `recagent` command with real options."""

import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import click
import pytest
import typer
import yaml
from pydantic import AliasChoices

from agent import cli
from agent.config import Settings

DEPLOY = Path(__file__).parents[2] / "docs" / "deploy.md"


@pytest.fixture(scope="module")
def compose_text() -> str:
    blocks = re.findall(r"^```yaml\n(.*?)^```", DEPLOY.read_text(), flags=re.M | re.S)
    assert len(blocks) == 1, f"expected one yaml block in {DEPLOY.name}, found {len(blocks)}"
    return blocks[0]


@pytest.fixture(scope="module")
def compose(compose_text) -> dict:
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="module")
def serve_context(compose) -> click.Context:
    """The replica's command parsed by the real CLI: an unknown command, option or bad value raises."""
    command = compose["services"]["api"]["command"]
    assert command[0] == "recagent"
    group = typer.main.get_command(cli.app)
    sub = group.get_command(click.Context(group), command[1])
    assert sub is not None, f"{command[1]!r} is not a recagent command: {group.list_commands(click.Context(group))}"
    return sub.make_context(command[1], list(command[2:]))


def variables_the_code_reads(serve: click.Command) -> set[str]:
    """Settings' environment variables (prefix RECAGENT_, or an alias) and the serve command's own."""
    names = set()
    for name, info in Settings.model_fields.items():
        names.add(f"RECAGENT_{name.upper()}")
        if isinstance(info.validation_alias, AliasChoices):
            names |= {a.upper() for a in info.validation_alias.choices if isinstance(a, str)}
    for param in serve.params:
        names |= set([param.envvar] if isinstance(param.envvar, str) else param.envvar or [])
    return names


def test_the_expected_services_are_there(compose):
    services = compose["services"]
    assert {"postgres", "chroma", "vllm", "redis", "api", "lb"} <= set(services)
    assert services["postgres"]["image"] == "postgres:18" and services["redis"]["image"] == "redis:7"
    assert services["chroma"]["image"].startswith("chromadb/chroma") and services["chroma"]["command"][0] == "run"
    assert services["vllm"]["image"].startswith("vllm/vllm-openai")
    gpus = services["vllm"]["deploy"]["resources"]["reservations"]["devices"]
    assert any("gpu" in d["capabilities"] for d in gpus)
    assert services["api"]["deploy"]["replicas"] >= 2 and "build" in services["api"]
    assert "ports" not in services["api"]  # only the load balancer is published


def test_every_recagent_variable_is_one_the_code_reads(compose_text, compose, serve_context):
    used = set(re.findall(r"\bRECAGENT_[A-Z0-9_]+", compose_text))
    unknown = used - variables_the_code_reads(serve_context.command)
    assert not unknown, f"not read by agent.config.Settings or `recagent serve`: {sorted(unknown)}"
    assert set(compose["services"]["api"]["environment"]) == {
        "RECAGENT_DATA_DIR", "RECAGENT_STORE_URL", "RECAGENT_CHROMA_URL", "RECAGENT_BASE_URL", "RECAGENT_MODEL",
        "RECAGENT_LIMITS_URL", "RECAGENT_SERVICE_KEY"}


def test_each_url_points_at_a_service_of_the_file(compose):
    env = compose["services"]["api"]["environment"]
    hosts = {name: urlsplit(value).hostname for name, value in env.items() if name.endswith("_URL")}
    assert hosts == {"RECAGENT_STORE_URL": "postgres", "RECAGENT_CHROMA_URL": "chroma", "RECAGENT_BASE_URL": "vllm",
                     "RECAGENT_LIMITS_URL": "redis"}
    assert env["RECAGENT_BASE_URL"].endswith("/v1") and env["RECAGENT_STORE_URL"].startswith("postgresql://")
    variable = re.compile(r"\$\{(\w+)")  # the model vLLM serves is the one the replicas ask for
    assert variable.match(env["RECAGENT_MODEL"])[1] == variable.match(compose["services"]["vllm"]["command"][1])[1]


def test_the_fitted_models_are_on_a_shared_volume_under_the_data_dir(compose):
    api = compose["services"]["api"]
    fitted = str(PurePosixPath(api["environment"]["RECAGENT_DATA_DIR"]) / "fitted")
    assert any(v.split(":")[1] == fitted and v.split(":")[0] in compose["volumes"] for v in api["volumes"])


def test_dependencies_volumes_and_configs_are_declared(compose):
    services, declared = compose["services"], compose.get("volumes") or {}
    for name, service in services.items():
        depends = service.get("depends_on") or []
        assert set(depends) <= set(services), f"{name} depends on an undefined service"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source", "")
            if source and not source.startswith(("/", ".", "~", "$")):  # a named volume, not a host path
                assert source in declared, f"{name} uses volume {source!r}, not declared under volumes:"
        for config in service.get("configs", []):
            assert (config if isinstance(config, str) else config["source"]) in compose.get("configs", {})


def test_the_replicas_run_a_real_recagent_command_behind_the_balancer(compose, serve_context):
    assert serve_context.command.name == "serve" and serve_context.params["host"] == "0.0.0.0"
    upstream = compose["configs"]["nginx"]["content"]
    assert f"server api:{serve_context.params['port']};" in upstream
    assert "api" in compose["services"]["lb"]["depends_on"]
