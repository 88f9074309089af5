"""The simulator on a loopback HTTP port, speaking CloudTrail's JSON protocol: for tools run as processes, such
as ``aws cloudtrail validate-logs --endpoint-url`` (ListPublicKeys from ``simulator.public_keys``)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

from ._loopback import serving
from ._wire import answer_json, request_params
from .simulator import CloudTrailImportSimulator


class _Handler(BaseHTTPRequestHandler):
    simulator: CloudTrailImportSimulator
    lock: threading.Lock

    def do_POST(self) -> None:
        operation = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.lock:
            status, data, content_type = answer_json(self.simulator, operation, request_params(body))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("x-amzn-RequestId", "sim-" + operation)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextlib.contextmanager
def serve(simulator: CloudTrailImportSimulator) -> Iterator[str]:
    """Answer CloudTrail requests from ``simulator`` on a loopback port while inside; yields its URL."""
    with serving(type("CloudTrailEndpoint", (_Handler,), {"simulator": simulator, "lock": threading.Lock()})) as url:
        yield url
