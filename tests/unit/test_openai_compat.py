"""The OpenAI-compatible client against small real HTTP servers on loopback."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.backends.base import ChatRequest
from agent.backends.openai_compat import OpenAICompatBackend
from agent.errors import BackendError


def serve(handler_fn):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            status, payload, delay = handler_fn(self.path, body)
            time.sleep(delay)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST

        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def completion(content):
    return {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 3, "total_tokens": 14}}


REQ = ChatRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=5)


def test_server_errors_are_retried_then_succeed():
    calls = []

    def handler(path, body):
        calls.append(path)
        return (503, {"error": {"message": "busy"}}, 0) if len(calls) < 3 else (200, completion("ok"), 0)

    srv = serve(handler)
    b = OpenAICompatBackend(f"http://127.0.0.1:{srv.server_port}", "m", max_retries=2, timeout_s=5)
    resp = b.complete(REQ)
    assert resp.content == "ok" and resp.usage.prompt_tokens == 11 and len(calls) == 3
    srv.shutdown()


def test_a_timeout_is_not_retried():
    calls = []

    def handler(path, body):
        calls.append(path)
        return 200, completion("late"), 1.5

    srv = serve(handler)
    b = OpenAICompatBackend(f"http://127.0.0.1:{srv.server_port}", "m", max_retries=3, timeout_s=0.5)
    start = time.monotonic()
    with pytest.raises(BackendError) as e:
        b.complete(REQ)
    assert e.value.kind == "timeout" and len(calls) == 1 and time.monotonic() - start < 1.4
    srv.shutdown()


def test_dead_endpoint_is_unavailable_with_a_hint():
    b = OpenAICompatBackend("http://127.0.0.1:9", "m", max_retries=1, timeout_s=2)
    with pytest.raises(BackendError, match="--base-url") as e:
        b.complete(REQ)
    assert e.value.kind == "unavailable"


def test_bad_request_is_not_retried_and_says_what_the_server_said():
    calls = []

    def handler(path, body):
        calls.append(path)
        return 400, {"error": {"message": "response_format is invalid"}}, 0

    srv = serve(handler)
    b = OpenAICompatBackend(f"http://127.0.0.1:{srv.server_port}", "m", max_retries=3)
    with pytest.raises(BackendError, match="response_format is invalid") as e:
        b.complete(REQ)
    assert e.value.kind == "bad_request" and len(calls) == 1
    srv.shutdown()


def test_openai_gets_a_strict_schema_without_length_keywords():
    from agent.backends.openai_compat import _OPENAI_UNSUPPORTED, _strip_keywords
    from agent.pipeline.grounding import response_schema

    stripped = json.dumps(_strip_keywords(response_schema(["1"], 1), _OPENAI_UNSUPPORTED))
    assert "maxLength" not in stripped and '"enum": ["1"]' in stripped


def test_model_and_context_are_discovered_from_the_server():
    def handler(path, body):
        if path.endswith("/models"):
            return 200, {"data": [{"id": "served-model", "max_model_len": 32768}]}, 0
        return 404, {}, 0

    srv = serve(handler)
    b = OpenAICompatBackend(f"http://127.0.0.1:{srv.server_port}")
    assert b.model == "served-model" and b.context_window == 32768
    # no /tokenize there: falls back to tiktoken (offline, from the packaged BPE files)
    assert b.count_tokens([{"role": "user", "content": "hello world"}]) == 2 + 8
    srv.shutdown()


@pytest.mark.parametrize("owner", ["llamacpp", "vllm"])
def test_an_answer_opening_and_banned_words_go_to_llama_cpp_only(owner):
    got = []

    def handler(path, body):
        if path.endswith("/models"):
            return 200, {"data": [{"id": "m", "owned_by": owner}]}, 0
        got.append(body)
        return 200, completion('{"why": "Fans of Fight Club liked it'), 0

    srv = serve(handler)
    b = OpenAICompatBackend(f"http://127.0.0.1:{srv.server_port}", "m", timeout_s=5)
    request = ChatRequest(messages=[{"role": "user", "content": "hi"}], prefix='{"why": "', banned=["review"])
    if owner == "llamacpp":
        assert b.continues_answers
        resp = b.complete(request)
        assert got[0]["messages"][-1] == {"role": "assistant", "content": '{"why": "'}
        assert got[0]["logit_bias"] == {" review": -100, " Review": -100}
        assert resp.content == "Fans of Fight Club liked it"  # llama.cpp repeats the opening; it is cut off
    else:
        assert not b.continues_answers  # the stage then asks for the JSON schema instead
        b.complete(request.model_copy(update={"prefix": None}))
        assert "logit_bias" not in got[0]  # vLLM and OpenAI take token ids, not words
    srv.shutdown()


@pytest.mark.parametrize("mode", ["garbage", "badjson"])
def test_a_200_that_is_not_a_chat_completion_is_a_bad_response_however_it_is_labelled(mode):
    from evals.reliability.fault_server import FaultServer

    with FaultServer(mode) as server:
        backend = OpenAICompatBackend(server.url, "fault-model", timeout_s=10, max_retries=0, context_window=8192)
        with pytest.raises(BackendError) as e:
            backend.complete(ChatRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=5))
        backend.close()
    assert e.value.kind == "bad_response" and "not a chat completion" in str(e.value)
