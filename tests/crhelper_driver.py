"""Plays CloudFormation requests through the crhelper entry point, with crhelper's own machinery.

crhelper answers over HTTPS to the ResponseURL: a local TLS listener with a
certificate made for the test takes those answers. Its polling creates an
EventBridge rule whose target input is the next event: moto keeps the rule,
and the driver replays that input as EventBridge would, one poll a minute on
the simulator's clock.
"""

from __future__ import annotations

import datetime as dt
import http.server
import ipaddress
import itertools
import json
import ssl
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from cloudtrail_lake_import.testing import CloudTrailImportSimulator, IamEnforcement
from tests.driver import cfn_request
from tests.handler_roles import admin_client

FUNCTION_NAME = "trail-import-crhelper"
_ids = itertools.count(1)


@dataclass
class _Context:
    """The parts of the Lambda context crhelper reads."""

    function_name: str = FUNCTION_NAME
    aws_request_id: str = "lambda-request"
    # Under 30 s so crhelper's sleep before answering a Delete is skipped.
    remaining_ms: int = 20_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class ResponseListener:
    """An HTTPS server on loopback that records every response body PUT to it."""

    def __init__(self, certificate: Path, key: Path) -> None:
        self.responses: dict[str, dict[str, Any]] = {}
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                listener.responses[self.path] = json.loads(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certificate, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def response_listener() -> Iterator[tuple[ResponseListener, Path]]:
    """A listener and the CA file that makes crhelper trust it."""
    with tempfile.TemporaryDirectory() as folder:
        certificate, key = _self_signed(Path(folder))
        listener = ResponseListener(certificate, key)
        try:
            yield listener, certificate
        finally:
            listener.close()


class CrhelperDriver:
    """Sends CloudFormation requests to ``trail_import_handler.cfn.handler`` and polls as EventBridge would."""

    def __init__(self, simulator: CloudTrailImportSimulator, listener: ResponseListener, *,
                 function_name: str = FUNCTION_NAME) -> None:
        from trail_import_handler import cfn

        self.simulator = simulator
        self.listener = listener
        self.handler = cfn.handler
        self.function_name = function_name
        self.polls = 0
        self.events = admin_client("events")

    @contextmanager
    def running_as(self, role_arn: str) -> Iterator[CrhelperDriver]:
        """crhelper's own clients (made when the handler module loaded) call AWS as ``role_arn`` too."""
        from trail_import_handler import cfn

        assert self.simulator.iam is not None
        enforcement = IamEnforcement(self.simulator.iam, role_arn)
        helper: Any = cfn.helper  # crhelper's stubs leave out the clients it makes
        clients = [helper._lambda_client, helper._events_client]
        for client in clients:
            enforcement.attach(client.meta.events)
        try:
            yield self
        finally:
            for client in clients:
                enforcement.detach(client.meta.events)

    def request(self, request_type: str, props: dict[str, Any], *, physical_id: str | None = None,
                old_props: dict[str, Any] | None = None, max_polls: int = 70) -> dict[str, Any]:
        path = f"/response/{next(_ids)}"
        event = cfn_request(request_type, props, physical_id=physical_id, old_props=old_props,
                            logical_id="LegacyImport", response_url=self.listener.url + path)
        context = _Context(function_name=self.function_name)
        self.handler(event, context)
        for _ in range(max_polls):
            if path in self.listener.responses:
                return self.listener.responses[path]
            self.simulator.advance(60)
            self.polls += 1
            self.handler(self._scheduled_input(), context)
        raise AssertionError(f"no response after {max_polls} polls")

    def rules(self) -> list[str]:
        return [rule["Name"] for rule in self.events.list_rules().get("Rules", [])]

    def _scheduled_input(self) -> dict[str, Any]:
        rules = self.rules()
        assert len(rules) == 1, f"expected one polling rule, found {rules}"
        targets = self.events.list_targets_by_rule(Rule=rules[0])["Targets"]
        return dict(json.loads(targets[0]["Input"]))


def _self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "listener.pem", folder / "listener.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path
