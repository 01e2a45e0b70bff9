"""A scripted OpenAI Images API server on 127.0.0.1 (http.server in a thread) for tests of the
openai-images engine: it reads the multipart `/v1/images/edits` request (image, mask, prompt,
model, size, …), records it, and answers as scripted.

Script items (one per request; when the script is empty: ("solid", (0, 200, 0))):
  ("solid", (r, g, b))        a PNG of that colour at the requested size, as b64_json
  ("solid_at", ((w, h), rgb)) the same at another size than requested
  ("url", (r, g, b))          the PNG as a data: URL in `url`
  ("echo", None)              the image it was sent, unchanged (checks the geometry round trip)
  ("status", (code, message)) an OpenAI-style error body with this HTTP status
  ("raw", bytes)              this body as JSON content (malformed answers)
  ("sleep", (seconds, item))  wait, then answer with `item`

`gpu_seconds` > 0 makes the server behave like one GPU: it renders one image at a time, each
taking that long (requests queue at the server; `max_in_flight` counts them).
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
from PIL import Image


def png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def read_multipart(content_type: str, body: bytes) -> dict[str, object]:
    """Form fields: text values as str, files as {"filename", "content_type", "bytes"}."""
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    fields: dict[str, object] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        filename = part.get_filename()
        if filename is not None:
            fields[name] = {"filename": filename, "content_type": part.get_content_type(), "bytes": payload}
        else:
            fields[name] = payload.decode()
    return fields


class FakeImagesServer:
    def __init__(self, gpu_seconds: float = 0.0):
        self.script: list[tuple[str, object]] = []
        self.gpu_seconds = gpu_seconds
        self._gpu = threading.Lock()
        self.requests: list[dict] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
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
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/v1/images/edits":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                fields = read_multipart(self.headers["Content-Type"], body)
                with server._lock:
                    server.requests.append({"fields": fields, "auth": self.headers.get("Authorization")})
                    item = server.script.pop(0) if server.script else ("solid", (0, 200, 0))
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    if server.gpu_seconds > 0:
                        with server._gpu:
                            time.sleep(server.gpu_seconds)
                    self._reply(item, fields)
                finally:
                    with server._lock:
                        server.in_flight -= 1

            def _reply(self, item, fields):
                kind, value = item
                if kind == "sleep":
                    seconds, item = value
                    time.sleep(seconds)
                    return self._reply(item, fields)
                if kind == "status":
                    code, message = value
                    return self._send(code, {"error": {"message": message, "type": "invalid_request_error"}})
                if kind == "raw":
                    return self._send_bytes(200, value)
                if kind == "echo":
                    b64 = base64.b64encode(fields["image"]["bytes"]).decode()
                    return self._send(200, {"created": 0, "data": [{"b64_json": b64}]})
                size = tuple(int(v) for v in str(fields.get("size", "64x64")).split("x"))
                if kind == "solid_at":
                    size, value = value
                w, h = size
                data = png(np.full((h, w, 3), value, np.uint8))
                b64 = base64.b64encode(data).decode()
                entry = {"url": "data:image/png;base64," + b64} if kind == "url" else {"b64_json": b64}
                return self._send(200, {"created": 0, "data": [entry]})

            def _send(self, status, obj):
                self._send_bytes(status, json.dumps(obj).encode())

            def _send_bytes(self, status, payload):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def decode_png(field: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(field["bytes"])))
