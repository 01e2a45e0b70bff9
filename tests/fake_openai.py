"""A scripted OpenAI-compatible server on 127.0.0.1 (http.server in a thread) for tests of
the model Builder and the model critic: plain and streamed (SSE) completions, raw bodies,
delays."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeServer:
    """Scripted /v1/chat/completions. Each script item: ("text", content) answered plain or as
    SSE depending on the request's "stream"; ("raw", bytes) sent as the body; ("sleep", (s, text))."""

    def __init__(self):
        self.script: list[tuple[str, object]] = []
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def _answer(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                if self.path != "/v1/chat/completions":
                    return self._send(404, json.dumps({"error": {"message": "no such route"}}).encode())
                kind, value = server.script.pop(0)
                if kind == "sleep":  # ("sleep", (seconds, text)): answer late
                    seconds, value = value
                    time.sleep(seconds)
                    kind = "text"
                if kind == "raw":
                    return self._send(200, value)
                if kind == "deltas":  # SSE chunks with these deltas (e.g. vLLM's reasoning_content)
                    events = [f"data: {json.dumps(chunk(d))}\n\n" for d in value] + ["data: [DONE]\n\n"]
                    return self._send(200, "".join(events).encode(), "text/event-stream")
                if kind == "sse":  # raw event-stream bytes
                    return self._send(200, value, "text/event-stream")
                if body.get("stream"):
                    return self._stream(value)
                return self._send(200, json.dumps(completion(value)).encode())

            def _send(self, status, payload, ctype="application/json"):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _stream(self, text):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                pieces = [text[i : i + 17] for i in range(0, len(text), 17)]
                chunks = [chunk({"role": "assistant", "content": ""})]
                chunks += [chunk({"content": p}) for p in pieces]
                chunks.append(chunk({}, finish="stop"))
                for c in chunks:
                    self.wfile.write(f"data: {json.dumps(c)}\n\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"data: [DONE]\n\n")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(text: str) -> dict:
    return {"id": "cmpl-1", "object": "chat.completion", "created": 0, "model": "fake-vl",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def chunk(delta: dict, finish: str | None = None) -> dict:
    return {"id": "cmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake-vl",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
