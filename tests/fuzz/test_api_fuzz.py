"""Schemathesis against the service's own OpenAPI document: generated requests (valid and
invalid) to every endpoint; none may get a 5xx or a traceback. The app runs in-process
(ASGI) over a copy of the test catalog, with the scripted fake LLM."""

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from agent.backends.fake import ScriptedFakeBackend, answer_schema
from agent.conversation import ChatSessions
from agent.service import create_app
from tests.conftest import make_recommender

KEY = "fuzz-admin-key"


@pytest.fixture(scope="module")
def api_schema(ingested, embedder, tmp_path_factory):
    target = tmp_path_factory.mktemp("fuzz-svc") / "data"
    shutil.copytree(ingested.data_dir, target)
    settings_ = ingested.model_copy(update={"data_dir": target})
    agent = ChatSessions(make_recommender(settings_, embedder, ScriptedFakeBackend([answer_schema], repeat_last=True)),
                  use_llm=True, k=3)
    # with the admin key: every operation is reachable (an open service answers only loopback Hosts,
    # and the in-process client calls itself "testserver")
    yield schemathesis.openapi.from_asgi("/openapi.json", create_app(agent, api_key=KEY))
    agent.sessions.close()


def test_no_request_gets_a_server_error(api_schema):
    operations = [op.ok() for op in api_schema.get_all_operations()]
    assert len(operations) >= 8  # every endpoint of the OpenAPI document is exercised
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(suppress_health_check=list(HealthCheck))
        def no_server_error(case):
            response = case.call(headers={"Authorization": f"Bearer {KEY}"})
            assert response.status_code < 500, \
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                body = response.json()
                assert set(body) == {"error"} and body["error"]["message"], body  # one error shape

        no_server_error()
