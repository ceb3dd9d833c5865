"""An OpenAI-compatible server that misbehaves on purpose, on a free loopback port.

Each request gets the next mode of a cycle:
  ok        a valid answer for the request's JSON schema
  hang      accept the request and never answer
  reset     close the connection without a reply
  status:N  answer HTTP N (429, 500, 503, …) with an OpenAI-style error body
  garbage   HTTP 200 with a body that is not JSON (labelled text/html)
  badjson   HTTP 200 with a body that is not JSON, labelled application/json
  truncated HTTP 200, the answer cut in half, finish_reason "length" (max tokens hit)
  overflow  HTTP 400 with llama.cpp's context-size error
Run as a process (`python -m evals.reliability.fault_server MODE…`) so a test can SIGKILL it
mid-request; it prints its port on the first line."""

from __future__ import annotations

import itertools
import json
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from agent.backends.base import ChatRequest
from agent.backends.fake import answer_schema

MODEL = "fault-model"
OVERFLOW_MESSAGE = "the request exceeds the available context size, try increasing it"


def valid_answer(body: dict) -> str:
    """What a well-behaved model would answer: the schema's candidates in the order given."""
    fmt = (body.get("response_format") or {}).get("json_schema") or {}
    return answer_schema(ChatRequest(messages=body.get("messages") or [], response_schema=fmt.get("schema")))


def completion(content: str, finish_reason: str = "stop") -> dict:
    return {"id": "fault", "object": "chat.completion", "created": 0, "model": MODEL,
            "choices": [{"index": 0, "finish_reason": finish_reason,
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": len(content) // 4,
                      "total_tokens": 100 + len(content) // 4}}


class FaultServer:
    """`answer`: what an "ok" request gets (default: the schema's candidates in order), e.g. a
    corpus replayed as a capable model would write it (evals/checker.py)."""

    def __init__(self, modes: list[str] | str = "ok", n_ctx: int = 8192, port: int = 0,
                 answer: Callable[[dict], str] = valid_answer):
        self.answer = answer
        self.modes = [modes] if isinstance(modes, str) else list(modes)
        self._cycle = itertools.cycle(self.modes)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.served: list[str] = []  # the mode each chat request got
        self.n_ctx = n_ctx
        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True

    @property
    def port(self) -> int:
        return self._httpd.server_port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FaultServer":
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()  # releases hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "FaultServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _next_mode(self) -> str:
        with self._lock:
            mode = next(self._cycle)
            self.served.append(mode)
            return mode

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, payload, content_type: str = "application/json") -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": MODEL, "meta": {"n_ctx": server.n_ctx}}]})
                else:
                    self._send(404, {"error": {"message": "not found"}})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.endswith("/tokenize"):
                    text = body.get("content") or ""
                    self._send(200, {"tokens": list(range(len(text) // 4))})
                    return
                mode = server._next_mode()
                if mode == "hang":
                    server._stop.wait()
                    return
                if mode == "reset":
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if mode.startswith("status:"):
                    code = int(mode.split(":", 1)[1])
                    self._send(code, {"error": {"message": f"injected HTTP {code}", "type": "server_error"}})
                    return
                if mode == "garbage":
                    self._send(200, b"<html>502 upstream hiccup</html>", "text/html")
                    return
                if mode == "badjson":
                    self._send(200, b"{'choices': [oops", "application/json")
                    return
                if mode == "overflow":
                    self._send(400, {"error": {"code": 400, "message": OVERFLOW_MESSAGE,
                                               "type": "exceed_context_size_error"}})
                    return
                answer = server.answer(body)
                if mode == "truncated":
                    self._send(200, completion(answer[: len(answer) // 2], "length"))
                    return
                self._send(200, completion(answer))

        return Handler


def main(argv: list[str]) -> None:
    server = FaultServer(argv or ["ok"]).start()
    print(server.port, flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(sys.argv[1:])
