"""The recommender and the catalog tools through LangChain, against the real embedded server."""

import json
import shutil

import pytest

pytest.importorskip("langchain_core", reason="needs the langchain extra")
pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def agent(ingested, embedder, embedded_server, tmp_path_factory):
    from agent.backends.openai_compat import OpenAICompatBackend
    from agent.conversation import ChatSessions
    from tests.conftest import make_recommender

    target = tmp_path_factory.mktemp("lc") / "data"
    shutil.copytree(ingested.data_dir, target)
    settings = ingested.model_copy(update={"data_dir": target, "base_url": embedded_server.base_url,
                                           "model": embedded_server.alias, "llm_api_key": embedded_server.api_key})
    backend = OpenAICompatBackend(embedded_server.base_url, embedded_server.alias, api_key=embedded_server.api_key,
                                  timeout_s=180, context_window=embedded_server.n_ctx)
    a = ChatSessions(make_recommender(settings, embedder, backend), use_llm=True, k=3)
    yield a
    a.sessions.close()


def test_recommender_is_callable_as_a_langchain_tool(agent):
    from langchain_core.tools import BaseTool

    from agent.integrations.langchain import make_tools

    tools = {t.name: t for t in make_tools(agent.recommender)}
    assert set(tools) == {"search_catalog", "item_details", "user_history", "recommend", "feedback"}
    assert all(isinstance(t, BaseTool) for t in tools.values())
    items = json.loads(tools["recommend"].invoke({"user_id": "user-18", "k": 3}))
    assert len(items) == 3 and all(i["explanation"] and i["source"] in ("llm", "pipeline", "fallback") for i in items)
    assert agent.recommender.store.get_item(items[0]["item_id"]) is not None  # grounded in the catalog
    found = json.loads(tools["search_catalog"].invoke({"query": "pixar toys", "k": 3}))
    assert found and all("item_id" in f for f in found)
    assert tools["user_history"].invoke({"user_id": "nobody"}).startswith("error: unknown user")
    noted = json.loads(tools["feedback"].invoke({"user_id": "user-18", "item_id": items[0]["item_id"], "signal": "seen"}))
    assert noted["title"] and items[0]["item_id"] in {e["item_id"] for e in json.loads(
        tools["user_history"].invoke({"user_id": "user-18", "limit": 100}))}  # written at once
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="less than or equal to 20"):  # enforced before our code runs
        tools["recommend"].invoke({"user_id": "user-18", "k": 500})


def test_tool_calling_chat_answers_with_tools_or_through_the_intent_pipeline(agent, embedded_server):
    from agent.integrations.langchain import ToolCallingChat, chat_model

    llm = chat_model(agent.recommender.settings, model=embedded_server.alias, base_url=embedded_server.base_url)
    chat = ToolCallingChat(agent, llm)
    session = agent.start("user-18")
    out = chat.ask(session, "Recommend me three comedies")
    assert out["mode"] in ("tools", "intent-pipeline") and out["reply"].strip()
    if out["mode"] == "tools":
        assert set(out["tools"]) <= {"search_catalog", "item_details", "user_history", "recommend", "feedback"}
    else:  # degraded: the intent pipeline answered with a grounded list
        assert "Here are" in out["reply"] and out["fallback_reason"]
